// Store throughput (publish → claim → record) against a bare loop doing the same writes with plain SQL,
// and the cost of a claim with 100,000 deliveries queued behind a saturated channel. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type Channel, createPostgresStore, createSqliteStore, parseKeyring, type Store } from '@herald/store';
import { createTestSchema } from '@herald/testing';
import pg from 'pg';

const DELIVERIES = 2000;
const RUNS = 3;
const BATCH = 100;
const BACKLOG = 100_000;
const BACKLOG_CLAIMS = 15;
const keyring = parseKeyring(`bench:${Buffer.alloc(32, 7).toString('base64')}`);
const webhook = { webHookUrl: 'https://example.test/hook', retryCount: 3, exponentialBackoffFactor: 2 };
const body = JSON.stringify({ MessageType: 'TaskCompleted', ImageId: 'img', Text: 'x'.repeat(200) });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const planAll = (cs: Channel[]) => cs.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null }));

interface Target {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: Store; raw: RawDb; cleanup: () => Promise<void> }>;
}
interface RawDb {
  exec(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

const sqliteTarget: Target = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    const path = join(dir, 'bench.db');
    const store = await createSqliteStore({ path, keyring });
    const db = new DatabaseSync(path, { timeout: 5000 });
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
    const cache = new Map<string, ReturnType<DatabaseSync['prepare']>>();
    const raw: RawDb = {
      async exec(sql, params = []) {
        if (/^\s*(BEGIN|COMMIT)/.test(sql)) {
          db.exec(sql);
          return [];
        }
        let s = cache.get(sql);
        if (s === undefined) {
          s = db.prepare(sql);
          cache.set(sql, s);
        }
        return s.all(...(params as Array<string | number | null>)) as Array<Record<string, unknown>>;
      },
      async close() {
        db.close();
      },
    };
    return {
      store,
      raw,
      cleanup: async () => {
        await store.close();
        await raw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgresTarget: Target = {
  name: 'postgres',
  async open() {
    const schema = await createTestSchema('herald_bench');
    const store = await createPostgresStore({ url: schema.url, keyring, poolSize: 4 });
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    const raw: RawDb = {
      async exec(sql, params = []) {
        return (await client.query(sql, params)).rows as Array<Record<string, unknown>>;
      },
      async close() {
        await client.end();
      },
    };
    return {
      store,
      raw,
      cleanup: async () => {
        await store.close();
        await raw.close();
        await schema.drop();
      },
    };
  },
};

async function seed(store: Store, maxInFlight?: number) {
  const app = await store.createApplication({ name: 'bench' });
  const channel = await store.createChannel({
    applicationId: app.id,
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: webhook,
    secrets: { secretHeaderValue: 'bench-secret' },
    ...(maxInFlight === undefined ? {} : { options: { maxInFlight } }),
  });
  return { app, channel };
}

/** The store: publish every message, then claim in batches and record every attempt as delivered. */
async function runStore(store: Store): Promise<number> {
  const { app } = await seed(store);
  const started = performance.now();
  for (let i = 0; i < DELIVERIES; i++) {
    await store.publish({ applicationId: app.id, type: 'TaskCompleted', body, bodyHash: `h${i}` }, planAll, i);
  }
  let done = 0;
  for (let round = 0; round < DELIVERIES && done < DELIVERIES; round++) {
    const claimed = await store.claimDueDeliveries({
      owner: 'bench',
      limit: BATCH,
      leaseMs: 600_000,
      now: DELIVERIES,
      maxInFlightPerChannel: BATCH,
    });
    if (claimed.length === 0) break;
    await store.recordAttempts(
      claimed.map((c) => ({
        deliveryId: c.delivery.id,
        owner: 'bench',
        attempt: {
          deliveryId: c.delivery.id,
          startedAt: DELIVERIES,
          durationMs: 1,
          ok: true,
          outcome: 'delivered',
          statusCode: 200,
          brokerReply: null,
          error: null,
          responseExcerpt: 'ok',
        },
        resolution: { state: 'delivered' },
      })),
      DELIVERIES,
    );
    done += claimed.length;
  }
  if (done !== DELIVERIES) throw new Error(`store run delivered ${done} of ${DELIVERIES}`);
  return DELIVERIES / ((performance.now() - started) / 1000);
}

/** The same rows written with plain SQL: no idempotency, caps, ordering, decryption or lease checks. */
async function runBare(store: Store, raw: RawDb, dialect: 'sqlite' | 'postgres'): Promise<number> {
  const { app, channel } = await seed(store);
  const p = (n: number) => (dialect === 'sqlite' ? '?' : `$${n}`);
  const ps = (count: number, from = 1) => Array.from({ length: count }, (_, i) => p(from + i)).join(', ');
  const started = performance.now();
  for (let i = 0; i < DELIVERIES; i++) {
    const messageId = crypto.randomUUID();
    await raw.exec('BEGIN');
    await raw.exec(`INSERT INTO messages (id, application_id, type, body, body_hash, created_at) VALUES (${ps(6)})`, [
      messageId,
      app.id,
      'TaskCompleted',
      body,
      `h${i}`,
      i,
    ]);
    await raw.exec(
      `INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at)
       VALUES (${ps(4)}, 'pending', ${ps(3, 5)})`,
      [crypto.randomUUID(), messageId, app.id, channel.id, i, i, i],
    );
    await raw.exec('COMMIT');
  }
  let done = 0;
  for (let round = 0; round < DELIVERIES && done < DELIVERIES; round++) {
    await raw.exec('BEGIN');
    const rows = await raw.exec(
      `UPDATE deliveries SET state = 'delivering', lease_owner = 'bare' WHERE seq IN (
         SELECT seq FROM deliveries WHERE state = 'pending' ORDER BY next_attempt_at, seq LIMIT ${BATCH})
       RETURNING id, message_id`,
    );
    await raw.exec('COMMIT');
    if (rows.length === 0) break;
    await raw.exec('BEGIN');
    for (const r of rows) {
      await raw.exec(
        `INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at,
           duration_ms, ok, outcome, status_code) VALUES (${ps(7)}, 1, ${dialect === 'sqlite' ? 1 : 'true'}, 'delivered', 200)`,
        [crypto.randomUUID(), r['id'], r['message_id'], channel.id, app.id, 1, DELIVERIES],
      );
      await raw.exec(
        `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, lease_owner = NULL WHERE id = ${p(1)}`,
        [r['id']],
      );
    }
    await raw.exec('COMMIT');
    done += rows.length;
  }
  if (done !== DELIVERIES) throw new Error(`bare run delivered ${done} of ${DELIVERIES}`);
  return DELIVERIES / ((performance.now() - started) / 1000);
}

/** Median claim time (ms) with BACKLOG deliveries due on a channel already at its cap, and one on another. */
async function runBacklog(target: Target): Promise<number> {
  const { store, raw, cleanup } = await target.open();
  try {
    const { app, channel } = await seed(store, 8);
    const other = await store.createChannel({
      applicationId: app.id,
      kind: 0,
      isActive: true,
      includeImageData: true,
      config: webhook,
    });
    const series =
      target.name === 'sqlite'
        ? `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${BACKLOG}) SELECT n FROM g`
        : `SELECT n FROM generate_series(1, ${BACKLOG}) AS n`;
    const p = (n: number) => (target.name === 'sqlite' ? '?' : `$${n}`);
    await raw.exec(
      `INSERT INTO messages (id, application_id, type, body, body_hash, created_at)
       SELECT 'm' || n, ${p(1)}, 'TaskCompleted', '{}', 'h', n FROM (${series}) s`,
      [app.id],
    );
    await raw.exec(
      `INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at)
       SELECT 'd' || n, 'm' || n, ${p(1)}, ${p(2)}, 'pending', n, n, n FROM (${series}) s`,
      [app.id, channel.id],
    );
    if (target.name === 'postgres') {
      // On PostgreSQL open deliveries also have their row in delivery_queue (migration 7), where claims read.
      await raw.exec(
        `INSERT INTO delivery_queue (delivery_id, seq, message_id, channel_id, state, next_attempt_at)
         SELECT id, seq, message_id, channel_id, 'pending', next_attempt_at FROM deliveries WHERE channel_id = $1`,
        [channel.id],
      );
    }
    await raw.exec(target.name === 'sqlite' ? 'ANALYZE' : 'ANALYZE deliveries, delivery_queue');
    const now = BACKLOG + 10;
    const base = { leaseMs: 600_000, now, maxInFlightPerChannel: 8 };
    const first = await store.claimDueDeliveries({ ...base, owner: 'saturate', limit: 50 });
    if (first.length !== 8) throw new Error(`expected to saturate the channel with 8, claimed ${first.length}`);
    const timings: number[] = [];
    for (let i = 0; i < BACKLOG_CLAIMS; i++) {
      const r = await store.publish(
        { applicationId: app.id, type: 'TaskCompleted', body: '{}', bodyHash: `b${i}` },
        (cs) => planAll(cs.filter((c) => c.id === other.id)),
        now,
      );
      if (!r.ok) throw new Error('publish failed');
      const t = performance.now();
      const claimed = await store.claimDueDeliveries({ ...base, owner: 'bench', limit: 50 });
      timings.push(performance.now() - t);
      if (claimed.length !== 1 || claimed[0]?.delivery.channelId !== other.id) {
        throw new Error(`expected the other channel's one delivery, got ${claimed.length}`);
      }
      const id = claimed[0].delivery.id;
      const attempt = { deliveryId: id, startedAt: now, durationMs: 1, ok: true, outcome: 'delivered' };
      await store.recordAttempt(
        {
          deliveryId: id,
          owner: 'bench',
          attempt: { ...attempt, statusCode: 200, brokerReply: null, error: null, responseExcerpt: null },
          resolution: { state: 'delivered' },
        },
        now,
      );
    }
    return median(timings);
  } finally {
    await cleanup();
  }
}

const figures: Record<string, number> = {};
const benchStarted = performance.now();
for (const target of [sqliteTarget, postgresTarget]) {
  const storeRates: number[] = [];
  const bareRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['store', 'bare'] as const) {
      const { store, raw, cleanup } = await target.open();
      try {
        if (mode === 'store') storeRates.push(await runStore(store));
        else bareRates.push(await runBare(store, raw, target.name));
      } finally {
        await cleanup();
      }
    }
  }
  const storeMedian = median(storeRates);
  const bareMedian = median(bareRates);
  const backlogClaimMs = await runBacklog(target);
  figures[`${target.name}_store_deliveries_per_s`] = Math.round(storeMedian);
  figures[`${target.name}_bare_deliveries_per_s`] = Math.round(bareMedian);
  figures[`${target.name}_ratio`] = Number((storeMedian / bareMedian).toFixed(3));
  figures[`${target.name}_claim_ms_with_100k_backlog`] = Number(backlogClaimMs.toFixed(2));
  console.log(
    `${target.name}: store ${Math.round(storeMedian)} deliveries/s, bare loop ${Math.round(bareMedian)} deliveries/s, ` +
      `ratio ${(storeMedian / bareMedian).toFixed(2)} (medians of ${RUNS} runs of ${DELIVERIES}); ` +
      `claim beside a saturated channel with ${BACKLOG} queued: ${backlogClaimMs.toFixed(2)} ms (median of ${BACKLOG_CLAIMS})`,
  );
}
figures['total_s'] = Number(((performance.now() - benchStarted) / 1000).toFixed(1));
console.log(JSON.stringify(figures));
