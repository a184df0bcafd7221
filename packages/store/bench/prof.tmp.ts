import { createPostgresStore, parseKeyring } from '@herald/store';
import { createTestSchema } from '@herald/testing';
const keyring = parseKeyring(`bench:${Buffer.alloc(32, 7).toString('base64')}`);
const schema = await createTestSchema();
const store = await createPostgresStore({ url: schema.url, keyring, poolSize: 4 });
const app = await store.createApplication({ name: 'b' });
await store.createChannel({ applicationId: app.id, kind: 0, isActive: true, includeImageData: true, config: { webHookUrl: 'x', retryCount: 1, exponentialBackoffFactor: 1 }, secrets: { secretHeaderValue: 's' } });
const N = 500;
let t = performance.now();
for (let i = 0; i < N; i++) await store.publish({ applicationId: app.id, type: 't', body: '{}', bodyHash: 'h' + i }, (cs) => cs.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null })), i);
console.log('publish/s', N / ((performance.now() - t) / 1000));
t = performance.now();
let claimMs = 0, recMs = 0, done = 0;
while (done < N) {
  const t1 = performance.now();
  const c = await store.claimDueDeliveries({ owner: 'b', limit: 100, leaseMs: 600000, now: N, maxInFlightPerChannel: 100 });
  claimMs += performance.now() - t1;
  const t2 = performance.now();
  await store.recordAttempts(c.map((x) => ({ deliveryId: x.delivery.id, owner: 'b', attempt: { deliveryId: x.delivery.id, startedAt: N, durationMs: 1, ok: true, outcome: 'delivered', statusCode: 200, brokerReply: null, error: null, responseExcerpt: null }, resolution: { state: 'delivered' as const } })), N);
  recMs += performance.now() - t2;
  done += c.length;
}
console.log('claim+record/s', N / ((performance.now() - t) / 1000), 'claimMs', claimMs.toFixed(0), 'recMs', recMs.toFixed(0));
await store.close(); await schema.drop();
