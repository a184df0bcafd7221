import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHeraldClient, type FetchLike } from '@herald/client';
import { type Dispatcher, Pool } from 'undici';
import { startApiProcess } from '../src/api-process.ts';
import { type FastReceiver, percentile, progressBody, round, sleep } from './bench-helpers.ts';

interface Phase {
  target: number;
  publishedPerSecond: number;
  published: number;
  failed: number;
  delivered: number;
  p50Ms: number;
  p99Ms: number;
  /** Deliveries still missing this long after publishing stopped. */
  missing: number;
  firstError?: string;
}

const MAX_IN_FLIGHT = 512;
const WARMUP_SECONDS = 5;
const DRAIN_GRACE_MS = 10_000;

/** Publishes at `rate` per second for `seconds` (paced in 10 ms slots, bounded in-flight), then waits for the deliveries. */
async function runPhase(
  client: ReturnType<typeof createHeraldClient>,
  receiver: FastReceiver,
  applicationId: string,
  rate: number,
  seconds: number,
): Promise<Phase> {
  await receiver.reset();
  const slotMs = 10;
  const perSlot = rate / (1000 / slotMs);
  let owed = 0;
  let seq = 0;
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const endAt = started + seconds * 1000;
  const pending = new Set<Promise<void>>();
  for (let slot = 0; slot < seconds * 100 + 10 && performance.now() < endAt; slot++) {
    owed += perSlot;
    while (owed >= 1 && inFlight < MAX_IN_FLIGHT) {
      owed -= 1;
      inFlight++;
      const body = { ...progressBody(), ApplicationId: applicationId };
      const p = client
        .publish(body, { correlationId: `bench-${Date.now()}-${seq++}` })
        .then(
          () => {
            ok++;
          },
          (error: unknown) => {
            failed++;
            firstError ??= error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => {
          inFlight--;
          pending.delete(p);
        });
      pending.add(p);
    }
    const nextSlotAt = started + (slot + 1) * slotMs;
    const wait = nextSlotAt - performance.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(pending);
  const publishSeconds = (performance.now() - started) / 1000;
  const drainDeadline = Date.now() + DRAIN_GRACE_MS;
  let stats = await receiver.stats();
  for (let i = 0; i < 1_000 && stats.unique < ok && Date.now() < drainDeadline; i++) {
    await sleep(50);
    stats = await receiver.stats();
  }
  const latencies = await receiver.latencies();
  return {
    target: rate,
    publishedPerSecond: round(ok / publishSeconds),
    published: ok,
    failed,
    delivered: stats.unique,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    missing: ok - stats.unique,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** A FetchLike over an undici Pool: what the typed client reads of a response (ok, status, text) and nothing more. */
function poolFetch(pool: Pool): FetchLike {
  return async (input, init) => {
    const url = new URL(input);
    const r = await pool.request({
      path: `${url.pathname}${url.search}`,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? init.body : null,
    });
    const text = await r.body.text();
    return { ok: r.statusCode >= 200 && r.statusCode < 300, status: r.statusCode, text: async () => text } as Response;
  };
}

/**
 * The one-command platform (API + embedded worker on SQLite) at a steady publish rate: p50/p99
 * publish-to-delivered latency, then a ramp to the highest rate it sustains (publishes keep pace,
 * everything delivered, p99 under a second).
 */
export async function measureSteadyState(
  receiver: FastReceiver,
  options: { rate: number; seconds: number; log: (line: string) => void },
): Promise<Record<string, number | string | null>> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-steady-'));
  let pool: Pool | undefined;
  const api = await startApiProcess(join(dir, 'data'), {
    HERALD_ALLOW_HTTP: 'true',
    HERALD_ALLOW_CIDRS: '127.0.0.0/8',
    HERALD_RATE_LIMIT_PER_SECOND: '1000000',
  });
  try {
    const { demo } = api.credentials();
    // The typed client over an undici Pool rather than the global fetch: the load generator shares the two cores
    // with the API, and fetch's per-request objects cost it 30-60 ms young-generation collections at 1,000/s, which
    // delayed sends after their timestamps were taken and counted as pipeline latency.
    pool = new Pool(api.url, { connections: 32 });
    const client = createHeraldClient({
      baseUrl: api.url,
      apiKey: demo.apiKey,
      apiSecret: demo.apiSecret,
      fetch: poolFetch(pool),
    });
    await client.createWebHookChannel(demo.applicationId, {
      isActive: true,
      includeImageData: true,
      webHookUrl: receiver.url,
      retryCount: 5,
      exponentialBackoffFactor: 2,
      maxInFlight: 100,
    });
    // A warm-up at the same rate, not counted: the first seconds of a fresh process measure the JIT compiler,
    // connection set-up and a cold SQLite page cache, not the pipeline's steady state.
    const warmup = await runPhase(client, receiver, demo.applicationId, options.rate, WARMUP_SECONDS);
    options.log(
      `  warm-up (${WARMUP_SECONDS} s, not counted): ${warmup.publishedPerSecond} msg/s, ${warmup.delivered}/${warmup.published} delivered, p50 ${warmup.p50Ms} ms, p99 ${warmup.p99Ms} ms`,
    );
    const steady = await runPhase(client, receiver, demo.applicationId, options.rate, options.seconds);
    options.log(
      `  ${steady.publishedPerSecond} msg/s published (${steady.failed} refused${steady.firstError ? `: ${steady.firstError}` : ''}), ${steady.delivered}/${steady.published} delivered, p50 ${steady.p50Ms} ms, p99 ${steady.p99Ms} ms`,
    );
    let highest = 0;
    for (const rate of [100, 250, 500, 1_000, 2_000, 4_000, 8_000]) {
      const phase = await runPhase(client, receiver, demo.applicationId, rate, 5);
      const sustained =
        phase.publishedPerSecond >= rate * 0.95 && phase.missing === 0 && phase.failed === 0 && phase.p99Ms < 1_000;
      options.log(
        `  ramp ${rate}/s: published ${phase.publishedPerSecond}/s, delivered ${phase.delivered}/${phase.published}, p99 ${phase.p99Ms} ms → ${sustained ? 'sustained' : 'not sustained'}`,
      );
      if (!sustained) break;
      highest = rate;
    }
    return {
      steadyRate: options.rate,
      steadySeconds: options.seconds,
      steadyPublishedPerSecond: steady.publishedPerSecond,
      steadyDelivered: steady.delivered,
      steadyPublished: steady.published,
      steadyP50Ms: steady.p50Ms,
      steadyP99Ms: steady.p99Ms,
      warmupP99Ms: warmup.p99Ms,
      highestSustainedRate: highest,
    };
  } finally {
    await pool?.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
