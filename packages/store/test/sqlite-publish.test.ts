import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SQLITE_MIGRATIONS } from '../src/sqlite-migrations.ts';
import { type PreparedPublish, applyBatch, applyPublish, sqliteStatements } from '../src/sqlite-publish.ts';

// The SQL half of an SQLite publish (what the writer thread runs), on a real database file.
describe('sqlite publish writer', () => {
  let dir: string;
  let db: DatabaseSync;
  let sql: ReturnType<typeof sqliteStatements>;

  const channel = (id: string, active: boolean, createdAt: number) =>
    db
      .prepare(
        `INSERT INTO channels (id, application_id, kind, is_active, include_image_data, config, secrets, options, created_at, updated_at)
         VALUES (?, 'app', 0, ?, 1, '{}', X'00', '{}', ?, ?)`,
      )
      .run(id, active ? 1 : 0, createdAt, createdAt);
  const prepared = (
    n: number,
    channels: string[],
    extra: Partial<PreparedPublish['message']> = {},
  ): PreparedPublish => ({
    message: {
      id: `m-${n}`,
      applicationId: 'app',
      type: 'TaskCompleted',
      body: JSON.stringify({ n }),
      correlationId: null,
      traceparent: null,
      idempotencyKey: null,
      bodyHash: `h-${n}`,
      createdAt: 1000 + n,
      ...extra,
    },
    now: 1000 + n,
    activeChannels: channels.map((id): [string, number] => [id, updatedAt[id] ?? 0]),
    plans: channels.map((channelId) => ({ channelId, orderingKey: null, coalesceKey: null })),
    deliveryIds: channels.map((c) => `d-${n}-${c}`),
  });
  const updatedAt: Record<string, number> = { c1: 1, c2: 2, c3: 3 };
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  beforeEach(() => {
    updatedAt['c1'] = 1;
    dir = mkdtempSync(join(tmpdir(), 'herald-publish-'));
    db = new DatabaseSync(join(dir, 'herald.db'));
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA foreign_keys = ON');
    for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
    db.exec(`INSERT INTO applications (id, name, created_at) VALUES ('app', 'app', 1)`);
    channel('c1', true, 1);
    channel('c2', true, 2);
    channel('c3', false, 3);
    sql = sqliteStatements(db);
  });
  afterEach(() => {
    sql.clear();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the message and one pending delivery per plan', () => {
    db.exec('BEGIN IMMEDIATE');
    assert.deepEqual(applyPublish(sql, prepared(1, ['c1', 'c2'])), { kind: 'stored' });
    db.exec('COMMIT');
    assert.equal(count('messages'), 1);
    const rows = db.prepare(`SELECT id, channel_id, state FROM deliveries ORDER BY seq`).all();
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        { id: 'd-1-c1', channel_id: 'c1', state: 'pending' },
        { id: 'd-1-c2', channel_id: 'c2', state: 'pending' },
      ],
    );
  });

  it('answers stale, writing nothing, when the active channels are not those the plan was made against', () => {
    db.exec('BEGIN IMMEDIATE');
    // A channel activated since the plan: it would get no delivery.
    db.prepare(`UPDATE channels SET is_active = 1 WHERE id = 'c3'`).run();
    assert.deepEqual(applyPublish(sql, prepared(1, ['c1', 'c2'])), { kind: 'stale' });
    // A channel deactivated since the plan: it would get one it should not.
    db.prepare(`UPDATE channels SET is_active = 0 WHERE id IN ('c2', 'c3')`).run();
    assert.deepEqual(applyPublish(sql, prepared(2, ['c1', 'c2'])), { kind: 'stale' });
    // A channel updated since the plan (its options may change the plan): updated_at moved.
    db.prepare(`UPDATE channels SET updated_at = 50 WHERE id = 'c1'`).run();
    assert.deepEqual(applyPublish(sql, prepared(3, ['c1'])), { kind: 'stale' });
    updatedAt['c1'] = 50;
    assert.deepEqual(applyPublish(sql, prepared(4, ['c1'])), { kind: 'stored' });
    db.exec('COMMIT');
    assert.equal(count('messages'), 1);
    assert.equal(count('deliveries'), 1);
  });

  it('answers the earlier message and its deliveries for a repeated idempotency key, even with no plan', () => {
    db.exec('BEGIN IMMEDIATE');
    assert.equal(applyPublish(sql, prepared(1, ['c1', 'c2'], { idempotencyKey: 'k' })).kind, 'stored');
    const again = applyPublish(sql, { ...prepared(2, [], { idempotencyKey: 'k' }), activeChannels: null });
    db.exec('COMMIT');
    assert.equal(again.kind, 'existing');
    if (again.kind !== 'existing') return;
    assert.equal(again.message['id'], 'm-1');
    assert.deepEqual(
      again.deliveries.map((d) => d['id']),
      ['d-1-c1', 'd-1-c2'],
    );
    assert.equal(count('messages'), 1);
  });

  it('answers no_active_channel for an empty plan without a key', () => {
    db.exec('UPDATE channels SET is_active = 0');
    assert.deepEqual(applyBatch(db, sql, [prepared(1, [])]), [{ kind: 'no_active_channel' }]);
    assert.equal(count('messages'), 0);
  });

  it('commits a batch together, and when one publish fails replays the others one by one', () => {
    const batch = [prepared(1, ['c1', 'c2']), prepared(2, ['c1', 'c2']), prepared(3, ['c1', 'c2'])];
    // The second names a channel that does not exist (no check: activeChannels null): its insert fails.
    batch[1] = { ...prepared(2, ['nope']), activeChannels: null };
    const outcomes = applyBatch(db, sql, batch);
    assert.equal(outcomes[0]!.kind, 'stored');
    assert.equal(outcomes[1]!.kind, 'error');
    assert.match((outcomes[1] as { message: string }).message, /FOREIGN KEY/);
    assert.equal(outcomes[2]!.kind, 'stored');
    assert.deepEqual(
      db
        .prepare('SELECT id FROM messages ORDER BY id')
        .all()
        .map((r) => r['id']),
      ['m-1', 'm-3'],
    );
    assert.equal(count('deliveries'), 4);
  });

  it('fails every publish of a batch at once when the write lock stays taken', () => {
    const other = new DatabaseSync(join(dir, 'herald.db'), { timeout: 10 });
    const blocked = new DatabaseSync(join(dir, 'herald.db'), { timeout: 10 });
    const blockedSql = sqliteStatements(blocked);
    try {
      other.exec('BEGIN IMMEDIATE');
      const outcomes = applyBatch(blocked, blockedSql, [prepared(1, ['c1']), prepared(2, ['c1'])]);
      assert.deepEqual(
        outcomes.map((o) => o.kind),
        ['error', 'error'],
      );
      other.exec('ROLLBACK');
    } finally {
      blockedSql.clear();
      blocked.close();
      other.close();
    }
    assert.equal(count('messages'), 0);
  });
});
