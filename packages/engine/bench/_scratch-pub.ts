import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyring, createStore } from '@herald/store';
const url = process.env.URL ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'prof-')), 'h.db')}`;
const keyring = createKeyring({ current: { id: 'b', key: randomBytes(32) } });
const store = await createStore({ url, keyring });
const app = await store.createApplication({ name: 'x' });
await store.createChannel({ applicationId: app.id, kind: 0, isActive: true, includeImageData: true, config: { webHookUrl: 'https://r.invalid/h', retryCount: 3, exponentialBackoffFactor: 2 }, secrets: { secretHeaderValue: 'abc' } });
const txt = JSON.stringify({ a: 'x'.repeat(300) }); const h = createHash('sha256').update(txt).digest('hex');
const plan = (cs: { id: string }[]) => cs.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null }));
const N = Number(process.env.N ?? 3000);
for (let r = 0; r < 3; r++) {
const t = performance.now();
for (let i = 0; i < N; i++) await store.publish({ applicationId: app.id, type: 'ImageGenerationProgress', body: txt, bodyHash: h }, plan, Date.now());
console.log('store.publish', (((performance.now() - t) * 1000) / N).toFixed(1), 'µs/op');
}
await store.close();
