import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createSqliteStore, createStore, StoreConfigError } from '@herald/store';
import { type ContractDatabase, keyringA, type RawRow, runStoreContract } from './contract.ts';

function createTempDatabase(): ContractDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  const path = join(dir, 'nested', 'herald.db');
  let raw: DatabaseSync | undefined;
  return {
    open: (keyring, clock) => createSqliteStore({ path, keyring, ...(clock === undefined ? {} : { clock }) }),
    async sql(text) {
      raw ??= new DatabaseSync(path);
      return raw.prepare(text).all() as RawRow[];
    },
    async cleanup() {
      raw?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

runStoreContract('sqlite', async () => createTempDatabase());

describe('sqlite adapter', () => {
  it('opens a sqlite: URL, creating parent directories, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    try {
      const path = join(dir, 'a', 'b', 'herald.db');
      const store = await createStore({ url: `sqlite:${path}`, keyring: keyringA });
      assert.equal(store.kind, 'sqlite');
      await store.ping();
      await store.close();
      await store.close();
      assert.equal(existsSync(path), true);
      const raw = new DatabaseSync(path);
      try {
        assert.equal((raw.prepare('PRAGMA journal_mode').get() as RawRow)['journal_mode'], 'wal');
      } finally {
        raw.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens an in-memory store', async () => {
    const store = await createStore({ url: 'sqlite::memory:', keyring: keyringA });
    const app = await store.createApplication({ name: 'mem' });
    assert.equal((await store.getApplication(app.id))?.name, 'mem');
    await store.close();
  });

  it('refuses an unknown URL scheme or an empty path', async () => {
    await assert.rejects(
      createStore({ url: 'mysql://localhost/db', keyring: keyringA }),
      (e: unknown) => e instanceof StoreConfigError && e.code === 'STORE_URL_INVALID',
    );
    await assert.rejects(
      createStore({ url: 'sqlite:', keyring: keyringA }),
      (e: unknown) => e instanceof StoreConfigError && e.code === 'STORE_URL_INVALID',
    );
  });

  it('refuses to open a database migrated by a newer version', async () => {
    const db = createTempDatabase();
    try {
      const store = await db.open(keyringA);
      await store.close();
      await db.sql(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0) RETURNING version",
      );
      await assert.rejects(db.open(keyringA), (e: unknown) => (e as { code?: string }).code === 'SCHEMA_TOO_NEW');
    } finally {
      await db.cleanup();
    }
  });
});
