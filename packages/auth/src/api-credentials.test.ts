import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  API_SECRET_SCRYPT,
  createApiSecretCache,
  generateApiCredentials,
  hashApiSecret,
  verifyApiSecret,
} from './api-credentials.ts';
import { AuthConfigError } from './auth-config-error.ts';

describe('generateApiCredentials', () => {
  it('makes an hk_ key and a high-entropy hs_ secret, fresh each time', () => {
    const a = generateApiCredentials();
    const b = generateApiCredentials();
    assert.match(a.key, /^hk_[A-Za-z0-9_-]{22}$/);
    assert.match(a.secret, /^hs_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.key, b.key);
    assert.notEqual(a.secret, b.secret);
  });
});

describe('hashApiSecret / verifyApiSecret', () => {
  it('hashes to a self-describing scrypt string that verifies the right secret only', async () => {
    const { secret } = generateApiCredentials();
    const hash = await hashApiSecret(secret);
    assert.match(
      hash,
      new RegExp(`^\\$scrypt\\$ln=${API_SECRET_SCRYPT.logN},r=8,p=1\\$[A-Za-z0-9+/]+\\$[A-Za-z0-9+/]+$`),
    );
    assert.ok(!hash.includes(secret));
    assert.equal(await verifyApiSecret(secret, hash), true);
    assert.equal(await verifyApiSecret(`${secret}x`, hash), false);
    assert.equal(await verifyApiSecret('', hash), false);
    // A random salt: the same secret hashes differently.
    assert.notEqual(await hashApiSecret(secret), hash);
  });

  it('reads the parameters from the string (verifies a cheaper stored hash)', async () => {
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.alloc(16, 7);
    const derived = scryptSync('hs_known', salt, 32, { N: 2 ** 10, r: 8, p: 1 });
    const hash = `$scrypt$ln=10,r=8,p=1$${salt.toString('base64').replace(/=+$/, '')}$${derived.toString('base64').replace(/=+$/, '')}`;
    assert.equal(await verifyApiSecret('hs_known', hash), true);
    assert.equal(await verifyApiSecret('hs_other', hash), false);
  });

  it('returns false (never throws) for malformed or out-of-bounds hashes', async () => {
    const good = await hashApiSecret('hs_secret');
    const [, , params, salt, digest] = good.split('$');
    for (const bad of [
      '',
      'plain',
      '$argon2id$v=19$m=65536,t=3,p=4$abc$def',
      `$scrypt$${params}$${salt}`,
      `$scrypt$ln=30,r=8,p=1$${salt}$${digest}`, // would demand 2^30 work
      `$scrypt$ln=15,r=99,p=1$${salt}$${digest}`,
      `$scrypt$ln=20,r=8,p=1$${salt}$${digest}`, // 1 GiB of memory
      `$scrypt$${params}$AAAA$${digest}`, // salt too short
      `$scrypt$${params}$${salt}$AAAA`, // hash too short
      `$scrypt$${params}$${salt}$${digest}!`,
    ]) {
      assert.equal(await verifyApiSecret('hs_secret', bad), false, bad);
    }
  });

  it('refuses to hash an empty secret', async () => {
    await assert.rejects(hashApiSecret(''), AuthConfigError);
  });
});

describe('createApiSecretCache', () => {
  function countingVerifier() {
    const calls: string[] = [];
    return {
      calls,
      verifySecret: async (secret: string, hash: string) => {
        calls.push(secret);
        return hash === `hash-of-${secret}`;
      },
    };
  }

  it('remembers successes for ttlMs and never failures', async () => {
    let now = 1_000;
    const v = countingVerifier();
    const cache = createApiSecretCache({ maxEntries: 10, ttlMs: 500, now: () => now, verifySecret: v.verifySecret });
    assert.equal(await cache.verify('s1', 'hash-of-s1'), true);
    assert.equal(await cache.verify('s1', 'hash-of-s1'), true);
    assert.deepEqual(v.calls, ['s1']);
    assert.equal(await cache.verify('wrong', 'hash-of-s1'), false);
    assert.equal(await cache.verify('wrong', 'hash-of-s1'), false);
    assert.deepEqual(v.calls, ['s1', 'wrong', 'wrong']);
    now += 500;
    assert.equal(await cache.verify('s1', 'hash-of-s1'), true);
    assert.deepEqual(v.calls, ['s1', 'wrong', 'wrong', 's1']);
  });

  it('answers isRemembered from memory only: true for a live success, false otherwise, never scrypt', async () => {
    let now = 1_000;
    const v = countingVerifier();
    const cache = createApiSecretCache({ maxEntries: 10, ttlMs: 500, now: () => now, verifySecret: v.verifySecret });
    assert.equal(cache.isRemembered('s1', 'hash-of-s1'), false);
    await cache.verify('s1', 'hash-of-s1');
    assert.equal(cache.isRemembered('s1', 'hash-of-s1'), true);
    assert.equal(cache.isRemembered('wrong', 'hash-of-s1'), false);
    assert.equal(cache.isRemembered('s1', 'rotated-hash'), false);
    now += 500;
    assert.equal(cache.isRemembered('s1', 'hash-of-s1'), false);
    assert.deepEqual(v.calls, ['s1']);
  });

  it('misses when the stored hash changes (rotation) and evicts the least recently used', async () => {
    const v = countingVerifier();
    const cache = createApiSecretCache({ maxEntries: 2, ttlMs: 60_000, now: () => 0, verifySecret: v.verifySecret });
    assert.equal(await cache.verify('a', 'hash-of-a'), true);
    assert.equal(await cache.verify('a', 'rotated-hash'), false);
    await cache.verify('b', 'hash-of-b');
    await cache.verify('a', 'hash-of-a'); // touch a: b is now the oldest
    await cache.verify('c', 'hash-of-c'); // evicts b
    assert.equal(cache.size, 2);
    v.calls.length = 0;
    await cache.verify('a', 'hash-of-a');
    await cache.verify('b', 'hash-of-b');
    assert.deepEqual(v.calls, ['b']);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('works with the real scrypt verification', async () => {
    const { secret } = generateApiCredentials();
    const hash = await hashApiSecret(secret);
    const cache = createApiSecretCache({ maxEntries: 4, ttlMs: 60_000 });
    assert.equal(await cache.verify(secret, hash), true);
    assert.equal(await cache.verify(secret, hash), true);
    assert.equal(await cache.verify('hs_wrong', hash), false);
  });

  it('refuses bad sizes', () => {
    assert.throws(() => createApiSecretCache({ maxEntries: 0, ttlMs: 1 }), AuthConfigError);
    assert.throws(() => createApiSecretCache({ maxEntries: 1, ttlMs: -1 }), AuthConfigError);
  });
});
