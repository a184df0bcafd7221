// Webhook transport benchmark: client.deliver (signatures on) vs a bare undici request loop, same
// receiver, same concurrency, same run. Loopback only; bounded in rounds, requests and time.
import { fork } from 'node:child_process';
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createWebhookSigner } from '@herald/auth';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestPki } from '@herald/testing';
import { buildWebhookHeaders, createWebhookClient, type WebhookClient } from '@herald/transport-http';
import { Agent } from 'undici';

const ROUNDS = 7;
const REQUESTS = 1500;
const WARMUP = 500;
const CONCURRENCY = 32;
const BUDGET_MS = 100_000;

interface RunResult {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

type Send = (i: number) => Promise<boolean>;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function run(send: Send, count: number): Promise<RunResult> {
  const latencies = new Float64Array(count);
  let next = 0;
  let failures = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      if (!(await send(i))) failures++;
      latencies[i] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedMs = performance.now() - started;
  if (failures > 0) throw new Error(`${failures} of ${count} requests failed`);
  latencies.sort();
  return {
    perSecond: (count * 1000) / elapsedMs,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

const pki = await createTestPki();
const receiver = fork(fileURLToPath(new URL('./receiver.ts', import.meta.url)), [], { stdio: 'inherit' });
const ports = await new Promise<{ tls: number; mtls: number }>((resolve, reject) => {
  receiver.once('message', (m) => resolve(m as { tls: number; mtls: number }));
  receiver.once('error', reject);
  receiver.send({ ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key });
});

const url = `https://127.0.0.1:${ports.tls}/hooks`;
const mtlsUrl = `https://127.0.0.1:${ports.mtls}/hooks`;
const body = JSON.stringify({ type: 'image.checked', data: { imageId: 'img_123', verdict: 'clean', score: 0.02 } });
const secretBytes = randomBytes(32);
const signer = createWebhookSigner({ secrets: [`whsec_${secretBytes.toString('base64')}`] });
const nowSeconds = Math.floor(Date.now() / 1000);

const bare = new Agent({ connect: { ca: pki.ca.cert }, connections: CONCURRENCY });
const staticHeaders = {
  accept: 'application/json',
  'content-type': 'application/json',
  'user-agent': 'bench',
  ...buildWebhookHeaders({ messageId: 'msg_static' }),
};
const sendBare: Send = async () => {
  const res = await bare.request({
    origin: new URL(url).origin,
    path: '/hooks',
    method: 'POST',
    headers: staticHeaders,
    body,
  });
  await res.body.dump();
  return res.statusCode === 200;
};

function heraldSender(
  client: WebhookClient,
  target: string,
  tls: { ca: string; cert?: string; key?: string },
  signed = true,
): Send {
  return async (i) => {
    const id = `msg_${i}`;
    const headers = {
      ...buildWebhookHeaders({ messageId: id, correlationId: `c_${i}` }),
      ...(signed ? signer.sign({ id, timestampSeconds: nowSeconds, body }) : {}),
    };
    const outcome = await client.deliver({ url: target, body, headers, tls });
    return outcome.ok;
  };
}

const cidrClient = createWebhookClient({
  policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] }),
  connectionsPerOrigin: CONCURRENCY,
});
const openClient = createWebhookClient({
  policy: createDestinationPolicy({ allowAll: true }),
  connectionsPerOrigin: CONCURRENCY,
});

const scenarios: Record<string, Send> = {
  bareUndici: sendBare,
  herald: heraldSender(cidrClient, url, { ca: pki.ca.cert }),
  heraldUnsigned: heraldSender(cidrClient, url, { ca: pki.ca.cert }, false),
  heraldAllowAll: heraldSender(openClient, url, { ca: pki.ca.cert }),
  heraldMtls: heraldSender(cidrClient, mtlsUrl, { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key }),
};

const names = Object.keys(scenarios);
const results: Record<string, RunResult[]> = Object.fromEntries(names.map((k) => [k, []]));
const ratios = { vsBare: [] as number[], unsignedVsBare: [] as number[], guard: [] as number[], mtls: [] as number[] };
const benchStart = performance.now();
for (const send of Object.values(scenarios)) await run(send, WARMUP);
let rounds = 0;
for (let r = 0; r < ROUNDS && performance.now() - benchStart < BUDGET_MS; r++) {
  // Order rotates every round and ratios are taken within a round, so load from other processes on
  // a shared machine weighs on every scenario alike.
  const round: Record<string, RunResult> = {};
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + r) % names.length] as string;
    const result = await run(scenarios[name] as Send, REQUESTS);
    round[name] = result;
    results[name]?.push(result);
  }
  const rate = (n: string): number => (round[n] as RunResult).perSecond;
  ratios.vsBare.push(rate('herald') / rate('bareUndici'));
  ratios.unsignedVsBare.push(rate('heraldUnsigned') / rate('bareUndici'));
  ratios.guard.push(rate('herald') / rate('heraldAllowAll'));
  ratios.mtls.push(rate('heraldMtls') / rate('herald'));
  rounds++;
}

await Promise.all([cidrClient.close(), openClient.close(), bare.close()]);

// Signing alone, no network: the signer against one HMAC over the same content with a KeyObject.
const SIGNS = 20_000;
const secretKey = createSecretKey(secretBytes);
const signUs = { signer: [] as number[], keyObjectHmac: [] as number[] };
for (let r = 0; r < 5; r++) {
  let t0 = performance.now();
  for (let i = 0; i < SIGNS; i++) signer.sign({ id: `msg_${i}`, timestampSeconds: nowSeconds, body });
  signUs.signer.push(((performance.now() - t0) * 1000) / SIGNS);
  t0 = performance.now();
  for (let i = 0; i < SIGNS; i++)
    createHmac('sha256', secretKey).update(`msg_${i}.${nowSeconds}.${body}`).digest('base64');
  signUs.keyObjectHmac.push(((performance.now() - t0) * 1000) / SIGNS);
}
const signerUs = median(signUs.signer);
const keyObjectHmacUs = median(signUs.keyObjectHmac);
receiver.disconnect();

const summary: Record<string, { perSecond: number; p50Ms: number; p99Ms: number }> = {};
for (const [name, runs] of Object.entries(results)) {
  summary[name] = {
    perSecond: Math.round(median(runs.map((x) => x.perSecond))),
    p50Ms: Number(median(runs.map((x) => x.p50Ms)).toFixed(3)),
    p99Ms: Number(median(runs.map((x) => x.p99Ms)).toFixed(3)),
  };
}
const ratioVsBare = median(ratios.vsBare);
const unsignedRatioVsBare = median(ratios.unsignedVsBare);
const ssrfGuardCostPct = (1 - median(ratios.guard)) * 100;
const mtlsCostPct = (1 - median(ratios.mtls)) * 100;

console.log(
  `webhook transport, ${rounds} rounds x ${REQUESTS} POSTs, concurrency ${CONCURRENCY}, HTTPS on loopback (medians)`,
);
for (const [name, s] of Object.entries(summary)) {
  console.log(
    `  ${name.padEnd(16)} ${String(s.perSecond).padStart(7)} deliveries/s  p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms`,
  );
}
console.log(`  herald / bare undici (median of per-round ratios): ${(ratioVsBare * 100).toFixed(1)} % (goal >= 90 %)`);
console.log(`  herald without signatures / bare undici: ${(unsignedRatioVsBare * 100).toFixed(1)} %`);
console.log(
  `  signing per message: createWebhookSigner ${signerUs.toFixed(1)} µs, HMAC with a KeyObject ${keyObjectHmacUs.toFixed(1)} µs`,
);
console.log(`  SSRF guard cost (allow-127 CIDR vs allowAll): ${ssrfGuardCostPct.toFixed(1)} %`);
console.log(`  mTLS cost (client certificate vs none): ${mtlsCostPct.toFixed(1)} %`);
console.log(
  JSON.stringify({
    bench: 'transport-http.deliver',
    rounds,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    ...summary,
    ratioVsBareUndici: Number(ratioVsBare.toFixed(3)),
    unsignedRatioVsBareUndici: Number(unsignedRatioVsBare.toFixed(3)),
    signerUs: Number(signerUs.toFixed(1)),
    keyObjectHmacUs: Number(keyObjectHmacUs.toFixed(1)),
    ssrfGuardCostPct: Number(ssrfGuardCostPct.toFixed(1)),
    mtlsCostPct: Number(mtlsCostPct.toFixed(1)),
  }),
);
