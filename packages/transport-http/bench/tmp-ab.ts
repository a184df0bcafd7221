import { fork } from 'node:child_process';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestPki } from '@herald/testing';
import { Agent, buildConnector } from 'undici';
const pki = await createTestPki();
const receiver = fork(fileURLToPath(new URL('./receiver.ts', import.meta.url)), [], { stdio: 'inherit' });
const ports = await new Promise<{ tls: number; mtls: number }>((resolve) => {
  receiver.once('message', (m) => resolve(m as { tls: number; mtls: number }));
  receiver.send({ ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key });
});
const origin = `https://127.0.0.1:${ports.tls}`;
const policy = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
const sc = tls.createSecureContext({ minVersion: 'TLSv1.2', ca: [...tls.rootCertificates, pki.ca.cert] });
const mk = (variant: string) => {
  if (variant === 'plain') return new Agent({ connect: { ca: pki.ca.cert }, connections: 32 });
  return new Agent({ connect: buildConnector({ secureContext: sc, lookup: policy.lookup, allowH2: false }), connections: 32, headersTimeout: 0, bodyTimeout: 0, allowH2: false, keepAliveTimeout: 4000 });
};
async function run(agent: Agent, signal: boolean, iter: boolean) {
  let next = 0; const t0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => { while (next < 4000) { next++;
    const res = await agent.request({ origin, path: '/', method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, ...(signal ? { signal: AbortSignal.timeout(10000) } : {}) });
    if (iter) { for await (const _c of res.body) {} } else await res.body.dump();
  } }));
  return Math.round(4000 * 1000 / (performance.now() - t0));
}
for (let r = 0; r < 3; r++) {
  const out: Record<string, number> = {};
  for (const v of ['plain', 'mine']) for (const s of [false, true]) for (const it of [false, true]) {
    const a = mk(v); await run(a, s, it); out[`${v}${s ? '+signal' : ''}${it ? '+iter' : ''}`] = await run(a, s, it); await a.close();
  }
  console.log(JSON.stringify(out));
}
receiver.disconnect();
