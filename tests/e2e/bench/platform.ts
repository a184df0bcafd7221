// The platform benchmark: drain rate of the worker on SQLite and PostgreSQL against a bare undici
// loop to the same loopback receiver, and publish-to-delivered latency at a steady rate.
// Usage: node bench/platform.ts [--n 100000] [--steady-seconds 30] [--rate 1000] [--skip steady,postgres]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, round, startFastReceiver } from './bench-helpers.ts';
import { type CpuSplit, type DrainSettings, measureBareLoop, measureDrain } from './drain.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    'steady-seconds': { type: 'string', default: '30' },
    rate: { type: 'string', default: '1000' },
    skip: { type: 'string', default: '' },
    // The worker's settings for each drain, as an operator sets them for a backlog (measured in docs/benchmarks.md,
    // eleventh round): one SQLite worker does best with 128 in flight and batches of 64; two PostgreSQL workers with
    // 256 and batches of 128 (fewer, larger claims and records), the channel's cap raised so that both fill.
    concurrency: { type: 'string', default: '128' },
    'batch-size': { type: 'string', default: '64' },
    'max-in-flight': { type: 'string', default: '100' },
    'pg-concurrency': { type: 'string', default: '256' },
    'pg-batch-size': { type: 'string', default: '128' },
    'pg-max-in-flight': { type: 'string', default: '400' },
    // More in flight does not speed the bare loop up (it queues on the same 32 connections): 64 is its best.
    'bare-concurrency': { type: 'string', default: '64' },
  },
});
const n = Number(values.n);
if (!Number.isInteger(n) || n < 100 || n > 1_000_000) throw new Error('--n must be an integer from 100 to 1000000');
const steadySeconds = Math.min(60, Math.max(1, Number(values['steady-seconds'])));
const rate = Math.min(20_000, Math.max(10, Number(values.rate)));
const skip = new Set(values.skip.split(',').filter((s) => s !== ''));

const log = (line: string) => process.stdout.write(`${line}\n`);
// Budgets keep the whole run under about nine minutes whatever --n asks for. PostgreSQL stores about 1,000
// publishes a second on two cores, so its 100,000-delivery backlog takes up to two minutes to seed.
const settings: DrainSettings = {
  n,
  concurrency: Number(values.concurrency),
  batchSize: Number(values['batch-size']),
  connections: 32,
  bareConcurrency: Number(values['bare-concurrency']),
  maxInFlight: Number(values['max-in-flight']),
  seedBudgetMs: 150_000,
  timeoutMs: 75_000,
  log,
};
const postgresSettings: DrainSettings = {
  ...settings,
  concurrency: Number(values['pg-concurrency']),
  batchSize: Number(values['pg-batch-size']),
  maxInFlight: Number(values['pg-max-in-flight']),
};
for (const [name, s] of [
  ['SQLite', settings],
  ['PostgreSQL', postgresSettings],
] as const) {
  for (const key of ['concurrency', 'batchSize', 'maxInFlight', 'bareConcurrency'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1 || s[key] > 10_000) {
      throw new Error(`${name} ${key} must be an integer from 1 to 10000`);
    }
  }
  if (s.batchSize > s.concurrency) throw new Error(`${name} batch size must not exceed its concurrency`);
}
const bareCount = Math.min(n, 30_000);

/** Runs bench/steady-state-main.ts in a fresh process (see there why), passing its lines through; returns its figures. */
async function runSteadyStateProcess(rate: number, seconds: number): Promise<Record<string, number | string | null>> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'steady-state-main.ts');
  const child = spawn(process.execPath, [script, '--rate', String(rate), '--seconds', String(seconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  let figures: Record<string, number | string | null> | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (line.startsWith('{')) figures = JSON.parse(line) as Record<string, number | string | null>;
      else log(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || figures === undefined) throw new Error(`the steady-state process failed (exit code ${code})`);
  return figures;
}

const receiver = await startFastReceiver();
const figures: Record<string, number | string | null | CpuSplit> = { n };
const cpuLines: string[] = [];
try {
  const bare: number[] = [];
  const bareCpu: CpuSplit[] = [];
  const runBare = async () => {
    const run = await measureBareLoop(receiver, bareCount, settings);
    bare.push(run.perSecond);
    if (run.cpu !== null) bareCpu.push(run.cpu);
  };
  const cpuLine = (what: string, cpu: CpuSplit | null, sender: string) =>
    cpu === null
      ? ''
      : `  CPU per ${what}: ${sender} ${cpu.mainUs} µs, other threads ${cpu.threadsUs} µs; receiver ${cpu.receiverUs} µs${cpu.postgresUs === undefined ? '' : `; PostgreSQL ${cpu.postgresUs} µs`}`;
  log(
    `bare undici POST loop: ${bareCount} requests, ${settings.bareConcurrency} in flight, ${settings.connections} connections`,
  );
  // Not counted: the first loop of a fresh process (and receiver) runs at about three quarters of a warm one's rate
  // (JIT compiling, first connections), which flattered every ratio when a partial run had only two loops to take
  // the median of. The workers of each drain warm up inside their drain, which is long enough not to notice.
  await measureBareLoop(receiver, Math.min(bareCount, 10_000), settings);
  await runBare();

  if (!skip.has('sqlite')) {
    log(
      `drain on SQLite, one worker process (concurrency ${settings.concurrency}, batch ${settings.batchSize}, channel cap ${settings.maxInFlight})`,
    );
    const sqlite = await measureDrain('sqlite', 1, receiver, settings);
    await runBare();
    figures['sqliteDrainPerSecond'] = round(sqlite.deliveriesPerSecond);
    figures['sqliteWorker'] =
      `concurrency ${settings.concurrency}, batch ${settings.batchSize}, cap ${settings.maxInFlight}`;
    figures['sqliteCpuUs'] = sqlite.cpu;
    cpuLines.push(cpuLine('delivery, SQLite drain', sqlite.cpu, 'worker main thread'));
    figures['sqliteBacklog'] = sqlite.backlog;
    figures['sqliteDelivered'] = sqlite.delivered;
  }
  if (!skip.has('postgres')) {
    const p = postgresSettings;
    log(
      `drain on PostgreSQL, two worker processes (each concurrency ${p.concurrency}, batch ${p.batchSize}; channel cap ${p.maxInFlight})`,
    );
    const pg = await measureDrain('postgres', 2, receiver, p);
    await runBare();
    figures['postgresDrainPerSecond'] = round(pg.deliveriesPerSecond);
    figures['postgresWorkers'] = `2 x concurrency ${p.concurrency}, batch ${p.batchSize}, cap ${p.maxInFlight}`;
    figures['postgresCpuUs'] = pg.cpu;
    cpuLines.push(cpuLine('delivery, PostgreSQL drain', pg.cpu, "two workers' main threads"));
    figures['postgresBacklog'] = pg.backlog;
    figures['postgresDelivered'] = pg.delivered;
  }
  const bareMedian = median(bare);
  figures['bareLoopPerSecond'] = round(bareMedian);
  const bareCpuMedian: CpuSplit | null =
    bareCpu.length === 0
      ? null
      : {
          mainUs: round(median(bareCpu.map((c) => c.mainUs))),
          threadsUs: round(median(bareCpu.map((c) => c.threadsUs))),
          receiverUs: round(median(bareCpu.map((c) => c.receiverUs))),
        };
  figures['bareCpuUs'] = bareCpuMedian;
  figures['bareLoopRuns'] = bare.length;
  figures['bareLoopPerSecondRuns'] = bare.map((b) => round(b)).join(', ');
  if (typeof figures['sqliteDrainPerSecond'] === 'number') {
    figures['sqliteRatio'] = round(figures['sqliteDrainPerSecond'] / bareMedian, 3);
  }
  if (typeof figures['postgresDrainPerSecond'] === 'number') {
    figures['postgresRatio'] = round(figures['postgresDrainPerSecond'] / bareMedian, 3);
  }

  if (!skip.has('steady')) {
    log(`steady state through the API (embedded worker, SQLite): ${rate} msg/s for ${steadySeconds} s`);
    Object.assign(figures, await runSteadyStateProcess(rate, steadySeconds));
  }

  log('');
  log(
    `bare loop (median of ${bare.length}): ${round(bareMedian)} req/s (runs in order: ${bare.map(round).join(', ')})`,
  );
  for (const line of [cpuLine('request, bare loop (medians)', bareCpuMedian, 'client main thread'), ...cpuLines]) {
    if (line !== '') log(line);
  }
  if (figures['sqliteDrainPerSecond'] !== undefined) {
    log(
      `SQLite drain:      ${figures['sqliteDrainPerSecond']} deliveries/s  = ${round(Number(figures['sqliteRatio']) * 100)} % of bare (goal ≥ 50 %)`,
    );
  }
  if (figures['postgresDrainPerSecond'] !== undefined) {
    log(
      `PostgreSQL drain:  ${figures['postgresDrainPerSecond']} deliveries/s  = ${round(Number(figures['postgresRatio']) * 100)} % of bare (goal ≥ 35 %)`,
    );
  }
  if (figures['steadyP50Ms'] !== undefined) {
    log(
      `steady ${rate}/s: p50 ${figures['steadyP50Ms']} ms, p99 ${figures['steadyP99Ms']} ms (goal p99 ≤ 50 ms); highest sustained ${figures['highestSustainedRate']} msg/s`,
    );
  }
} finally {
  await receiver.close();
}
process.stdout.write(`${JSON.stringify(figures)}\n`);
