import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StoreConfigError, StoreIntegrityError } from './errors.ts';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export interface KeyringKey {
  /** Short identifier stored with each ciphertext ([A-Za-z0-9_.-], up to 64 characters). */
  id: string;
  /** 32 bytes of AES-256 key material. */
  key: Uint8Array;
}

/**
 * Encryption keys for channel secrets: the current key encrypts, any key decrypts by its id.
 * The key material stays inside; only ids are visible.
 */
export interface Keyring {
  readonly currentKeyId: string;
  readonly keyIds: readonly string[];
  /** AES-256-GCM with a random IV; the blob carries the key id; `aad` binds it to its row. */
  seal(plaintext: Uint8Array, aad: string): Buffer;
  /** Throws StoreIntegrityError when the blob is unreadable (tampered, moved, or its key is not in the ring). */
  open(blob: Uint8Array, aad: string): Buffer;
  /** Key id a blob was sealed with, or null when the blob is malformed. */
  keyIdOf(blob: Uint8Array): string | null;
}

function checkKey(k: KeyringKey, label: string): Buffer {
  if (typeof k.id !== 'string' || !KEY_ID_PATTERN.test(k.id)) {
    throw new StoreConfigError(
      'ENCRYPTION_KEY_INVALID',
      `${label} key id must match ${KEY_ID_PATTERN} (received ${typeof k.id === 'string' ? `${k.id.length} characters` : typeof k.id})`,
    );
  }
  if (!(k.key instanceof Uint8Array) || k.key.length !== KEY_BYTES) {
    const got = k.key instanceof Uint8Array ? `${k.key.length} bytes` : typeof k.key;
    throw new StoreConfigError(
      'ENCRYPTION_KEY_INVALID',
      `${label} key "${k.id}" must be ${KEY_BYTES} bytes (received ${got})`,
    );
  }
  return Buffer.from(k.key);
}

export function createKeyring(input: { current: KeyringKey; previous?: KeyringKey[] }): Keyring {
  if (input?.current === undefined || input.current === null) {
    throw new StoreConfigError('ENCRYPTION_KEY_MISSING', 'an encryption key is required to store channel secrets');
  }
  const keys = new Map<string, Buffer>();
  keys.set(input.current.id, checkKey(input.current, 'current'));
  for (const k of input.previous ?? []) {
    const material = checkKey(k, 'previous');
    if (keys.has(k.id)) throw new StoreConfigError('ENCRYPTION_KEY_INVALID', `key id "${k.id}" appears twice`);
    keys.set(k.id, material);
  }
  const currentId = input.current.id;
  const currentKey = keys.get(currentId)!;
  const currentIdBytes = Buffer.from(currentId, 'utf8');

  const keyIdOf = (blob: Uint8Array): string | null => {
    if (blob.length < 2 || blob[0] !== FORMAT_VERSION) return null;
    const idLen = blob[1]!;
    if (blob.length < 2 + idLen + IV_BYTES + TAG_BYTES) return null;
    return Buffer.from(blob.subarray(2, 2 + idLen)).toString('utf8');
  };

  return {
    currentKeyId: currentId,
    keyIds: [...keys.keys()],
    keyIdOf,
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      const header = Buffer.from([FORMAT_VERSION, currentIdBytes.length]);
      return Buffer.concat([header, currentIdBytes, iv, cipher.getAuthTag(), body]);
    },
    open(blob, aad) {
      const id = keyIdOf(blob);
      if (id === null) throw new StoreIntegrityError('SECRETS_UNREADABLE', 'stored secrets blob is malformed');
      const key = keys.get(id);
      if (key === undefined) {
        throw new StoreIntegrityError(
          'ENCRYPTION_KEY_UNKNOWN',
          `stored secrets were encrypted with key "${id}", which is not in the keyring (known: ${[...keys.keys()].join(', ')})`,
        );
      }
      const start = 2 + blob[1]!;
      const iv = blob.subarray(start, start + IV_BYTES);
      const tag = blob.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES);
      const body = blob.subarray(start + IV_BYTES + TAG_BYTES);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch (cause) {
        throw new StoreIntegrityError(
          'SECRETS_UNREADABLE',
          'stored secrets failed authentication (tampered, or copied from another channel)',
          { cause },
        );
      }
    },
  };
}

/**
 * Parses `"<id>:<base64 of 32 bytes>[,<id>:<base64>...]"`; the first entry is the current key, the
 * others decrypt older data. An empty or missing spec throws ENCRYPTION_KEY_MISSING.
 */
export function parseKeyring(spec: string | undefined | null): Keyring {
  if (spec === undefined || spec === null || spec.trim() === '') {
    throw new StoreConfigError(
      'ENCRYPTION_KEY_MISSING',
      'no encryption key configured: set a keyring spec "<id>:<base64 32 bytes>" (see generateKeyringSpec)',
    );
  }
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const keys = entries.map((entry, i): KeyringKey => {
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      throw new StoreConfigError(
        'ENCRYPTION_KEY_INVALID',
        `keyring entry ${i + 1} must be "<id>:<base64 key>" (no ":" separator found)`,
      );
    }
    const id = entry.slice(0, colon);
    const b64 = entry.slice(colon + 1);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(b64)) {
      throw new StoreConfigError('ENCRYPTION_KEY_INVALID', `keyring entry "${id}" is not base64`);
    }
    return { id, key: Buffer.from(b64, 'base64') };
  });
  const [current, ...previous] = keys;
  return createKeyring({ current: current!, previous });
}

/** A fresh keyring spec with one random key, e.g. for a first start that writes a key file. */
export function generateKeyringSpec(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}
