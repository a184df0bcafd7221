import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStore, generateKeyringSpec, parseKeyring, type Store } from '@herald/store';
import { createApiKeyCache } from '../src/api-key-cache.ts';

// The row cache in front of findApiKey, on a real SQLite store; "another process" is a write made
// straight to the store, which the cache cannot see until its entry expires.
describe('API key row cache', () => {
  let dir: string;
  let store: Store;
  let applicationId: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-keycache-'));
    store = await createStore({ url: `sqlite:${join(dir, 'h.db')}`, keyring: parseKeyring(generateKeyringSpec()) });
    applicationId = (await store.createApplication({ name: 'a' })).id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const countingStore = () => {
    let reads = 0;
    return {
      findApiKey: (key: string) => {
        reads++;
        return store.findApiKey(key);
      },
      get reads() {
        return reads;
      },
    };
  };

  it('reuses a row until it expires, then sees a revocation made elsewhere', async () => {
    const key = await store.createApiKey({ applicationId, role: 'application', key: 'pk_cache_1', secretHash: 'h' });
    let now = 1_000;
    const counted = countingStore();
    const cache = createApiKeyCache(counted, { ttlMs: 1000, now: () => now });
    assert.equal((await cache.find('pk_cache_1'))?.id, key.id);
    assert.equal((await cache.find('pk_cache_1'))?.revokedAt, null);
    assert.equal(counted.reads, 1, 'the second lookup is served from memory');
    await store.revokeApiKey(key.id, 5);
    now += 999;
    assert.equal((await cache.find('pk_cache_1'))?.revokedAt, null, 'still the remembered row inside the TTL');
    now += 1;
    assert.equal((await cache.find('pk_cache_1'))?.revokedAt, 5, 'read again once expired');
    assert.equal(counted.reads, 2);
  });

  it('drops every row on clear() (what a revoke through the API calls)', async () => {
    const key = await store.createApiKey({ applicationId, role: 'application', key: 'pk_cache_2', secretHash: 'h' });
    const counted = countingStore();
    const cache = createApiKeyCache(counted, { ttlMs: 60_000, now: () => 0 });
    await cache.find('pk_cache_2');
    await store.revokeApiKey(key.id, 7);
    cache.clear();
    assert.equal((await cache.find('pk_cache_2'))?.revokedAt, 7);
    assert.equal(counted.reads, 2);
  });

  it('never remembers a key that does not exist, and reads every time with a TTL of 0', async () => {
    const counted = countingStore();
    const cache = createApiKeyCache(counted, { ttlMs: 1000, now: () => 0 });
    assert.equal(await cache.find('pk_missing'), null);
    assert.equal(await cache.find('pk_missing'), null);
    assert.equal(counted.reads, 2);
    await store.createApiKey({ applicationId, role: 'application', key: 'pk_missing', secretHash: 'h' });
    assert.notEqual(await cache.find('pk_missing'), null, 'a key created since is found at once');
    const uncached = countingStore();
    const off = createApiKeyCache(uncached, { ttlMs: 0, now: () => 0 });
    await off.find('pk_missing');
    await off.find('pk_missing');
    assert.equal(uncached.reads, 2);
  });
});
