import { hash as digest, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { AuthConfigError } from './auth-config-error.ts';

/** A freshly generated API key pair: `key` is a public identifier, `secret` is shown once and stored hashed. */
export interface ApiCredentials {
  key: string;
  secret: string;
}

/** `hk_` + 16 random bytes (public id), `hs_` + 32 random bytes (secret), both base64url. */
export function generateApiCredentials(): ApiCredentials {
  return { key: `hk_${randomBytes(16).toString('base64url')}`, secret: `hs_${randomBytes(32).toString('base64url')}` };
}

/** scrypt cost used by {@link hashApiSecret}: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms). */
export const API_SECRET_SCRYPT = { logN: 15, r: 8, p: 1, saltBytes: 16, hashBytes: 32 } as const;

// Bounds for stored parameters: a tampered hash must not be able to demand unbounded work.
const LIMITS = { logN: [10, 20], r: [1, 32], p: [1, 4], saltBytes: [16, 64], hashBytes: [16, 64] } as const;
const MAX_SCRYPT_MEMORY_BYTES = 256 * 1024 * 1024;
const MAX_SECRET_LENGTH = 1024;

function scryptAsync(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (error, derived) => (error ? reject(error) : resolve(derived)));
  });
}

function scryptOptions(logN: number, r: number, p: number): ScryptOptions {
  const N = 2 ** logN;
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');

/**
 * Hashes an API secret for storage. The result is self-describing (PHC string format):
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, salt and hash in unpadded base64.
 */
export async function hashApiSecret(secret: string): Promise<string> {
  if (typeof secret !== 'string' || secret === '' || secret.length > MAX_SECRET_LENGTH) {
    throw new AuthConfigError(
      'invalid_secret',
      `an API secret must be a string of 1 to ${MAX_SECRET_LENGTH} characters`,
    );
  }
  const { logN, r, p, saltBytes, hashBytes } = API_SECRET_SCRYPT;
  const salt = randomBytes(saltBytes);
  const hash = await scryptAsync(secret, salt, hashBytes, scryptOptions(logN, r, p));
  return `$scrypt$ln=${logN},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function within(value: number, [min, max]: readonly [number, number]): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** True when `secret` matches `hash` (from {@link hashApiSecret}); false for a malformed hash, never a throw. */
export async function verifyApiSecret(secret: string, hash: string): Promise<boolean> {
  if (typeof secret !== 'string' || secret === '' || secret.length > MAX_SECRET_LENGTH || typeof hash !== 'string') {
    return false;
  }
  const match = PHC.exec(hash);
  if (!match) return false;
  const [, ln, rText, pText, saltText, hashText] = match;
  const logN = Number(ln);
  const r = Number(rText);
  const p = Number(pText);
  const salt = Buffer.from(saltText ?? '', 'base64');
  const expected = Buffer.from(hashText ?? '', 'base64');
  if (
    !within(logN, LIMITS.logN) ||
    !within(r, LIMITS.r) ||
    !within(p, LIMITS.p) ||
    !within(salt.length, LIMITS.saltBytes) ||
    !within(expected.length, LIMITS.hashBytes) ||
    128 * 2 ** logN * r > MAX_SCRYPT_MEMORY_BYTES
  ) {
    return false;
  }
  const derived = await scryptAsync(secret, salt, expected.length, scryptOptions(logN, r, p));
  return timingSafeEqual(derived, expected);
}

export interface ApiSecretCache {
  /**
   * Same answer as {@link verifyApiSecret}, but a successful check is remembered for `ttlMs`, so
   * repeated requests with the same secret skip scrypt. Failures are never cached (each wrong
   * guess still pays full scrypt).
   */
  verify(secret: string, hash: string): Promise<boolean>;
  /**
   * True only when this secret was verified against this hash within `ttlMs`; never runs scrypt.
   * Lets a caller that throttles a key under attack still admit its recently verified owner.
   */
  isRemembered(secret: string, hash: string): boolean;
  /** Drops every remembered verification (call after revoking or rotating a key). */
  clear(): void;
  readonly size: number;
}

/**
 * A bounded in-memory cache of successful secret verifications. Entries are keyed by
 * SHA-256(process-random prefix, stored hash, secret): the secret itself is never kept, the key
 * is unguessable, and a changed stored hash (rotation) misses the cache at once.
 */
export function createApiSecretCache(options: {
  maxEntries: number;
  ttlMs: number;
  /** Current time in epoch milliseconds. */
  now?: () => number;
  /** Injected for tests; default {@link verifyApiSecret}. */
  verifySecret?: (secret: string, hash: string) => Promise<boolean>;
}): ApiSecretCache {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new AuthConfigError('invalid_option', 'maxEntries must be a positive integer');
  }
  if (!Number.isInteger(options.ttlMs) || options.ttlMs < 1) {
    throw new AuthConfigError('invalid_option', 'ttlMs must be a positive integer');
  }
  const { maxEntries, ttlMs } = options;
  const now = options.now ?? Date.now;
  const verifySecret = options.verifySecret ?? verifyApiSecret;
  // A process-random prefix makes the entry ids unguessable; a one-shot SHA-256 of prefix, stored hash
  // and secret costs a fifth of an HMAC object per request (measured: 0.6 vs 3.1 µs).
  const cacheKey = randomBytes(32).toString('base64');
  // Map keeps insertion order: re-inserting on hit makes the first entry the least recently used.
  const entries = new Map<string, number>();
  const fingerprint = (secret: string, hash: string) => digest('sha256', `${cacheKey}\0${hash}\0${secret}`, 'base64');

  return {
    async verify(secret, hash) {
      if (typeof secret !== 'string' || typeof hash !== 'string') return false;
      const id = fingerprint(secret, hash);
      const expiresAt = entries.get(id);
      if (expiresAt !== undefined) {
        entries.delete(id);
        if (expiresAt > now()) {
          entries.set(id, expiresAt);
          return true;
        }
      }
      const ok = await verifySecret(secret, hash);
      if (ok) {
        entries.set(id, now() + ttlMs);
        while (entries.size > maxEntries) {
          const oldest = entries.keys().next();
          if (oldest.done) break;
          entries.delete(oldest.value);
        }
      }
      return ok;
    },
    isRemembered(secret, hash) {
      if (typeof secret !== 'string' || typeof hash !== 'string') return false;
      const expiresAt = entries.get(fingerprint(secret, hash));
      return expiresAt !== undefined && expiresAt > now();
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
