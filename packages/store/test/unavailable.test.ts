import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { isStoreUnavailableError, StoreInputError } from '@herald/store';
import { createTestDatabase } from '@herald/testing';
import pg from 'pg';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function errorOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

describe('isStoreUnavailableError, on the drivers’ real errors', () => {
  it('is true for a refused PostgreSQL connection and a terminated backend', async () => {
    const refused = await errorOf(async () => {
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test` });
      client.on('error', () => {});
      await client.connect();
    });
    assert.equal(isStoreUnavailableError(refused), true, String(refused));

    await using db = await createTestDatabase();
    const victim = new pg.Client({ connectionString: db.url });
    victim.on('error', () => {});
    await victim.connect();
    const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      // Caught from the start: the victim's error can arrive before pg_terminate_backend's own answer.
      const during = errorOf(() => victim.query('SELECT pg_sleep(5)'));
      await new Promise((r) => setTimeout(r, 100));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const terminated = await during;
      assert.equal(isStoreUnavailableError(terminated), true, String(terminated));
      const after = await errorOf(() => victim.query('SELECT 1'));
      assert.equal(isStoreUnavailableError(after), true, String(after));
      // A mistake in a statement is not an outage.
      const syntax = await errorOf(() => admin.query('SELEC 1'));
      assert.equal(isStoreUnavailableError(syntax), false);
    } finally {
      await admin.end();
      await victim.end().catch(() => {});
    }
  });

  it('is true for a SQLite file locked past the busy timeout, false for other errors', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'herald-unavailable-')), 'x.db');
    const holder = new DatabaseSync(path);
    holder.exec('CREATE TABLE t (x); BEGIN IMMEDIATE');
    const other = new DatabaseSync(path, { timeout: 10 });
    try {
      const locked = await errorOf(() => other.exec('BEGIN IMMEDIATE'));
      assert.equal(isStoreUnavailableError(locked), true, String(locked));
      // The writer thread hands its errors back as messages only.
      assert.equal(isStoreUnavailableError(new Error((locked as Error).message)), true);
      const missing = await errorOf(() => other.exec('SELECT * FROM nope'));
      assert.equal(isStoreUnavailableError(missing), false);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
      other.close();
    }
    assert.equal(isStoreUnavailableError(new StoreInputError('INVALID_CURSOR', 'connect ECONNREFUSED')), false);
    assert.equal(isStoreUnavailableError(new Error('something else')), false);
    assert.equal(isStoreUnavailableError('ECONNREFUSED'), false);
  });
});
