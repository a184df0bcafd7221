// Engine throughput vs a bare loop doing the same database writes, on SQLite and PostgreSQL, plus a
// memory check with a large pending backlog. Prints figures, then one JSON line. Loopback only.
//
//   node bench/engine-throughput.ts            (pnpm bench)
//   BENCH_QUICK=1 node bench/engine-throughput.ts   (smaller sizes, for a smoke run)
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine, deliveredOutcome, type Engine, type Transport } from '@herald/engine';
import { createKeyring, createStore, type Store } from '@herald/store';
import { createTestDatabase } from '@herald/testing';
import pg from 'pg';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const quick = process.env.BENCH_QUICK === '1';
const verbose = process.env.BENCH_VERBOSE === '1';
const ROUNDS = quick ? 2 : 5;
const MESSAGES = { sqlite: quick ? 500 : 2_000, postgres: quick ? 300 : 1_000 } as const;
const BATCH = 64;
const MEMORY_SMALL = quick ? 2_000 : 10_000;
const MEMORY_LARGE = quick ? 20_000 : 100_000;
const TIME_BUDGET_MS = 170_000;
const benchStarted = performance.now();

type Adapter = 'sqlite' | 'postgres';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function progressBody(applicationId: string, processId: string, progress: number) {
  return {
    MessageType: 'ImageGenerationProgress',
    RequestRenderState: 'InProgress',
    ApplicationId: applicationId,
    UserId: '0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11',
    ImageRenderProcessId: processId,
    TotalTaskCount: 4,
    CompletedTaskCount: 1,
    Progress: progress,
    Tasks: { '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d': 'InProgress' },
    RenderKind: 1,
    RenderType: 2,
    IsSuccessful: true,
    ErrorMessage: '',
  };
}

const noopTransport: Transport = { deliver: async () => deliveredOutcome() };

function createBenchEngine(store: Store): Engine {
  return createEngine({
    store,
    transports: { webhook: noopTransport },
    batchSize: BATCH,
    concurrency: BATCH,
    maxInFlightPerChannel: 10_000,
    retention: null,
  });
}

async function createChannel(store: Store): Promise<string> {
  const app = await store.createApplication({ name: `bench-${randomUUID().slice(0, 8)}` });
  await store.createChannel({
    applicationId: app.id,
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: { webHookUrl: 'https://receiver.invalid/hook', retryCount: 3, exponentialBackoffFactor: 2 },
  });
  return app.id;
}

/** publish → claim → deliver (no-op) → record, through the engine. Returns deliveries per second. */
async function engineRound(store: Store, n: number): Promise<number> {
  const applicationId = await createChannel(store);
  const engine = createBenchEngine(store);
  const bodies = Array.from({ length: n }, (_, i) => progressBody(applicationId, randomUUID(), i % 100));
  const t0 = performance.now();
  for (const body of bodies) {
    const r = await engine.publish({ applicationId, body });
    if (!r.ok) throw new Error(`publish failed: ${r.reason}`);
  }
  const tPublished = performance.now();
  let delivered = 0;
  for (let i = 0; i < n && delivered < n; i++) {
    const got = await engine.runOnce();
    if (got === 0) break;
    delivered += got;
  }
  const ms = performance.now() - t0;
  if (delivered !== n) throw new Error(`engine delivered ${delivered} of ${n}`);
  if (verbose) console.log(`    engine: publish ${(tPublished - t0).toFixed(0)} ms, deliver ${(t0 + ms - tPublished).toFixed(0)} ms`);
  return n / (ms / 1000);
}

/** The same writes with raw SQL: the baseline. */
interface BareLoop {
  publish(applicationId: string, channelId: string, body: string): Promise<void>;
  claim(owner: string, limit: number, now: number): Promise<{ id: string; body: string }[]>;
  record(ids: string[], now: number): Promise<void>;
  close(): Promise<void>;
}

const BARE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS b_messages (id TEXT PRIMARY KEY, application_id TEXT NOT NULL, type TEXT NOT NULL,
    body TEXT NOT NULL, body_hash TEXT NOT NULL, created_at BIGINT NOT NULL);
  CREATE TABLE IF NOT EXISTS b_deliveries (id TEXT PRIMARY KEY, message_id TEXT NOT NULL REFERENCES b_messages(id),
    channel_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT, lease_expires_at BIGINT, updated_at BIGINT NOT NULL, delivered_at BIGINT);
  CREATE INDEX IF NOT EXISTS b_deliveries_due ON b_deliveries (state, next_attempt_at);
  CREATE TABLE IF NOT EXISTS b_attempts (id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL REFERENCES b_deliveries(id),
    attempt_number INTEGER NOT NULL, started_at BIGINT NOT NULL, duration_ms INTEGER NOT NULL, ok BOOLEAN NOT NULL,
    outcome TEXT NOT NULL, status_code INTEGER);
`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function openBareSqlite(path: string): BareLoop {
  const db = new DatabaseSync(path, { timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec(BARE_SCHEMA);
  const insertMessage = db.prepare(
    'INSERT INTO b_messages (id, application_id, type, body, body_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertDelivery = db.prepare(
    `INSERT INTO b_deliveries (id, message_id, channel_id, state, attempts, next_attempt_at, updated_at)
     VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
  );
  const lease = db.prepare(
    `UPDATE b_deliveries SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, updated_at = ?
     WHERE id IN (SELECT id FROM b_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                  ORDER BY next_attempt_at LIMIT ?) RETURNING id, message_id`,
  );
  const bodies = db.prepare('SELECT id, body FROM b_messages WHERE id IN (SELECT value FROM json_each(?))');
  const insertAttempt = db.prepare(
    `INSERT INTO b_attempts (id, delivery_id, attempt_number, started_at, duration_ms, ok, outcome, status_code)
     VALUES (?, ?, 1, ?, 0, 1, 'delivered', 200)`,
  );
  const markDelivered = db.prepare(
    `UPDATE b_deliveries SET state = 'delivered', attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
       updated_at = ?, delivered_at = ? WHERE id = ? AND state = 'delivering'`,
  );
  const tx = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const r = fn();
      db.exec('COMMIT');
      return r;
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  };
  return {
    async publish(applicationId, channelId, body) {
      const now = Date.now();
      const id = randomUUID();
      tx(() => {
        insertMessage.run(id, applicationId, 'ImageGenerationProgress', body, sha256(body), now);
        insertDelivery.run(randomUUID(), id, channelId, now, now);
      });
    },
    async claim(owner, limit, now) {
      return tx(() => {
        const leased = lease.all(owner, now + 60_000, now, now, limit) as { id: string; message_id: string }[];
        const byId = new Map(
          (bodies.all(JSON.stringify(leased.map((r) => r.message_id))) as { id: string; body: string }[]).map((r) => [
            r.id,
            r.body,
          ]),
        );
        return leased.map((r) => ({ id: r.id, body: byId.get(r.message_id) ?? '' }));
      });
    },
    async record(ids, now) {
      tx(() => {
        for (const id of ids) {
          insertAttempt.run(randomUUID(), id, now);
          markDelivered.run(now, now, id);
        }
      });
    },
    async close() {
      db.close();
    },
  };
}

async function openBarePostgres(url: string): Promise<BareLoop> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(BARE_SCHEMA);
  const tx = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      const r = await fn();
      await client.query('COMMIT');
      return r;
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    }
  };
  return {
    async publish(applicationId, channelId, body) {
      const now = Date.now();
      const id = randomUUID();
      await tx(async () => {
        await client.query(
          'INSERT INTO b_messages (id, application_id, type, body, body_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [id, applicationId, 'ImageGenerationProgress', body, sha256(body), now],
        );
        await client.query(
          `INSERT INTO b_deliveries (id, message_id, channel_id, state, attempts, next_attempt_at, updated_at)
           VALUES ($1, $2, $3, 'pending', 0, $4, $4)`,
          [randomUUID(), id, channelId, now],
        );
      });
    },
    async claim(owner, limit, now) {
      return tx(async () => {
        const leased = await client.query<{ id: string; message_id: string }>(
          `UPDATE b_deliveries d SET state = 'delivering', lease_owner = $1, lease_expires_at = $2, updated_at = $3
           FROM (SELECT id FROM b_deliveries WHERE state = 'pending' AND next_attempt_at <= $3
                 ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) s
           WHERE d.id = s.id RETURNING d.id, d.message_id`,
          [owner, now + 60_000, now, limit],
        );
        const bodies = await client.query<{ id: string; body: string }>(
          'SELECT id, body FROM b_messages WHERE id = ANY($1::text[])',
          [leased.rows.map((r) => r.message_id)],
        );
        const byId = new Map(bodies.rows.map((r) => [r.id, r.body]));
        return leased.rows.map((r) => ({ id: r.id, body: byId.get(r.message_id) ?? '' }));
      });
    },
    async record(ids, now) {
      await tx(async () => {
        for (const id of ids) {
          await client.query(
            `INSERT INTO b_attempts (id, delivery_id, attempt_number, started_at, duration_ms, ok, outcome, status_code)
             VALUES ($1, $2, 1, $3, 0, true, 'delivered', 200)`,
            [randomUUID(), id, now],
          );
          await client.query(
            `UPDATE b_deliveries SET state = 'delivered', attempts = attempts + 1, lease_owner = NULL,
               lease_expires_at = NULL, updated_at = $1, delivered_at = $1 WHERE id = $2 AND state = 'delivering'`,
            [now, id],
          );
        }
      });
    },
    close: () => client.end(),
  };
}

async function bareRound(bare: BareLoop, n: number): Promise<number> {
  const applicationId = randomUUID();
  const channelId = randomUUID();
  const bodies = Array.from({ length: n }, (_, i) => progressBody(applicationId, randomUUID(), i % 100));
  const t0 = performance.now();
  for (const body of bodies) await bare.publish(applicationId, channelId, JSON.stringify(body));
  const tPublished = performance.now();
  let delivered = 0;
  for (let i = 0; i < n && delivered < n; i++) {
    const batch = await bare.claim('bare', BATCH, Date.now());
    if (batch.length === 0) break;
    await Promise.all(batch.map(() => noopTransport.deliver(undefined as never, new AbortController().signal)));
    await bare.record(
      batch.map((b) => b.id),
      Date.now(),
    );
    delivered += batch.length;
  }
  const ms = performance.now() - t0;
  if (delivered !== n) throw new Error(`bare loop delivered ${delivered} of ${n}`);
  if (verbose) console.log(`    bare:   publish ${(tPublished - t0).toFixed(0)} ms, deliver ${(t0 + ms - tPublished).toFixed(0)} ms`);
  return n / (ms / 1000);
}

interface AdapterFigures {
  messages: number;
  rounds: number;
  engineDeliveriesPerSecond: number;
  bareDeliveriesPerSecond: number;
  ratio: number;
}

async function benchAdapter(adapter: Adapter): Promise<AdapterFigures> {
  const keyring = createKeyring({ current: { id: 'bench', key: randomBytes(32) } });
  let url: string;
  let bare: BareLoop;
  let cleanup: () => Promise<void>;
  if (adapter === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    url = `sqlite:${join(dir, 'herald.db')}`;
    bare = openBareSqlite(join(dir, 'bare.db'));
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const db = await createTestDatabase('herald_bench');
    url = db.url;
    bare = await openBarePostgres(db.url);
    cleanup = () => db.drop();
  }
  const store = await createStore({ url, keyring });
  const n = MESSAGES[adapter];
  const engineRates: number[] = [];
  const bareRates: number[] = [];
  try {
    // Warm-up (JIT, statement caches), not counted.
    await engineRound(store, Math.min(200, n));
    await bareRound(bare, Math.min(200, n));
    for (let r = 0; r < ROUNDS; r++) {
      if (performance.now() - benchStarted > TIME_BUDGET_MS) break;
      // Alternate the order so drift (file growth, autovacuum) hits both sides alike.
      if (r % 2 === 0) {
        engineRates.push(await engineRound(store, n));
        bareRates.push(await bareRound(bare, n));
      } else {
        bareRates.push(await bareRound(bare, n));
        engineRates.push(await engineRound(store, n));
      }
      console.log(
        `  ${adapter} round ${r + 1}: engine ${engineRates.at(-1)!.toFixed(0)}/s, bare ${bareRates.at(-1)!.toFixed(0)}/s`,
      );
    }
  } finally {
    await store.close();
    await bare.close();
    await cleanup();
  }
  const engineMedian = median(engineRates);
  const bareMedian = median(bareRates);
  return {
    messages: n,
    rounds: engineRates.length,
    engineDeliveriesPerSecond: Math.round(engineMedian),
    bareDeliveriesPerSecond: Math.round(bareMedian),
    ratio: Math.round((engineMedian / bareMedian) * 1000) / 1000,
  };
}

interface MemoryFigures {
  pendingSmall: number;
  pendingLarge: number;
  heapUsedSmallMiB: number;
  heapUsedLargeMiB: number;
  rssSmallMiB: number;
  rssLargeMiB: number;
  heapRatio: number;
}

function memorySample(): { heap: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 };
}

/** Heap and RSS of a running engine with 10k vs 100k pending deliveries (SQLite): it must not load the backlog. */
async function benchMemory(): Promise<MemoryFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-mem-'));
  const keyring = createKeyring({ current: { id: 'bench', key: randomBytes(32) } });
  const store = await createStore({ url: `sqlite:${join(dir, 'herald.db')}`, keyring });
  try {
    const applicationId = await createChannel(store);
    const engine = createBenchEngine(store);
    // A transport that never finishes keeps the claimed batch in flight, like a busy worker.
    const publishUpTo = async (target: number, from: number) => {
      for (let i = from; i < target; i += 100) {
        const chunk = Array.from({ length: Math.min(100, target - i) }, (_, j) =>
          engine.publish({ applicationId, body: progressBody(applicationId, randomUUID(), (i + j) % 100) }),
        );
        for (const r of await Promise.all(chunk)) if (!r.ok) throw new Error(`publish failed: ${r.reason}`);
      }
    };
    const cycle = async () => {
      // Claim and deliver a few batches with the backlog in place, then measure.
      for (let i = 0; i < 5; i++) await engine.runOnce();
      return memorySample();
    };
    await publishUpTo(MEMORY_SMALL, 0);
    const small = await cycle();
    await publishUpTo(MEMORY_LARGE, MEMORY_SMALL);
    const large = await cycle();
    const counts = await store.countDeliveriesByState();
    console.log(`  memory: ${counts.pending} pending after the large backlog`);
    return {
      pendingSmall: MEMORY_SMALL,
      pendingLarge: MEMORY_LARGE,
      heapUsedSmallMiB: Math.round(small.heap * 10) / 10,
      heapUsedLargeMiB: Math.round(large.heap * 10) / 10,
      rssSmallMiB: Math.round(small.rss),
      rssLargeMiB: Math.round(large.rss),
      heapRatio: Math.round((large.heap / small.heap) * 100) / 100,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, unknown> = { batchSize: BATCH };
const adapters = (process.env.BENCH_ADAPTERS ?? 'sqlite,postgres').split(',') as Adapter[];
for (const adapter of adapters) {
  console.log(`${adapter}: ${MESSAGES[adapter]} messages × ${ROUNDS} rounds, batch ${BATCH}`);
  const f = await benchAdapter(adapter);
  results[adapter] = f;
  console.log(
    `${adapter}: engine ${f.engineDeliveriesPerSecond} deliveries/s, bare loop ${f.bareDeliveriesPerSecond}/s, ratio ${f.ratio} (medians of ${f.rounds})`,
  );
}
if (process.env.BENCH_MEMORY !== '0') {
  console.log(`memory: ${MEMORY_SMALL} vs ${MEMORY_LARGE} pending deliveries (SQLite)`);
  const mem = await benchMemory();
  results.memory = mem;
  console.log(
    `memory: heap ${mem.heapUsedSmallMiB} MiB → ${mem.heapUsedLargeMiB} MiB (×${mem.heapRatio}), RSS ${mem.rssSmallMiB} MiB → ${mem.rssLargeMiB} MiB`,
  );
}
results.elapsedSeconds = Math.round((performance.now() - benchStarted) / 1000);
console.log(JSON.stringify(results));
