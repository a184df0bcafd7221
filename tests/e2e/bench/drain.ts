import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '@herald/engine';
import { createStore, generateKeyringSpec, parseKeyring } from '@herald/store';
import { createTestDatabase } from '@herald/testing';
import { Pool } from 'undici';
import { type AppProcess, spawnApp } from '../src/app-process.ts';
import { type FastReceiver, progressBody, sleep } from './bench-helpers.ts';
import { commandCpuNs, cpuPerUnit, type ProcessCpu, processCpu } from './cpu-usage.ts';

export interface DrainSettings {
  n: number;
  concurrency: number;
  batchSize: number;
  /** Connections the bare loop opens (the webhook client's default per origin). */
  connections: number;
  /** Requests the bare loop keeps in flight. */
  bareConcurrency: number;
  /** The bench channel's maxInFlight. */
  maxInFlight: number;
  /** Budget for seeding one backlog; seeding stops early (and says so) when it runs out. */
  seedBudgetMs: number;
  /** Budget for one drain; the rate is computed over what arrived. */
  timeoutMs: number;
  log: (line: string) => void;
}

/** CPU per request or delivery, in µs: the sender's main thread and other threads, and the receiver's process. */
export interface CpuSplit {
  mainUs: number;
  threadsUs: number;
  receiverUs: number;
  /** PostgreSQL's processes (server and backends), for a drain on PostgreSQL. */
  postgresUs?: number;
}

function split(
  sender: { mainUs: number; threadsUs: number } | null,
  receiver: { mainUs: number; threadsUs: number } | null,
): CpuSplit | null {
  if (sender === null || receiver === null) return null;
  return { ...sender, receiverUs: Math.round(10 * (receiver.mainUs + receiver.threadsUs)) / 10 };
}

interface CpuReading {
  delivered: number;
  workers: Array<ProcessCpu | null>;
  receiver: ProcessCpu | null;
  postgresNs: number | null;
}

/** Requests per second of a bare undici POST loop to the receiver, and the CPU each request cost on both ends. */
export async function measureBareLoop(
  receiver: FastReceiver,
  count: number,
  settings: DrainSettings,
): Promise<{ perSecond: number; cpu: CpuSplit | null }> {
  await receiver.reset();
  const pool = new Pool(`http://127.0.0.1:${receiver.port}`, { connections: settings.connections });
  const body = JSON.stringify(progressBody());
  let next = 0;
  const cpuBefore = [processCpu(process.pid), processCpu(receiver.pid)];
  const started = performance.now();
  const loop = async () => {
    while (next < count) {
      const i = next++;
      const r = await pool.request({
        path: '/hook',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': `bare_${i}` },
        body,
      });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`bare loop got ${r.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: settings.bareConcurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = [processCpu(process.pid), processCpu(receiver.pid)];
  await pool.close();
  const cpu = split(
    cpuPerUnit(cpuBefore.slice(0, 1), cpuAfter.slice(0, 1), count),
    cpuPerUnit(cpuBefore.slice(1), cpuAfter.slice(1), count),
  );
  return { perSecond: count / seconds, cpu };
}

interface Seeded {
  url: string;
  keyringSpec: string;
  cleanup(): Promise<void>;
}

async function seedBacklog(
  url: string,
  keyringSpec: string,
  receiver: FastReceiver,
  settings: DrainSettings,
  parallel: number,
) {
  const store = await createStore({ url, keyring: parseKeyring(keyringSpec), poolSize: Math.max(2, parallel) });
  try {
    const app = await store.createApplication({ name: 'bench' });
    await store.createChannel({
      applicationId: app.id,
      kind: 0,
      isActive: true,
      includeImageData: true,
      config: { webHookUrl: receiver.url, retryCount: 5, exponentialBackoffFactor: 2 },
      options: { maxInFlight: settings.maxInFlight },
    });
    const engine = createEngine({ store, transports: {}, retention: null });
    let next = 0;
    let seeded = 0;
    const deadline = Date.now() + settings.seedBudgetMs;
    const loop = async () => {
      while (next < settings.n && Date.now() < deadline) {
        next++;
        const r = await engine.publish({ applicationId: app.id, body: progressBody() });
        if (!r.ok) throw new Error(`seeding failed: ${r.reason}`);
        seeded++;
        if (seeded % 20_000 === 0) settings.log(`  seeded ${seeded}/${settings.n}`);
      }
    };
    await Promise.all(Array.from({ length: parallel }, loop));
    if (seeded < settings.n) settings.log(`  seeding budget spent: backlog of ${seeded} instead of ${settings.n}`);
    return seeded;
  } finally {
    await store.close();
  }
}

/** Seeds `n` pending deliveries, starts `workers` worker processes and measures the drain rate at the receiver. */
export async function measureDrain(
  kind: 'sqlite' | 'postgres',
  workers: number,
  receiver: FastReceiver,
  settings: DrainSettings,
): Promise<{ deliveriesPerSecond: number; seconds: number; delivered: number; backlog: number; cpu: CpuSplit | null }> {
  const keyringSpec = generateKeyringSpec();
  let seeded: Seeded;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
    seeded = {
      url: `sqlite:${join(dir, 'bench.sqlite')}`,
      keyringSpec,
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  } else {
    const db = await createTestDatabase('herald_bench');
    seeded = { url: db.url, keyringSpec, cleanup: () => db.drop() };
  }
  const procs: AppProcess[] = [];
  const cpuProfDir = process.env.HERALD_BENCH_CPU_PROF;
  try {
    settings.log(`  seeding ${settings.n} deliveries (${kind})…`);
    // SQLite group-commits concurrent publishes, PostgreSQL spreads them over its pool.
    const backlog = await seedBacklog(seeded.url, keyringSpec, receiver, settings, kind === 'sqlite' ? 64 : 16);
    await receiver.reset();
    for (let i = 0; i < workers; i++) {
      procs.push(
        spawnApp(`worker-${i}`, 'apps/worker/src/main.ts', {
          DATABASE_URL: seeded.url,
          HERALD_ENCRYPTION_KEYS: keyringSpec,
          HERALD_ALLOW_HTTP: 'true',
          HERALD_ALLOW_CIDRS: '127.0.0.0/8',
          HERALD_WORKER_PORT: '0',
          HERALD_WORKER_CONCURRENCY: String(settings.concurrency),
          HERALD_WORKER_BATCH_SIZE: String(settings.batchSize),
          HERALD_WORKER_POLL_INTERVAL_MS: '100',
          HERALD_LOG_LEVEL: 'warn',
          // Profiling a drain: HERALD_BENCH_CPU_PROF=<dir> writes one .cpuprofile per worker process.
          ...(cpuProfDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` }),
        }),
      );
    }
    const deadline = Date.now() + settings.timeoutMs;
    let stats = await receiver.stats();
    // CPU from the first arrival seen to the end of the drain: the workers' start-up is left out. Read twice only,
    // so the polling adds no /proc scans while the drain runs.
    const workerPids = procs.map((p) => p.child.pid);
    const readCpu = (delivered: number): CpuReading => ({
      delivered,
      workers: workerPids.map(processCpu),
      receiver: processCpu(receiver.pid),
      postgresNs: kind === 'postgres' ? commandCpuNs('postgres') : null,
    });
    let cpuStart: CpuReading | null = null;
    for (let i = 0; i < 100_000 && stats.unique < backlog && Date.now() < deadline; i++) {
      await sleep(100);
      stats = await receiver.stats();
      if (cpuStart === null && stats.unique > 0) cpuStart = readCpu(stats.unique);
      for (const p of procs) {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited early:\n${p.output().slice(-2000)}`);
      }
    }
    const cpuEnd = cpuStart === null ? null : readCpu(stats.unique);
    if (stats.unique < backlog) settings.log(`  drain budget spent: ${stats.unique}/${backlog} delivered`);
    const seconds = Math.max(0.001, (stats.lastArrivalMs - stats.firstArrivalMs) / 1000);
    let cpu: CpuSplit | null = null;
    if (cpuStart !== null && cpuEnd !== null) {
      const units = cpuEnd.delivered - cpuStart.delivered;
      cpu = split(
        cpuPerUnit(cpuStart.workers, cpuEnd.workers, units),
        cpuPerUnit([cpuStart.receiver], [cpuEnd.receiver], units),
      );
      if (cpu !== null && cpuStart.postgresNs !== null && cpuEnd.postgresNs !== null && units > 0) {
        cpu.postgresUs = Math.round((cpuEnd.postgresNs - cpuStart.postgresNs) / units / 100) / 10;
      }
    }
    return { deliveriesPerSecond: (stats.unique - 1) / seconds, seconds, delivered: stats.unique, backlog, cpu };
  } finally {
    await Promise.all(procs.map((p) => p.stop('SIGTERM', 10_000)));
    await seeded.cleanup();
  }
}
