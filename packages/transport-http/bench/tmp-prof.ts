import dc from 'node:diagnostics_channel'; let conns = 0; dc.subscribe('undici:client:connected', () => { conns++; });
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestPki } from '@herald/testing';
import { createWebhookClient } from '@herald/transport-http';
const pki = await createTestPki();
const receiver = fork(fileURLToPath(new URL('./receiver.ts', import.meta.url)), [], { stdio: 'inherit' });
const ports = await new Promise<{ tls: number; mtls: number }>((resolve) => {
  receiver.once('message', (m) => resolve(m as { tls: number; mtls: number }));
  receiver.send({ ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key });
});
const c = createWebhookClient({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] }) });
const url = `https://127.0.0.1:${ports.tls}/hooks`;
let next = 0; const t0 = performance.now();
await Promise.all(Array.from({ length: 32 }, async () => { while (next < 10000) { next++; const o = await c.deliver({ url, body: '{}', tls: { ca: pki.ca.cert } }); if (!o.ok) throw new Error(o.code); } }));
console.log((10000 * 1000) / (performance.now() - t0), "connections", conns);
await c.close(); receiver.disconnect();
