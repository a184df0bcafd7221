import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestPki } from '@herald/testing';
import { buildWebhookHeaders, createWebhookClient } from '@herald/transport-http';
import { Agent } from 'undici';
const pki = await createTestPki();
const receiver = fork(fileURLToPath(new URL('./receiver.ts', import.meta.url)), [], { stdio: 'inherit' });
const ports = await new Promise<{ tls: number; mtls: number }>((resolve) => {
  receiver.once('message', (m) => resolve(m as { tls: number; mtls: number }));
  receiver.send({ ca: pki.ca.cert, cert: pki.server.cert, key: pki.server.key });
});
const url = `https://127.0.0.1:${ports.tls}/hooks`;
const origin = new URL(url).origin;
const body = JSON.stringify({ type: 'image.checked', data: { imageId: 'img_123', verdict: 'clean', score: 0.02 } });
const c = createWebhookClient({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] }) });
const bare = new Agent({ connect: { ca: pki.ca.cert }, connections: 32 });
const tlsOpt = { ca: pki.ca.cert };
const variants: Record<string, (i: number) => Promise<unknown>> = {
  bare: async () => {
    const r = await bare.request({
      origin,
      path: '/hooks',
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'x',
        ...buildWebhookHeaders({ messageId: 'm' }),
      },
    });
    await r.body.dump();
  },
  herald: async (i) =>
    c.deliver({
      url,
      body,
      tls: tlsOpt,
      headers: buildWebhookHeaders({ messageId: `msg_${i}`, correlationId: `c_${i}` }),
    }),
};
for (let round = 0; round < 4; round++)
  for (const [name, fn] of Object.entries(variants).filter(([n]) => n === (process.env.ONLY ?? n))) {
    let next = 0;
    const N = 5000;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          await fn(next++);
        }
      }),
    );
    const dt = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      name.padEnd(8),
      Math.round((N * 1000) / dt),
      'req/s',
      ((cpu.user + cpu.system) / N).toFixed(1),
      'cpu µs/req',
    );
  }
await c.close();
await bare.close();
receiver.disconnect();
