import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreConfigError, StoreIntegrityError } from './errors.ts';
import { createKeyring, generateKeyringSpec, parseKeyring } from './keyring.ts';

const b64 = (fill: number, bytes = 32) => Buffer.alloc(bytes, fill).toString('base64');
const isConfigError = (code: string) => (e: unknown) => e instanceof StoreConfigError && e.code === code;

describe('parseKeyring', () => {
  it('takes the first entry as the current key and keeps the others for decryption', () => {
    const ring = parseKeyring(`new:${b64(2)}, old:${b64(1)}`);
    assert.equal(ring.currentKeyId, 'new');
    assert.deepEqual(ring.keyIds, ['new', 'old']);
    const older = parseKeyring(`old:${b64(1)}`);
    const blob = older.seal(Buffer.from('hello'), 'app:ch');
    assert.equal(ring.open(blob, 'app:ch').toString(), 'hello');
    assert.equal(ring.keyIdOf(blob), 'old');
  });

  it('fails with ENCRYPTION_KEY_MISSING when no key is configured', () => {
    for (const spec of [undefined, null, '', '   ']) {
      assert.throws(() => parseKeyring(spec), isConfigError('ENCRYPTION_KEY_MISSING'));
    }
  });

  it('fails with ENCRYPTION_KEY_INVALID on a short key, bad base64, a bad id or a repeated id, without echoing key material', () => {
    const short = b64(7, 16);
    assert.throws(
      () => parseKeyring(`k1:${short}`),
      (e: unknown) => isConfigError('ENCRYPTION_KEY_INVALID')(e) && !(e as Error).message.includes(short),
    );
    assert.throws(() => parseKeyring('k1:not base64!'), isConfigError('ENCRYPTION_KEY_INVALID'));
    assert.throws(() => parseKeyring(b64(1)), isConfigError('ENCRYPTION_KEY_INVALID'));
    assert.throws(() => parseKeyring(`bad id:${b64(1)}`), isConfigError('ENCRYPTION_KEY_INVALID'));
    assert.throws(() => parseKeyring(`k:${b64(1)},k:${b64(2)}`), isConfigError('ENCRYPTION_KEY_INVALID'));
  });

  it('generateKeyringSpec gives a fresh, parseable spec each time', () => {
    const a = generateKeyringSpec();
    const b = generateKeyringSpec('main');
    assert.notEqual(a, generateKeyringSpec());
    assert.equal(parseKeyring(b).currentKeyId, 'main');
    assert.match(a, /^[A-Za-z0-9_.-]+:[A-Za-z0-9+/]+=*$/);
  });
});

describe('createKeyring', () => {
  const ring = createKeyring({ current: { id: 'k1', key: new Uint8Array(32).fill(9) } });

  it('seals with a random IV and opens only with the same associated data', () => {
    const a = ring.seal(Buffer.from('secret'), 'app-1:ch-1');
    const b = ring.seal(Buffer.from('secret'), 'app-1:ch-1');
    assert.notDeepEqual(a, b);
    assert.equal(a.includes(Buffer.from('secret')), false);
    assert.equal(ring.open(a, 'app-1:ch-1').toString(), 'secret');
    assert.throws(
      () => ring.open(a, 'app-1:ch-2'),
      (e: unknown) => e instanceof StoreIntegrityError && e.code === 'SECRETS_UNREADABLE',
    );
  });

  it('detects tampering, truncation and unknown keys', () => {
    const blob = ring.seal(Buffer.from('secret'), 'a:b');
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1]! ^= 1;
    assert.throws(() => ring.open(flipped, 'a:b'), StoreIntegrityError);
    assert.throws(() => ring.open(blob.subarray(0, 10), 'a:b'), StoreIntegrityError);
    const other = createKeyring({ current: { id: 'k2', key: new Uint8Array(32).fill(1) } });
    assert.throws(
      () => other.open(blob, 'a:b'),
      (e: unknown) => e instanceof StoreIntegrityError && e.code === 'ENCRYPTION_KEY_UNKNOWN',
    );
  });

  it('refuses a missing or wrong-sized key', () => {
    assert.throws(
      () => createKeyring({ current: { id: 'k', key: new Uint8Array(31) } }),
      isConfigError('ENCRYPTION_KEY_INVALID'),
    );
    assert.throws(
      () => createKeyring(undefined as unknown as Parameters<typeof createKeyring>[0]),
      isConfigError('ENCRYPTION_KEY_MISSING'),
    );
  });
});
