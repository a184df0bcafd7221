import {
  createHmac,
  createSecretKey,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign as signBytes,
  timingSafeEqual,
  verify as verifyBytes,
} from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { AuthConfigError } from './auth-config-error.ts';
import { type HeaderSource, readHeader } from './header-value.ts';
import { createRawBodyReader } from './raw-body.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

const SECRET_PREFIX = 'whsec_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const SECRET_KEY_PREFIX = 'whsk_';
/** Standard Webhooks: symmetric secrets are 24 to 64 random bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;
/** Bounds the work one request can cause. */
const MAX_SIGNATURE_HEADER_LENGTH = 8192;
const MAX_SIGNATURES = 32;
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An ed25519 key: a PEM string, a `whsk_`/`whpk_` base64 raw key, or a node `KeyObject`. */
export type Ed25519KeyInput = string | KeyObject;

// A type alias (not an interface) so it is assignable to header records and `HeadersInit`.
export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface WebhookSigner {
  sign(input: { id: string; timestampSeconds: number; body: string | Uint8Array }): WebhookSignatureHeaders;
}

export type WebhookVerifyFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

export type WebhookVerifyResult =
  | { ok: true; id: string; timestampSeconds: number }
  | { ok: false; reason: WebhookVerifyFailure };

export interface WebhookVerifier {
  verify(headers: HeaderSource, rawBody: string | Uint8Array): WebhookVerifyResult;
}

export interface WebhookVerifierOptions {
  /** `whsec_<base64>` secrets (the prefix may be omitted); several during a rotation. */
  secrets?: readonly string[];
  ed25519PublicKeys?: readonly Ed25519KeyInput[];
  /** Accepted distance between the signed timestamp and now, both ways. Default 300. */
  toleranceSeconds?: number;
  /** Current time in epoch milliseconds (like `Date.now`). */
  now?: () => number;
}

/** A fresh `whsec_` secret of 32 random bytes (`sizeBytes` 24 to 64). */
export function generateWebhookSecret(sizeBytes = 32): string {
  if (!Number.isInteger(sizeBytes) || sizeBytes < MIN_SECRET_BYTES || sizeBytes > MAX_SECRET_BYTES) {
    throw new AuthConfigError(
      'invalid_option',
      `sizeBytes must be an integer from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES}`,
    );
  }
  return SECRET_PREFIX + randomBytes(sizeBytes).toString('base64');
}

/** A fresh ed25519 pair in the Standard Webhooks text forms (`whsk_` private, `whpk_` public). */
export function generateWebhookKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  return {
    privateKey: SECRET_KEY_PREFIX + seed.toString('base64'),
    publicKey: PUBLIC_KEY_PREFIX + raw.toString('base64'),
  };
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

function decodeSecret(secret: string, label: string): Buffer {
  if (typeof secret !== 'string') throw new AuthConfigError('invalid_secret', `${label} must be a string`);
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64Strict(body);
  if (key === undefined) throw new AuthConfigError('invalid_secret', `${label} must be whsec_ followed by base64`);
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new AuthConfigError(
      'invalid_secret',
      `${label} must decode to ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES} bytes, got ${key.length}`,
    );
  }
  return key;
}

function toEd25519Key(input: Ed25519KeyInput, kind: 'private' | 'public', label: string): KeyObject {
  let key: KeyObject;
  try {
    if (typeof input !== 'string') {
      key = input;
    } else if (kind === 'private' && input.startsWith(SECRET_KEY_PREFIX)) {
      const raw = decodeBase64Strict(input.slice(SECRET_KEY_PREFIX.length));
      // 32-byte seed, or libsodium's 64-byte seed||public form.
      if (raw === undefined || (raw.length !== 32 && raw.length !== 64)) throw new Error('bad length');
      key = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(0, 32)]),
        format: 'der',
        type: 'pkcs8',
      });
    } else if (kind === 'public' && input.startsWith(PUBLIC_KEY_PREFIX)) {
      const raw = decodeBase64Strict(input.slice(PUBLIC_KEY_PREFIX.length));
      if (raw === undefined || raw.length !== 32) throw new Error('bad length');
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    } else {
      key = kind === 'private' ? createPrivateKey(input) : createPublicKey(input);
    }
  } catch (cause) {
    throw new AuthConfigError('invalid_key', `${label} is not a readable ed25519 ${kind} key`, { cause });
  }
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== kind) {
    throw new AuthConfigError('invalid_key', `${label} must be an ed25519 ${kind} key`);
  }
  return key;
}

function signedContent(id: string, timestamp: string, body: string | Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`${id}.${timestamp}.`, 'utf8'),
    typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  ]);
}

/**
 * The sender's half: signs each push per the Standard Webhooks spec, one `v1,` HMAC-SHA256
 * signature per secret (several while a secret is rotated) and one `v1a,` per ed25519 key.
 */
export function createWebhookSigner(options: {
  secrets: readonly string[];
  ed25519PrivateKeys?: readonly Ed25519KeyInput[];
}): WebhookSigner {
  // KeyObjects are imported once; a raw Buffer key would be re-imported on every HMAC.
  const secrets = (options.secrets ?? []).map((s, i) => createSecretKey(decodeSecret(s, `secrets[${i}]`)));
  const privateKeys = (options.ed25519PrivateKeys ?? []).map((k, i) =>
    toEd25519Key(k, 'private', `ed25519PrivateKeys[${i}]`),
  );
  if (secrets.length + privateKeys.length === 0) {
    throw new AuthConfigError('invalid_secret', 'a webhook signer needs at least one secret or ed25519 private key');
  }
  return {
    sign({ id, timestampSeconds, body }) {
      // Misuse by the caller, not an expected outcome.
      if (typeof id !== 'string' || id === '' || /[\s.]/.test(id)) {
        throw new TypeError('webhook id must be a non-empty string without spaces or dots');
      }
      if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
        throw new TypeError('timestampSeconds must be a non-negative integer');
      }
      const timestamp = String(timestampSeconds);
      const content = signedContent(id, timestamp, body);
      const signatures = [
        ...secrets.map((key) => `v1,${createHmac('sha256', key).update(content).digest('base64')}`),
        ...privateKeys.map((key) => `v1a,${signBytes(null, content, key).toString('base64')}`),
      ];
      return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
    },
  };
}

function readAliased(headers: HeaderSource, name: 'id' | 'timestamp' | 'signature'): string | undefined {
  return readHeader(headers, `webhook-${name}`) ?? readHeader(headers, `svix-${name}`);
}

/**
 * The verifier's half. Accepts `webhook-*` headers and their `svix-*` aliases; passes when any
 * listed signature matches any configured secret or public key.
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  // KeyObjects are imported once; a raw Buffer key would be re-imported on every HMAC.
  const secrets = (options.secrets ?? []).map((s, i) => createSecretKey(decodeSecret(s, `secrets[${i}]`)));
  const publicKeys = (options.ed25519PublicKeys ?? []).map((k, i) =>
    toEd25519Key(k, 'public', `ed25519PublicKeys[${i}]`),
  );
  if (secrets.length + publicKeys.length === 0) {
    throw new AuthConfigError('invalid_secret', 'a webhook verifier needs at least one secret or ed25519 public key');
  }
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  if (!Number.isInteger(toleranceSeconds) || toleranceSeconds < 1 || toleranceSeconds > 86_400) {
    throw new AuthConfigError(
      'invalid_option',
      `toleranceSeconds must be an integer from 1 to 86400, got ${toleranceSeconds}`,
    );
  }
  const now = options.now ?? Date.now;

  return {
    verify(headers, rawBody) {
      const id = readAliased(headers, 'id');
      const timestamp = readAliased(headers, 'timestamp');
      const signatureHeader = readAliased(headers, 'signature');
      if (!id || !timestamp || !signatureHeader) return { ok: false, reason: 'missing_headers' };
      if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'invalid_timestamp' };
      const timestampSeconds = Number(timestamp);
      const nowSeconds = Math.floor(now() / 1000);
      if (timestampSeconds < nowSeconds - toleranceSeconds) return { ok: false, reason: 'timestamp_too_old' };
      if (timestampSeconds > nowSeconds + toleranceSeconds) return { ok: false, reason: 'timestamp_too_new' };
      if (signatureHeader.length > MAX_SIGNATURE_HEADER_LENGTH) return { ok: false, reason: 'no_matching_signature' };

      const content = signedContent(id, timestamp, rawBody);
      const expectedHmacs = secrets.map((key) => createHmac('sha256', key).update(content).digest());
      let matched = false;
      for (const entry of signatureHeader.split(' ').slice(0, MAX_SIGNATURES)) {
        const comma = entry.indexOf(',');
        if (comma < 0) continue;
        const version = entry.slice(0, comma);
        const signature = decodeBase64Strict(entry.slice(comma + 1));
        if (signature === undefined) continue;
        if (version === 'v1') {
          for (const expected of expectedHmacs) {
            if (signature.length === expected.length && timingSafeEqual(signature, expected)) matched = true;
          }
        } else if (version === 'v1a' && signature.length === 64) {
          for (const key of publicKeys) {
            if (verifyBytes(null, content, key, signature)) matched = true;
          }
        }
        // Unknown versions are skipped, as the spec asks.
      }
      return matched ? { ok: true, id, timestampSeconds } : { ok: false, reason: 'no_matching_signature' };
    },
  };
}

/** What {@link webhookSignatureAuth} stores on the context after a successful check. */
export interface WebhookAuthVariables {
  webhook: { id: string; timestampSeconds: number };
}

/** Options of {@link webhookSignatureAuth}. */
export interface WebhookSignatureAuthOptions extends WebhookVerifierOptions {
  /** Bodies above this are refused before any hashing (413). Default 5 MiB. */
  maxBodyBytes?: number;
  onRejected?: (reason: WebhookVerifyFailure) => void;
}

/**
 * Hono middleware: reads the raw body (still readable by the handler afterwards through hono's
 * body cache), verifies it, sets `c.var.webhook` and answers 401 on any failure.
 */
export function webhookSignatureAuth(
  options: WebhookSignatureAuthOptions,
): MiddlewareHandler<{ Variables: WebhookAuthVariables }> {
  const verifier = createWebhookVerifier(options);
  const readRawBody = createRawBodyReader(options.maxBodyBytes);
  return createMiddleware<{ Variables: WebhookAuthVariables }>(async (c, next) =>
    readRawBody(c, async (body) => {
      const result = verifier.verify(c.req.raw.headers, body);
      if (!result.ok) {
        options.onRejected?.(result.reason);
        return respondUnauthorized(c);
      }
      c.set('webhook', { id: result.id, timestampSeconds: result.timestampSeconds });
      await next();
      return undefined;
    }),
  );
}
