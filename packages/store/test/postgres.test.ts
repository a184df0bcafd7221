import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPostgresStore, createStore, type Store } from '@herald/store';
import { createTestSchema, type TestDatabase } from '@herald/testing';
import pg from 'pg';
import {
  type ContractDatabase,
  claimOptions,
  keyringA,
  newAttempt,
  newMessage,
  planAll,
  type RawRow,
  runStoreContract,
  seedApplication,
} from './contract.ts';

async function createSchemaDatabase(): Promise<ContractDatabase & { url: string }> {
  const schema: TestDatabase = await createTestSchema('herald_store');
  let raw: pg.Client | undefined;
  return {
    url: schema.url,
    open: (keyring, clock) =>
      createPostgresStore({ url: schema.url, keyring, poolSize: 4, ...(clock === undefined ? {} : { clock }) }),
    async sql(text) {
      if (raw === undefined) {
        raw = new pg.Client({ connectionString: schema.url });
        await raw.connect();
      }
      return (await raw.query(text)).rows as RawRow[];
    },
    async cleanup() {
      await raw?.end();
      await schema.drop();
    },
  };
}

runStoreContract('postgres', createSchemaDatabase);

const T0 = 1_700_000_000_000;

describe('postgres adapter', () => {
  it('two processes migrating one empty database at once both succeed and apply each migration once', async () => {
    const db = await createSchemaDatabase();
    const stores: Store[] = [];
    try {
      stores.push(
        ...(await Promise.all([
          createStore({ url: db.url, keyring: keyringA }),
          createStore({ url: db.url, keyring: keyringA }),
          createStore({ url: db.url, keyring: keyringA }),
        ])),
      );
      assert.deepEqual(
        (await db.sql('SELECT version FROM schema_migrations')).map((r) => r['version']),
        [1],
      );
      assert.equal(stores[0]?.kind, 'postgres');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.cleanup();
    }
  });

  it('20 concurrent publishes with one idempotency key store one message', async () => {
    const db = await createSchemaDatabase();
    const store = await createPostgresStore({ url: db.url, keyring: keyringA, poolSize: 20 });
    try {
      const { application } = await seedApplication(store);
      const message = newMessage(application.id, { race: true }, { idempotencyKey: 'same-key' });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.publish(message, planAll, T0)));
      const ids = new Set(results.map((r) => (r.ok ? r.message.id : `not ok: ${r.reason}`)));
      assert.equal(ids.size, 1, `expected one message, got ${[...ids].join(', ')}`);
      assert.equal(results.filter((r) => r.ok && !r.duplicate).length, 1);
      assert.equal((await store.listMessages(application.id, {}, {})).items.length, 1);
      assert.equal((await store.countDeliveriesByState()).pending, 1);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('four concurrent claimers over 2,000 deliveries never hold the same delivery and claim each exactly once', async () => {
    const db = await createSchemaDatabase();
    const stores: Store[] = [];
    try {
      for (let i = 0; i < 4; i++) stores.push(await db.open(keyringA));
      const [first] = stores;
      const { application } = await seedApplication(first!);
      await first!.createChannel({
        applicationId: application.id,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: { webHookUrl: 'https://example.test/2', retryCount: 1, exponentialBackoffFactor: 2 },
      });
      for (let batch = 0; batch < 50; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => first!.publish(newMessage(application.id, { batch, i }), planAll, T0)),
        );
      }
      assert.equal((await first!.countDeliveriesByState()).pending, 2000);

      const claimedBy = stores.map(() => [] as string[]);
      const deadline = Date.now() + 90_000;
      await Promise.all(
        stores.map(async (store, w) => {
          const owner = `worker-${w}`;
          for (let round = 0; round < 2000 && Date.now() < deadline; round++) {
            const claimed = await store.claimDueDeliveries(
              claimOptions(T0 + 1, { owner, limit: 25, leaseMs: 600_000, maxInFlightPerChannel: 10_000 }),
            );
            if (claimed.length === 0) break;
            claimedBy[w]!.push(...claimed.map((c) => c.delivery.id));
            const recorded = await store.recordAttempts(
              claimed.map((c) => ({
                deliveryId: c.delivery.id,
                owner,
                attempt: newAttempt(c.delivery.id, T0 + 2, true),
                resolution: { state: 'delivered' as const },
              })),
              T0 + 3,
            );
            assert.ok(recorded.every(Boolean), 'a claimer lost a lease it had just taken');
          }
        }),
      );
      const all = claimedBy.flat();
      assert.equal(all.length, 2000, `claims: ${claimedBy.map((c) => c.length).join(' + ')}`);
      assert.equal(new Set(all).size, 2000, 'a delivery was claimed twice');
      assert.ok(claimedBy.filter((c) => c.length > 0).length >= 2, 'the work was not shared between claimers');
      const counts = await first!.countDeliveriesByState();
      assert.equal(counts.delivered, 2000);
      assert.equal(Number((await db.sql('SELECT count(*) AS n FROM attempts'))[0]?.['n']), 2000);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.cleanup();
    }
  });

  it('frees a delivery left flagged as waiting although nothing is before it (sweep of stale ordering flags)', async () => {
    const db = await createSchemaDatabase();
    const store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store, { orderingKey: 'ImageId' });
      const r = await store.publish(
        newMessage(application.id),
        (channels) => channels.map((c) => ({ channelId: c.id, orderingKey: 'img', coalesceKey: null })),
        T0,
      );
      assert.equal(r.ok, true);
      // The state a publish racing with its predecessor's last attempt can leave behind.
      await db.sql('UPDATE deliveries SET blocked = true');
      const claimed = await store.claimDueDeliveries(claimOptions(T0 + 1));
      assert.equal(claimed.length, 1);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('wakes listeners of another store (process) through LISTEN/NOTIFY when work is published', async () => {
    const db = await createSchemaDatabase();
    const publisher = await db.open(keyringA);
    const worker = await db.open(keyringA);
    try {
      const { application } = await seedApplication(publisher);
      let calls = 0;
      let onCall: () => void = () => {};
      worker.onNewWork(() => {
        calls += 1;
        onCall();
      });
      const nextCall = (deadlineMs: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), deadlineMs);
          onCall = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
      // The listener wakes once when its LISTEN is in place.
      assert.equal(await nextCall(10_000), true, 'listener never connected');
      const before = calls;
      const woken = nextCall(10_000);
      await publisher.publish(newMessage(application.id), planAll, T0);
      assert.equal(await woken, true, 'no notification within 10 s of a publish');
      assert.ok(calls > before);
    } finally {
      await publisher.close();
      await worker.close();
      await db.cleanup();
    }
  });
});
