import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, deliveredOutcome } from '@herald/engine';
import { createKeyring, createStore } from '@herald/store';
const url = process.env.URL ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'prof-')), 'h.db')}`;
const keyring = createKeyring({ current: { id: 'b', key: randomBytes(32) } });
const store = await createStore({ url, keyring });
const app = await store.createApplication({ name: 'x' });
await store.createChannel({ applicationId: app.id, kind: 0, isActive: true, includeImageData: true, config: { webHookUrl: 'https://r.invalid/h', retryCount: 3, exponentialBackoffFactor: 2 }, secrets: { secretHeaderValue: 'abc' } });
const body = (i: number) => ({ MessageType: 'ImageGenerationProgress', RequestRenderState: 'InProgress', ApplicationId: app.id, UserId: '0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11', ImageRenderProcessId: randomUUID(), TotalTaskCount: 4, CompletedTaskCount: 1, Progress: i % 100, Tasks: { '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d': 'InProgress' }, RenderKind: 1, RenderType: 2, IsSuccessful: true, ErrorMessage: '' });
const N = Number(process.env.N ?? 3000);
const engine = createEngine({ store, transports: { webhook: { deliver: async () => deliveredOutcome() } }, retention: null, batchSize: 64, concurrency: 64, maxInFlightPerChannel: 10000 });
for (let r = 0; r < 3; r++) {
  const bodies = Array.from({ length: N }, (_, i) => body(i));
  let t = performance.now();
  for (let i = 0; i < N; i++) await engine.publish({ applicationId: app.id, body: bodies[i] });
  const p = ((performance.now() - t) * 1000) / N;
  t = performance.now(); const n = await engine.drain({ timeoutMs: 600000 });
  console.log(`publish ${p.toFixed(0)} µs, drain ${(((performance.now() - t) * 1000) / n).toFixed(0)} µs/delivery`);
}
await store.close();
