import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, deliveredOutcome } from '@herald/engine';
import { createKeyring, createStore } from '@herald/store';
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const store = await createStore({ url: `sqlite:${join(dir, 'h.db')}`, keyring: createKeyring({ current: { id: 'b', key: randomBytes(32) } }) });
const app = await store.createApplication({ name: 'x' });
await store.createChannel({ applicationId: app.id, kind: 0, isActive: true, includeImageData: true, config: { webHookUrl: 'https://x.invalid/', retryCount: 3, exponentialBackoffFactor: 2 } });
const engine = createEngine({ store, transports: { webhook: { deliver: async () => deliveredOutcome() } }, batchSize: 64, concurrency: 64, maxInFlightPerChannel: 10000, retention: null });
const body = (i: number) => ({ MessageType: 'ImageGenerationProgress', RequestRenderState: 'InProgress', ApplicationId: app.id, UserId: '0b0d6f1e-5b8e-4d0c-9d5c-1c1f0e9f1a11', ImageRenderProcessId: randomUUID(), TotalTaskCount: 4, CompletedTaskCount: 1, Progress: i % 100, Tasks: { '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d': 'InProgress' }, RenderKind: 1, RenderType: 2, IsSuccessful: true, ErrorMessage: '' });
const N = Number(process.env.N ?? 5000);
for (let r = 0; r < 3; r++) {
const bodies = Array.from({ length: N }, (_, i) => body(i));
let t = performance.now();
for (const b of bodies) await engine.publish({ applicationId: app.id, body: b });
const pub = performance.now() - t;
t = performance.now();
let n = 0; for (;;) { const k = await engine.runOnce(); if (!k) break; n += k; }
console.log('publish', pub.toFixed(0), 'drain', n, (performance.now() - t).toFixed(0), 'ms');
}
