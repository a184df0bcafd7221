// Publish throughput through the real HTTP API (SQLite, two active channels, worker off) against a
// bare hono endpoint that only parses the same JSON, with the same client loop, in the same run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { generateWebhookSecret } from '@herald/auth';
import { createEngine } from '@herald/engine';
import { createDestinationPolicy } from '@herald/ssrf';
import { createStore, generateKeyringSpec, parseKeyring } from '@herald/store';
import { closeServer } from '@herald/testing';
import { Hono } from 'hono';
import { Pool } from 'undici';
import { createApp } from '../src/app.ts';
import { createLogger } from '../src/logger.ts';
import { createRateLimiter } from '../src/rate-limiter.ts';
import { createCredentialService, createTokenService } from '../src/services.ts';

const ROUNDS = 7;
const ROUND_MS = 3000;
const MAX_REQUESTS_PER_ROUND = 200_000;
const CONCURRENCY = 32;
const WARMUP_REQUESTS = 2000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function listen(
  fetchHandler: (req: Request) => Response | Promise<Response>,
): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: fetchHandler, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({ server, origin: `http://127.0.0.1:${info.port}` }),
    ) as Server;
  });
}

/** Sends `body` as fast as `CONCURRENCY` keep-alive connections allow, for `durationMs` or `maxRequests`. */
async function drive(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: string,
  durationMs: number,
  maxRequests: number,
) {
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (sent < maxRequests && performance.now() < deadline) {
      sent++;
      const res = await pool.request({ path, method: 'POST', headers, body });
      await res.body.dump();
      if (res.statusCode !== 202) failed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { requests: sent, failed, perSecond: sent / seconds };
}

const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
const store = await createStore({
  url: `sqlite:${join(dataDir, 'herald.db')}`,
  keyring: parseKeyring(generateKeyringSpec()),
});
const engine = createEngine({ store, transports: {}, retention: null }); // never started: publish only
const credentials = createCredentialService();
const tokens = createTokenService({ secret: randomBytes(32).toString('base64url'), ttlSeconds: 3600 });
const application = await store.createApplication({ name: 'bench' });
const fresh = credentials.generate();
await store.createApiKey({
  applicationId: application.id,
  role: 'application',
  key: fresh.key,
  secretHash: await credentials.hash(fresh.secret),
});
for (const n of [1, 2]) {
  await store.createChannel({
    applicationId: application.id,
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: { webHookUrl: `https://receiver-${n}.example.org/hook`, retryCount: 3, exponentialBackoffFactor: 2 },
  });
}
const app = createApp({
  store,
  engine,
  tokens,
  credentials,
  destinationPolicy: createDestinationPolicy(),
  allowHttp: false,
  logger: createLogger({ level: 'silent' }),
  generateSigningSecret: () => generateWebhookSecret(),
  rateLimiter: createRateLimiter({ perSecond: 10_000_000 }),
});
const bare = new Hono();
bare.post('/api/v1/herald/messages', async (c) => {
  await c.req.json();
  return c.json({ ok: true }, 202);
});

// A 1 KB ImageGenerationTaskCompleted message.
const message = {
  MessageType: 'ImageGenerationTaskCompleted',
  ApplicationId: application.id,
  UserId: '11111111-2222-4333-8444-555555555555',
  ImageRenderProcessId: '22222222-3333-4444-8555-666666666666',
  TaskId: '33333333-4444-4555-8666-777777777777',
  ImageContentBytes: '',
  IsSuccessful: true,
  ErrorMessage: '',
};
const base = JSON.stringify(message).length;
message.ImageContentBytes = Buffer.alloc(Math.floor(((1024 - base) * 3) / 4)).toString('base64');
const body = JSON.stringify(message);

const token = await tokens.issue({ applicationId: application.id, role: 'application' });
const headers = {
  'content-type': 'application/json',
  authorization: `Bearer ${token}`,
  'x-api-key': fresh.key,
  'x-api-secret': fresh.secret,
};

const herald = await listen(app.fetch);
const baseline = await listen(bare.fetch);
const heraldPool = new Pool(herald.origin, { connections: CONCURRENCY, pipelining: 1 });
const bmin = new Pool(baseline.origin, { connections: CONCURRENCY, pipelining: 1 });
const PATH = '/api/v1/herald/messages';

try {
  await drive(heraldPool, PATH, headers, body, 10_000, WARMUP_REQUESTS);
  await drive(bmin, PATH, headers, body, 10_000, WARMUP_REQUESTS);
  const heraldRates: number[] = [];
  const bareRates: number[] = [];
  let failures = 0;
  const pairedRatios: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Paired rounds, the order alternating: the machine's load drifts, so each herald round is compared with
    // the bare round right beside it.
    const bareFirst = round % 2 === 1;
    const first = await drive(bareFirst ? bmin : heraldPool, PATH, headers, body, ROUND_MS, MAX_REQUESTS_PER_ROUND);
    const second = await drive(bareFirst ? heraldPool : bmin, PATH, headers, body, ROUND_MS, MAX_REQUESTS_PER_ROUND);
    const b = bareFirst ? first : second;
    const h = bareFirst ? second : first;
    failures += b.failed + h.failed;
    bareRates.push(b.perSecond);
    heraldRates.push(h.perSecond);
    pairedRatios.push(h.perSecond / b.perSecond);
    console.log(
      `round ${round}: herald publish ${h.perSecond.toFixed(0)} req/s (${h.requests} requests), bare hono parse ${b.perSecond.toFixed(0)} req/s (${b.requests} requests), ratio ${((100 * h.perSecond) / b.perSecond).toFixed(1)} %`,
    );
  }
  const heraldMedian = median(heraldRates);
  const bareMedian = median(bareRates);
  const ratio = median(pairedRatios);
  console.log(
    `median: herald ${heraldMedian.toFixed(0)} req/s, bare ${bareMedian.toFixed(0)} req/s; ratio (median of the paired rounds) ${(ratio * 100).toFixed(1)} % (goal >= 50 %), ratio of the medians ${((100 * heraldMedian) / bareMedian).toFixed(1)} %`,
  );
  console.log(
    `message ${body.length} bytes, 2 active channels, SQLite, concurrency ${CONCURRENCY}, ${ROUNDS} rounds of ${ROUND_MS} ms; failed requests: ${failures}`,
  );
  console.log(
    JSON.stringify({
      bench: 'api-publish',
      store: 'sqlite',
      messageBytes: body.length,
      activeChannels: 2,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      heraldPublishPerSecondMedian: Math.round(heraldMedian),
      bareHonoParsePerSecondMedian: Math.round(bareMedian),
      ratio: Math.round(ratio * 1000) / 1000,
      ratioOfMedians: Math.round((heraldMedian / bareMedian) * 1000) / 1000,
      failedRequests: failures,
    }),
  );
} finally {
  await heraldPool.close();
  await bmin.close();
  await closeServer(herald.server);
  await closeServer(baseline.server);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
