import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { createSqliteStore, createStore, StoreConfigError } from '@herald/store';
import { SQLITE_WRITER_THREAD } from '../src/sqlite-store.ts';
import {
  CLAIM_BODY_BUDGET_FOR_TESTS,
  type ContractDatabase,
  claimOptions,
  claimsWithinBodyBudget,
  keyringA,
  newAttempt,
  newMessage,
  planAll,
  type RawRow,
  runStoreContract,
  seedApplication,
} from './contract.ts';

const T0 = 1_700_000_000_000;

function createTempDatabase(writerThread = true): ContractDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  const path = join(dir, 'nested', 'herald.db');
  let raw: DatabaseSync | undefined;
  return {
    open: (keyring, clock) =>
      createSqliteStore({ path, keyring, writerThread, ...(clock === undefined ? {} : { clock }) }),
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
// Without the writer thread every write runs on the store's own connection: the same contract holds.
runStoreContract('sqlite (no writer thread)', async () => createTempDatabase(false));

describe('sqlite adapter', () => {
  it('opens a sqlite: URL, creating parent directories, in WAL mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    try {
      const path = join(dir, 'a', 'b', 'herald.db');
      const store = await createStore({ url: `sqlite:${path}`, keyring: keyringA });
      assert.equal(store.kind, 'sqlite');
      await store.ping();
      const { application } = await seedApplication(store);
      await store.publish(newMessage(application.id), planAll, T0);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is readable and writable by its owner only`);
      }
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

  it('commits publishes of one event-loop turn together, so none is visible to other connections before all are', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const path = join(dir, 'herald.db');
    const store = await createSqliteStore({ path, keyring: keyringA });
    const raw = new DatabaseSync(path);
    try {
      const { application } = await seedApplication(store);
      const committed = () => Number((raw.prepare('SELECT count(*) AS n FROM messages').get() as RawRow)['n']);
      const seenByPlans: number[] = [];
      const observe: typeof planAll = (channels) => {
        seenByPlans.push(committed());
        return planAll(channels);
      };
      const results = await Promise.all(
        [1, 2, 3].map((n) => store.publish(newMessage(application.id, { n }), observe, 1)),
      );
      assert.equal(
        results.every((r) => r.ok),
        true,
      );
      // Each plan ran inside the shared transaction: nothing was committed before the last one.
      assert.deepEqual(seenByPlans, [0, 0, 0]);
      assert.equal(committed(), 3);
      // One alone commits at once, on its own.
      await store.publish(newMessage(application.id, { n: 4 }), observe, 1);
      assert.equal(seenByPlans.at(-1), 3);
      assert.equal(committed(), 4);
    } finally {
      raw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails every publish of a batch when another connection holds the write lock, and works once it is free', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const path = join(dir, 'herald.db');
    const store = await createSqliteStore({ path, keyring: keyringA, busyTimeoutMs: 20 });
    const raw = new DatabaseSync(path);
    try {
      const { application } = await seedApplication(store);
      raw.exec('BEGIN IMMEDIATE');
      const outcomes = await Promise.allSettled(
        [1, 2, 3].map((n) => store.publish(newMessage(application.id, { n }), planAll, 1)),
      );
      raw.exec('COMMIT');
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected', 'rejected'],
      );
      assert.equal((await store.listMessages(application.id, {}, {})).items.length, 0);
      const later = await Promise.all([4, 5].map((n) => store.publish(newMessage(application.id, { n }), planAll, 1)));
      assert.equal(
        later.every((r) => r.ok),
        true,
      );
      assert.equal((await store.listMessages(application.id, {}, {})).items.length, 2);
    } finally {
      raw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const writerThread of [true, false]) {
    it(`publishes a burst with writerThread ${writerThread}: every publish answered, stored once, and kept after close`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
      const path = join(dir, 'herald.db');
      try {
        const store = await createSqliteStore({ path, keyring: keyringA, writerThread });
        const { application, channel } = await seedApplication(store);
        // Every third publish repeats one of ten idempotency keys, with the same body each time.
        const sent = Array.from({ length: 300 }, (_, n) =>
          n % 3 === 0
            ? store.publish(newMessage(application.id, { k: n % 30 }, { idempotencyKey: `k-${n % 30}` }), planAll, 1)
            : store.publish(newMessage(application.id, { n }), planAll, 1),
        );
        // Closed at once: what was handed over (to the writer thread too) is finished first.
        await store.close();
        const results = await Promise.all(sent);
        assert.equal(
          results.every((r) => r.ok),
          true,
        );
        const fresh = results.filter((r) => r.ok && !r.duplicate);
        // 200 without a key and the first of each of the ten keys; the other 90 are duplicates.
        assert.equal(fresh.length, 200 + 10);
        for (const r of fresh) {
          if (!r.ok) continue;
          assert.equal(r.deliveries.length, 1);
          assert.equal(r.deliveries[0]!.channelId, channel.id);
        }
        const reopened = await createSqliteStore({ path, keyring: keyringA });
        let count = 0;
        let cursor: string | null = null;
        do {
          const page = await reopened.listMessages(application.id, {}, { limit: 100, cursor });
          count += page.items.length;
          cursor = page.nextCursor;
        } while (cursor !== null);
        assert.equal(count, 210);
        await reopened.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('claims and records beside the writer thread while publishes stream in: each delivery claimed once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const store = await createSqliteStore({ path: join(dir, 'herald.db'), keyring: keyringA });
    try {
      const { application } = await seedApplication(store, { maxInFlight: 10_000 });
      const claimed = new Set<string>();
      let duplicates = 0;
      const publishes: Array<Promise<unknown>> = [];
      // Publishes arrive over many event-loop turns (several writer batches in flight) while claims and
      // attempt records run on the store's own connection.
      for (let turn = 0; turn < 20; turn++) {
        for (let n = 0; n < 20; n++) publishes.push(store.publish(newMessage(application.id, { turn, n }), planAll, 1));
        const batch = await store.claimDueDeliveries(claimOptions(2, { limit: 50, maxInFlightPerChannel: 10_000 }));
        for (const c of batch) {
          if (claimed.has(c.delivery.id)) duplicates++;
          claimed.add(c.delivery.id);
        }
        const recorded = await store.recordAttempts(
          batch.map((c) => ({
            deliveryId: c.delivery.id,
            owner: 'w1',
            attempt: newAttempt(c.delivery.id, 3, true),
            resolution: { state: 'delivered' as const },
          })),
          4,
        );
        assert.equal(
          recorded.every((ok) => ok),
          true,
        );
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(publishes);
      for (;;) {
        const batch = await store.claimDueDeliveries(claimOptions(5, { limit: 100, maxInFlightPerChannel: 10_000 }));
        if (batch.length === 0) break;
        for (const c of batch) {
          if (claimed.has(c.delivery.id)) duplicates++;
          claimed.add(c.delivery.id);
        }
      }
      assert.equal(duplicates, 0);
      assert.equal(claimed.size, 400);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SQLite: recordAttemptsAndClaim records a batch and claims the room it frees, in one call', async () => {
    const db = createTempDatabase();
    const store = await db.open(keyringA);
    try {
      const { application, channel } = await seedApplication(store, { maxInFlight: 3 });
      for (let i = 0; i < 8; i++) await store.publish(newMessage(application.id, { i }), planAll, T0);
      const first = await store.claimDueDeliveries(claimOptions(T0 + 1, { limit: 10 }));
      assert.equal(first.length, 3, 'the cap of 3 holds');
      const error = `it's a "quoted" \\ back\\slash; $1 -- not SQL`;
      const { recorded, claimed } = await store.recordAttemptsAndClaim!(
        [
          ...first.map((c, i) => ({
            deliveryId: c.delivery.id,
            owner: 'w1',
            attempt:
              i === 0
                ? { ...newAttempt(c.delivery.id, T0 + 2, false), error }
                : newAttempt(c.delivery.id, T0 + 2, true),
            resolution:
              i === 0 ? { state: 'pending' as const, nextAttemptAt: T0 + 60_000 } : { state: 'delivered' as const },
          })),
        ],
        T0 + 3,
        claimOptions(T0 + 4, { limit: 10 }),
      );
      assert.deepEqual(recorded, [true, true, true]);
      // The recorded deliveries no longer count against the cap: the same call claims three more, none of them again.
      assert.equal(claimed.length, 3);
      const firstIds = new Set(first.map((c) => c.delivery.id));
      assert.ok(claimed.every((c) => !firstIds.has(c.delivery.id) && c.delivery.state === 'delivering'));
      assert.equal(claimed[0]!.channel.id, channel.id);
      assert.deepEqual(claimed[0]!.channel.secrets, { secretHeaderValue: 'hdr-app' });
      const stored = await db.sql(`SELECT error FROM attempts WHERE delivery_id = '${first[0]!.delivery.id}'`);
      assert.equal(stored[0]?.['error'], error, 'the attempt text is stored exactly');
      const counts = await store.countDeliveriesByState();
      assert.deepEqual([counts.pending, counts.delivering, counts.delivered], [3, 3, 2]);

      // A lost lease is reported and writes nothing; the claim still runs.
      const again = await store.recordAttemptsAndClaim!(
        claimed.map((c) => ({
          deliveryId: c.delivery.id,
          owner: 'someone-else',
          attempt: newAttempt(c.delivery.id, T0 + 5, true),
          resolution: { state: 'delivered' as const },
        })),
        T0 + 6,
        claimOptions(T0 + 7, { limit: 10 }),
      );
      assert.deepEqual(again, { recorded: [false, false, false], claimed: [] });
      assert.equal(Number((await db.sql('SELECT count(*) AS n FROM attempts'))[0]?.['n']), 3);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('SQLite: recordAttemptsAndClaim claims the next delivery of an ordering key the same call finished', async () => {
    const db = createTempDatabase();
    const store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store, { orderingKey: 'ImageId' });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await store.publish(
          newMessage(application.id, { i }),
          (channels) => channels.map((c) => ({ channelId: c.id, orderingKey: 'img-1', coalesceKey: null })),
          T0,
        );
        if (!r.ok) throw new Error('publish failed');
        ids.push(r.deliveries[0]!.id);
      }
      let claimed = await store.claimDueDeliveries(claimOptions(T0 + 1));
      const order = claimed.map((c) => c.delivery.id);
      for (let round = 0; round < 3 && claimed.length > 0; round++) {
        assert.equal(claimed.length, 1, 'one delivery of the key in flight');
        const result = await store.recordAttemptsAndClaim!(
          claimed.map((c) => ({
            deliveryId: c.delivery.id,
            owner: 'w1',
            attempt: newAttempt(c.delivery.id, T0 + 2, true),
            resolution: { state: 'delivered' as const },
          })),
          T0 + 3,
          claimOptions(T0 + 4),
        );
        assert.deepEqual(result.recorded, [true]);
        claimed = result.claimed;
        order.push(...claimed.map((c) => c.delivery.id));
      }
      assert.deepEqual(order, ids, 'each finished delivery hands over to the next of its key, in publish order');
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('checkpoints the WAL in the background while publishing: pages reach the database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const path = join(dir, 'herald.db');
    const store = await createSqliteStore({ path, keyring: keyringA });
    try {
      const { application } = await seedApplication(store);
      const sizeBefore = statSync(path).size;
      const big = 'x'.repeat(2000);
      for (let round = 0; round < 10; round++) {
        await Promise.all(
          Array.from({ length: 100 }, (_, n) =>
            store.publish(newMessage(application.id, { round, n, big }), planAll, 1),
          ),
        );
      }
      // About 2 MB went to the WAL, far below the 10,000-page automatic checkpoint: only the checkpoint thread
      // (passive, four times a second) copies it into the database file.
      let size = statSync(path).size;
      for (let i = 0; i < 100 && size < sizeBefore + 1_000_000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        size = statSync(path).size;
      }
      assert.ok(size >= sizeBefore + 1_000_000, `database file ${sizeBefore} → ${size} bytes`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the publishes a dying writer thread held, and starts a new thread for the next ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const store = await createSqliteStore({ path: join(dir, 'herald.db'), keyring: keyringA });
    try {
      const { application } = await seedApplication(store);
      await store.publish(newMessage(application.id, { warm: 1 }), planAll, 1);
      const writerOf = (store as unknown as Record<symbol, () => Worker | null>)[SQLITE_WRITER_THREAD]!;
      const first = writerOf();
      assert.ok(first !== null, 'a file store writes on a thread');
      const held = Array.from({ length: 50 }, (_, n) => store.publish(newMessage(application.id, { n }), planAll, 1));
      // The batch is handed over on the next turn of the event loop; the thread dies as it gets it.
      await new Promise((resolve) => setImmediate(resolve));
      await first.terminate();
      const outcomes = await Promise.allSettled(held);
      for (const o of outcomes) {
        if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'PUBLISH_FAILED');
      }
      // The store goes on: a new thread takes the next publishes, and claims still work.
      const later = await Promise.all(
        Array.from({ length: 20 }, (_, n) => store.publish(newMessage(application.id, { later: n }), planAll, 1)),
      );
      assert.equal(
        later.every((r) => r.ok),
        true,
      );
      const second = writerOf();
      assert.ok(second !== null && second !== first, 'a new writer thread');
      assert.ok((await store.claimDueDeliveries(claimOptions(2, { limit: 500 }))).length >= 21);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('claims and records attempts on the writer thread, beside the event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const store = await createSqliteStore({ path: join(dir, 'herald.db'), keyring: keyringA });
    try {
      const { application } = await seedApplication(store);
      const writerOf = (store as unknown as Record<symbol, () => Worker | null>)[SQLITE_WRITER_THREAD]!;
      assert.equal(writerOf(), null, 'nothing has needed the writer thread yet');
      assert.deepEqual(await store.claimDueDeliveries(claimOptions(1, { limit: 10 })), []);
      assert.ok(writerOf() !== null, 'the claim started the writer thread');
      await store.publish(newMessage(application.id, { n: 1 }), planAll, 2);
      const [claimed] = await store.claimDueDeliveries(claimOptions(3, { limit: 10 }));
      assert.ok(claimed !== undefined);
      // Decoded on this thread: the delivery with its message and its channel (secrets decrypted).
      assert.equal(claimed.message.id, claimed.delivery.messageId);
      assert.equal(claimed.channel.id, claimed.delivery.channelId);
      assert.equal(claimed.channel.applicationId, application.id);
      const { recorded, claimed: next } = await store.recordAttemptsAndClaim!(
        [
          {
            deliveryId: claimed.delivery.id,
            owner: 'w1',
            attempt: newAttempt(claimed.delivery.id, 4, true),
            resolution: { state: 'delivered' },
          },
        ],
        5,
        claimOptions(5, { limit: 10 }),
      );
      assert.deepEqual(recorded, [true]);
      assert.deepEqual(next, []);
      assert.equal((await store.getDelivery(application.id, claimed.delivery.id))?.state, 'delivered');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a claim a dying writer thread held, and the next claim on a new thread gets every delivery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const store = await createSqliteStore({ path: join(dir, 'herald.db'), keyring: keyringA });
    try {
      const { application } = await seedApplication(store);
      for (let n = 0; n < 5; n++) await store.publish(newMessage(application.id, { n }), planAll, 1);
      const writerOf = (store as unknown as Record<symbol, () => Worker | null>)[SQLITE_WRITER_THREAD]!;
      const first = writerOf();
      assert.ok(first !== null);
      // Handed to the thread at once; the thread dies before or after it commits.
      const held = store.claimDueDeliveries(claimOptions(2, { limit: 10, leaseMs: 1000 }));
      await first.terminate();
      const [outcome] = await Promise.allSettled([held]);
      if (outcome.status === 'rejected') assert.equal((outcome.reason as { code?: string }).code, 'WRITE_FAILED');
      // Committed or not, nothing is lost: past the lease every delivery is claimable again, on a new thread.
      const again = await store.claimDueDeliveries(claimOptions(2 + 1000 + 1, { limit: 10 }));
      assert.equal(again.length, 5);
      const second = writerOf();
      assert.ok(second !== null && second !== first, 'a new writer thread');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const writerThread of [true, false]) {
    it(`takes message bodies up to a claim's byte budget, and at least one delivery (writer thread ${writerThread ? 'on' : 'off'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
      const store = await createSqliteStore({
        path: join(dir, 'herald.db'),
        keyring: keyringA,
        writerThread,
        claimBodyBudgetBytes: CLAIM_BODY_BUDGET_FOR_TESTS,
      });
      try {
        await claimsWithinBodyBudget(store);
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses a claim byte budget that is not a positive integer', async () => {
    for (const claimBodyBudgetBytes of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(
        createSqliteStore({ path: ':memory:', keyring: keyringA, claimBodyBudgetBytes }),
        (e: unknown) => e instanceof StoreConfigError && e.code === 'STORE_OPTION_INVALID',
      );
    }
  });

  it('settles publishes still queued when the store closes, and refuses new ones after', async () => {
    const store = await createStore({ url: 'sqlite::memory:', keyring: keyringA });
    const { application } = await seedApplication(store);
    const queued = store.publish(newMessage(application.id, { n: 1 }), planAll, 1);
    await store.close();
    assert.equal((await queued).ok, true);
    await assert.rejects(
      store.publish(newMessage(application.id, { n: 2 }), planAll, 1),
      (e: unknown) => (e as { code?: string }).code === 'STORE_CLOSED',
    );
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
