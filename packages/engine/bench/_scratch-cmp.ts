import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createKeyring, createStore } from '@herald/store';
const path = join(mkdtempSync(join(tmpdir(), 'prof-')), 'h.db');
const keyring = createKeyring({ current: { id: 'b', key: randomBytes(32) } });
const store = await createStore({ url: `sqlite:${path}`, keyring });
const app = await store.createApplication({ name: 'x' });
const ch = await store.createChannel({ applicationId: app.id, kind: 0, isActive: true, includeImageData: true, config: { webHookUrl: 'https://r.invalid/h', retryCount: 3, exponentialBackoffFactor: 2 }, secrets: { secretHeaderValue: 'abc' } });
const txt = JSON.stringify({ a: 'x'.repeat(300) }); const h = createHash('sha256').update(txt).digest('hex');
const plan = (cs: { id: string }[]) => cs.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null }));
const db = new DatabaseSync(path, { timeout: 5000 });
db.exec('PRAGMA journal_mode = WAL'); db.exec('PRAGMA synchronous = NORMAL'); db.exec('PRAGMA foreign_keys = ON');
const im = db.prepare(`INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash, created_at) VALUES (?, ?, 'ImageGenerationProgress', ?, NULL, NULL, NULL, ?, ?)`);
const idl = db.prepare(`INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`);
const N = 1000;
for (let r = 0; r < 4; r++) {
  let t = performance.now();
  for (let i = 0; i < N; i++) await store.publish({ applicationId: app.id, type: 'ImageGenerationProgress', body: txt, bodyHash: h }, plan, Date.now());
  const s = ((performance.now() - t) * 1000) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) { const now = Date.now(); const id = randomUUID(); db.exec('BEGIN IMMEDIATE'); im.run(id, app.id, txt, h, now); idl.run(randomUUID(), id, app.id, ch.id, now, now, now); db.exec('COMMIT'); }
  const b = ((performance.now() - t) * 1000) / N;
  console.log(`store ${s.toFixed(0)} µs, bare ${b.toFixed(0)} µs`);
}
