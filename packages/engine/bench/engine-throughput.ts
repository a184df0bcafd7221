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
const MESSAGES = { sqlite: quick ? 500 : 1_000, postgres: quick ? 300 : 500 } as const;
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
  if (verbose)
    console.log(
      `    engine: publish ${(tPublished - t0).toFixed(0)} ms, deliver ${(t0 + ms - tPublished).toFixed(0)} ms`,
    );
  return n / (ms / 1000);
}

/**
 * The baseline: the same rows written into the store's own tables (same schema, same indexes) with raw
 * SQL and prepared statements, without the engine or the store's code: what the database alone costs.
 */
interface BareLoop {
  publish(body: string): Promise<void>;
  claim(limit: number, now: number): Promise<{ id: string; messageId: string; body: string }[]>;
  record(batch: { id: string; messageId: string }[], now: number): Promise<void>;
  close(): Promise<void>;
}

interface BareTarget {
  applicationId: string;
  channelId: string;
}

const OWNER = 'bare';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function openBareSqlite(path: string, target: BareTarget): BareLoop {
  const db = new DatabaseSync(path, { timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash, created_at)
     VALUES (?, ?, 'ImageGenerationProgress', ?, NULL, NULL, NULL, ?, ?)`,
  );
  const insertDelivery = db.prepare(
    `INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`,
  );
  const lease = db.prepare(
    `UPDATE deliveries SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, leased_at = ?,
       updated_at = ?
     WHERE seq IN (SELECT seq FROM deliveries WHERE state IN ('pending', 'delivering') AND next_attempt_at <= ?
                   ORDER BY next_attempt_at, seq LIMIT ?) RETURNING id, message_id`,
  );
  const bodies = db.prepare('SELECT id, body FROM messages WHERE id IN (SELECT value FROM json_each(?))');
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at, duration_ms,
       ok, outcome, status_code) VALUES (?, ?, ?, ?, ?, 1, ?, 0, 1, 'delivered', 200)`,
  );
  const markDelivered = db.prepare(
    `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
       leased_at = NULL, last_outcome = 'delivered', last_status_code = 200, updated_at = ?, delivered_at = ?
     WHERE id = ? AND lease_owner = ? AND state = 'delivering'`,
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
    async publish(body) {
      const now = Date.now();
      const id = randomUUID();
      tx(() => {
        insertMessage.run(id, target.applicationId, body, sha256(body), now);
        insertDelivery.run(randomUUID(), id, target.applicationId, target.channelId, now, now, now);
      });
    },
    async claim(limit, now) {
      return tx(() => {
        const leased = lease.all(OWNER, now + 60_000, now + 60_000, now, now, now, limit) as {
          id: string;
          message_id: string;
        }[];
        const byId = new Map(
          (bodies.all(JSON.stringify(leased.map((r) => r.message_id))) as { id: string; body: string }[]).map((r) => [
            r.id,
            r.body,
          ]),
        );
        return leased.map((r) => ({ id: r.id, messageId: r.message_id, body: byId.get(r.message_id) ?? '' }));
      });
    },
    async record(batch, now) {
      tx(() => {
        for (const d of batch) {
          insertAttempt.run(randomUUID(), d.id, d.messageId, target.channelId, target.applicationId, now);
          markDelivered.run(now, now, d.id, OWNER);
        }
      });
    },
    async close() {
      db.close();
    },
  };
}

async function openBarePostgres(url: string, target: BareTarget): Promise<BareLoop> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
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
    async publish(body) {
      const now = Date.now();
      const id = randomUUID();
      await tx(async () => {
        await client.query({
          name: 'bare-insert-message',
          text: `INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash,
                   created_at) VALUES ($1, $2, 'ImageGenerationProgress', $3, NULL, NULL, NULL, $4, $5)`,
          values: [id, target.applicationId, body, sha256(body), now],
        });
        await client.query({
          name: 'bare-insert-delivery',
          text: `INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5)`,
          values: [randomUUID(), id, target.applicationId, target.channelId, now],
        });
      });
    },
    async claim(limit, now) {
      return tx(async () => {
        const leased = await client.query<{ id: string; message_id: string }>({
          name: 'bare-lease',
          text: `UPDATE deliveries d SET state = 'delivering', lease_owner = $1, lease_expires_at = $2, next_attempt_at = $2,
                   leased_at = $3, updated_at = $3
                 FROM (SELECT id FROM deliveries WHERE state IN ('pending', 'delivering') AND next_attempt_at <= $3
                       ORDER BY next_attempt_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED) s
                 WHERE d.id = s.id RETURNING d.id, d.message_id`,
          values: [OWNER, now + 60_000, now, limit],
        });
        const bodies = await client.query<{ id: string; body: string }>({
          name: 'bare-bodies',
          text: 'SELECT id, body FROM messages WHERE id = ANY($1::text[])',
          values: [leased.rows.map((r) => r.message_id)],
        });
        const byId = new Map(bodies.rows.map((r) => [r.id, r.body]));
        return leased.rows.map((r) => ({ id: r.id, messageId: r.message_id, body: byId.get(r.message_id) ?? '' }));
      });
    },
    async record(batch, now) {
      await tx(async () => {
        for (const d of batch) {
          await client.query({
            name: 'bare-insert-attempt',
            text: `INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at,
                     duration_ms, ok, outcome, status_code) VALUES ($1, $2, $3, $4, $5, 1, $6, 0, true, 'delivered', 200)`,
            values: [randomUUID(), d.id, d.messageId, target.channelId, target.applicationId, now],
          });
          await client.query({
            name: 'bare-mark-delivered',
            text: `UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, lease_owner = NULL, lease_expires_at = NULL,
                     leased_at = NULL, last_outcome = 'delivered', last_status_code = 200, updated_at = $1, delivered_at = $1
                   WHERE id = $2 AND lease_owner = $3 AND state = 'delivering'`,
            values: [now, d.id, OWNER],
          });
        }
      });
    },
    close: () => client.end(),
  };
}

async function bareRound(bare: BareLoop, target: BareTarget, n: number): Promise<number> {
  const bodies = Array.from({ length: n }, (_, i) => progressBody(target.applicationId, randomUUID(), i % 100));
  const t0 = performance.now();
  for (const body of bodies) await bare.publish(JSON.stringify(body));
  const tPublished = performance.now();
  let delivered = 0;
  for (let i = 0; i < n && delivered < n; i++) {
    const batch = await bare.claim(BATCH, Date.now());
    if (batch.length === 0) break;
    await Promise.all(batch.map(() => noopTransport.deliver(undefined as never, new AbortController().signal)));
    await bare.record(batch, Date.now());
    delivered += batch.length;
  }
  const ms = performance.now() - t0;
  if (delivered !== n) throw new Error(`bare loop delivered ${delivered} of ${n}`);
  if (verbose)
    console.log(
      `    bare:   publish ${(tPublished - t0).toFixed(0)} ms, deliver ${(t0 + ms - tPublished).toFixed(0)} ms`,
    );
  return n / (ms / 1000);
}

/** The same flow calling the store directly (no engine): splits engine overhead from store overhead. */
async function storeRound(store: Store, n: number): Promise<number> {
  const applicationId = await createChannel(store);
  const bodies = Array.from({ length: n }, (_, i) => progressBody(applicationId, randomUUID(), i % 100));
  const plan = (channels: { id: string }[]) =>
    channels.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null }));
  const t0 = performance.now();
  for (const body of bodies) {
    const text = JSON.stringify(body);
    const r = await store.publish(
      { applicationId, type: 'ImageGenerationProgress', body: text, bodyHash: sha256(text) },
      plan,
      Date.now(),
    );
    if (!r.ok) throw new Error(`publish failed: ${r.reason}`);
  }
  const tPublished = performance.now();
  let delivered = 0;
  for (let i = 0; i < n && delivered < n; i++) {
    const now = Date.now();
    const batch = await store.claimDueDeliveries({
      owner: 'store',
      limit: BATCH,
      leaseMs: 60_000,
      now,
      maxInFlightPerChannel: 10_000,
    });
    if (batch.length === 0) break;
    const outcomes = await Promise.all(
      batch.map(() => noopTransport.deliver(undefined as never, new AbortController().signal)),
    );
    await store.recordAttempts(
      batch.map((c, j) => ({
        deliveryId: c.delivery.id,
        owner: 'store',
        attempt: {
          deliveryId: c.delivery.id,
          startedAt: now,
          durationMs: 0,
          ok: true,
          outcome: outcomes[j]!.code,
          statusCode: 200,
          brokerReply: null,
          error: null,
          responseExcerpt: null,
        },
        resolution: { state: 'delivered' },
      })),
      Date.now(),
    );
    delivered += batch.length;
  }
  const ms = performance.now() - t0;
  if (delivered !== n) throw new Error(`store loop delivered ${delivered} of ${n}`);
  if (verbose)
    console.log(
      `    store:  publish ${(tPublished - t0).toFixed(0)} ms, deliver ${(t0 + ms - tPublished).toFixed(0)} ms`,
    );
  return n / (ms / 1000);
}

interface AdapterFigures {
  messages: number;
  rounds: number;
  engineDeliveriesPerSecond: number;
  bareDeliveriesPerSecond: number;
  /** The store called directly, without the engine (for reading where the gap lies). */
  storeOnlyDeliveriesPerSecond: number;
  /** engine / bare loop: the goal is >= 0.5. */
  ratio: number;
  /** engine / store-only: the engine's own overhead. */
  engineOverStoreRatio: number;
}

async function benchAdapter(adapter: Adapter): Promise<AdapterFigures> {
  const keyring = createKeyring({ current: { id: 'bench', key: randomBytes(32) } });
  let url: string;
  let bareUrl: string;
  const cleanups: (() => Promise<void>)[] = [];
  if (adapter === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    url = `sqlite:${join(dir, 'herald.db')}`;
    bareUrl = `sqlite:${join(dir, 'bare.db')}`;
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  } else {
    const db = await createTestDatabase('herald_bench');
    const bareDb = await createTestDatabase('herald_bench_bare');
    url = db.url;
    bareUrl = bareDb.url;
    cleanups.push(
      () => db.drop(),
      () => bareDb.drop(),
    );
  }
  // The baseline writes into a database with the store's schema; the store only migrates it and makes the channel.
  const schemaOnly = await createStore({ url: bareUrl, keyring });
  const target: BareTarget = { applicationId: await createChannel(schemaOnly), channelId: '' };
  target.channelId = (await schemaOnly.listChannels(target.applicationId))[0]!.id;
  await schemaOnly.close();
  const bare =
    adapter === 'sqlite'
      ? openBareSqlite(bareUrl.slice('sqlite:'.length), target)
      : await openBarePostgres(bareUrl, target);
  const store = await createStore({ url, keyring });
  const n = MESSAGES[adapter];
  const engineRates: number[] = [];
  const bareRates: number[] = [];
  const storeRates: number[] = [];
  try {
    // Warm-up (JIT, statement caches), not counted.
    await engineRound(store, Math.min(200, n));
    await storeRound(store, Math.min(200, n));
    await bareRound(bare, target, Math.min(200, n));
    for (let r = 0; r < ROUNDS; r++) {
      if (performance.now() - benchStarted > TIME_BUDGET_MS) break;
      // Alternate the order so drift (file growth, autovacuum) hits both sides alike.
      if (r % 2 === 0) {
        engineRates.push(await engineRound(store, n));
        bareRates.push(await bareRound(bare, target, n));
        storeRates.push(await storeRound(store, n));
      } else {
        storeRates.push(await storeRound(store, n));
        bareRates.push(await bareRound(bare, target, n));
        engineRates.push(await engineRound(store, n));
      }
      console.log(
        `  ${adapter} round ${r + 1}: engine ${engineRates.at(-1)!.toFixed(0)}/s, bare ${bareRates.at(-1)!.toFixed(0)}/s, store only ${storeRates.at(-1)!.toFixed(0)}/s`,
      );
    }
  } finally {
    await store.close();
    await bare.close();
    for (const c of cleanups) await c();
  }
  const engineMedian = median(engineRates);
  const bareMedian = median(bareRates);
  const storeMedian = median(storeRates);
  return {
    messages: n,
    rounds: engineRates.length,
    engineDeliveriesPerSecond: Math.round(engineMedian),
    bareDeliveriesPerSecond: Math.round(bareMedian),
    storeOnlyDeliveriesPerSecond: Math.round(storeMedian),
    ratio: Math.round((engineMedian / bareMedian) * 1000) / 1000,
    engineOverStoreRatio: Math.round((engineMedian / storeMedian) * 1000) / 1000,
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

/**
 * Heap and RSS of a running engine with 10k vs 100k pending deliveries (SQLite): it must not load the
 * backlog. The first 10k go through engine.publish; the other 90k are copied in with one SQL statement
 * each for messages and deliveries (same rows, far faster than 90k transactions).
 */
async function benchMemory(): Promise<MemoryFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-mem-'));
  const path = join(dir, 'herald.db');
  const keyring = createKeyring({ current: { id: 'bench', key: randomBytes(32) } });
  const store = await createStore({ url: `sqlite:${path}`, keyring });
  const raw = new DatabaseSync(path, { timeout: 5000 });
  try {
    const applicationId = await createChannel(store);
    const channelId = (await store.listChannels(applicationId))[0]!.id;
    const engine = createBenchEngine(store);
    let sample: { body: string; bodyHash: string } | null = null;
    for (let i = 0; i < MEMORY_SMALL; i++) {
      const r = await engine.publish({ applicationId, body: progressBody(applicationId, randomUUID(), i % 100) });
      if (!r.ok) throw new Error(`publish failed: ${r.reason}`);
      sample ??= { body: r.message.body, bodyHash: r.message.bodyHash };
    }
    const cycle = async () => {
      // Claim and deliver a few batches with the backlog in place, then measure.
      for (let i = 0; i < 5; i++) await engine.runOnce();
      return memorySample();
    };
    const small = await cycle();
    const now = Date.now();
    const extra = MEMORY_LARGE - MEMORY_SMALL;
    raw.exec('BEGIN IMMEDIATE');
    raw
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO messages (id, application_id, type, body, body_hash, created_at)
         SELECT 'bulk-m-' || i, ?, 'ImageGenerationProgress', ?, ?, ? FROM n`,
      )
      .run(extra, applicationId, sample!.body, sample!.bodyHash, now);
    raw
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at)
         SELECT 'bulk-d-' || i, 'bulk-m-' || i, ?, ?, 'pending', ?, ?, ? FROM n`,
      )
      .run(extra, applicationId, channelId, now, now, now);
    raw.exec('COMMIT');
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
    raw.close();
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
    `${adapter}: engine ${f.engineDeliveriesPerSecond} deliveries/s, bare loop ${f.bareDeliveriesPerSecond}/s, ratio ${f.ratio}; store only ${f.storeOnlyDeliveriesPerSecond}/s, engine/store ${f.engineOverStoreRatio} (medians of ${f.rounds})`,
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
