import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Channel,
  createPostgresStore,
  createStore,
  type RecordAttemptInput,
  type Store,
  StoreConfigError,
} from '@herald/store';
import { createTestDatabase, createTestSchema, type TestDatabase } from '@herald/testing';
import pg from 'pg';
import {
  CLAIM_BODY_BUDGET_FOR_TESTS,
  type ContractDatabase,
  claimOptions,
  claimsWithinBodyBudget,
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

/** Polls `check` until true (bounded). */
async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('postgres adapter', () => {
  /** A store with the tests' small claim byte budget in a schema of its own, and a raw client on that schema. */
  async function withBudgetStore(fn: (store: Store, raw: pg.Client) => Promise<void>): Promise<void> {
    const schema = await createTestSchema('herald_store');
    const store = await createPostgresStore({
      url: schema.url,
      keyring: keyringA,
      poolSize: 2,
      claimBodyBudgetBytes: CLAIM_BODY_BUDGET_FOR_TESTS,
    });
    const raw = new pg.Client({ connectionString: schema.url });
    try {
      await raw.connect();
      await fn(store, raw);
    } finally {
      await raw.end().catch(() => {});
      await store.close();
      await schema.drop();
    }
  }

  it("takes message bodies up to a claim's byte budget, and at least one delivery", async () => {
    await withBudgetStore((store, raw) =>
      claimsWithinBodyBudget(store, async () => {
        // Publish writes each body's size on its delivery (migration 6) and its queue row (migration 7), which the
        // claim's budget reads.
        const { rows } = await raw.query(
          `SELECT d.body_bytes, q.body_bytes AS queued_bytes, octet_length(m.body) AS size
           FROM deliveries d JOIN messages m ON m.id = d.message_id JOIN delivery_queue q ON q.delivery_id = d.id`,
        );
        assert.ok(rows.length > 0);
        for (const r of rows) {
          assert.equal(r.body_bytes, r.size);
          assert.equal(r.queued_bytes, r.size);
        }
      }),
    );
  });

  it('keeps the byte budget for deliveries published before their body size was stored (migration 6)', async () => {
    await withBudgetStore(async (store, raw) => {
      // Every other row as an older version wrote it: no size, so the claim reads the message's.
      await claimsWithinBodyBudget(store, async () => {
        await raw.query('UPDATE delivery_queue SET body_bytes = NULL WHERE seq % 2 = 0');
      });
      // And with no size on any row.
      await raw.query('DELETE FROM messages');
      await claimsWithinBodyBudget(store, async () => {
        await raw.query('UPDATE delivery_queue SET body_bytes = NULL');
      });
    });
  });

  it('refuses a claim byte budget that is not a positive integer', async () => {
    for (const claimBodyBudgetBytes of [0, -1, 1.5]) {
      await assert.rejects(
        createPostgresStore({ url: 'postgres://127.0.0.1/none', keyring: keyringA, claimBodyBudgetBytes }),
        (e: unknown) => e instanceof StoreConfigError && e.code === 'STORE_OPTION_INVALID',
      );
    }
  });

  it('migration 5 upgrades a database with recorded attempts: they stay listed and prunable without the two indexes', async () => {
    const db = await createSchemaDatabase();
    let store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store);
      const published = await store.publish(newMessage(application.id), planAll, T0);
      assert.equal(published.ok, true);
      const [claimed] = await store.claimDueDeliveries(claimOptions(T0 + 1));
      assert.ok(claimed);
      // The database as version 4 left it: the attempts primary key and message index back, migration 5 not run.
      await store.close();
      await db.sql(`ALTER TABLE attempts ADD PRIMARY KEY (id)`);
      await db.sql(`CREATE INDEX attempts_message ON attempts (message_id)`);
      await db.sql(`DELETE FROM schema_migrations WHERE version = 5`);
      store = await db.open(keyringA);
      assert.ok(
        await store.recordAttempt(
          {
            deliveryId: claimed.delivery.id,
            owner: 'w1',
            attempt: newAttempt(claimed.delivery.id, T0 + 2, false),
            resolution: { state: 'pending', nextAttemptAt: T0 + 1000 },
          },
          T0 + 3,
        ),
      );
      const indexes = (
        await db.sql(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'attempts'`)
      ).map((r) => r['indexname']);
      assert.deepEqual([...indexes].sort(), ['attempts_application', 'attempts_delivery', 'attempts_started']);
      const listed = await store.listAttempts(application.id, { messageId: claimed.message.id }, {});
      assert.deepEqual(
        listed.items.map((a) => a.deliveryId),
        [claimed.delivery.id],
      );
      const pruned = await store.prune({ attemptsBefore: T0 + 10, messagesBefore: 0 });
      assert.equal(pruned.attempts, 1);
      assert.deepEqual((await store.listAttempts(application.id, {}, {})).items, []);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('migration 7 moves open deliveries into the queue: leases, retries, ordering flags and finished ones kept', async () => {
    const db = await createSchemaDatabase();
    let store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store);
      const keyed = (key: string) => (channels: Channel[]) =>
        channels.map((c) => ({ channelId: c.id, orderingKey: key, coalesceKey: null }));
      const published = [];
      for (let i = 0; i < 4; i++) published.push(await store.publish(newMessage(application.id, { i }), planAll, T0));
      const first = await store.publish(newMessage(application.id, { k: 1 }), keyed('img'), T0 + 1);
      const second = await store.publish(newMessage(application.id, { k: 2 }), keyed('img'), T0 + 2);
      const ids = [...published, first, second].map((r) => (r.ok ? r.deliveries[0]!.id : assert.fail('publish')));
      const [d0, d1, d2, , dFirst, dSecond] = ids;
      // d0 delivered, d1 dead, d2 leased by w1, d3 pending, dFirst pending, dSecond waiting behind dFirst.
      const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10, { limit: 3 }));
      assert.deepEqual(
        claimed.map((c) => c.delivery.id),
        [d0, d1, d2],
      );
      const done = (id: string, state: 'delivered' | 'dead') => ({
        deliveryId: id,
        owner: 'w1',
        attempt: newAttempt(id, T0 + 11, state === 'delivered'),
        resolution: { state },
      });
      assert.deepEqual(await store.recordAttempts([done(d0!, 'delivered'), done(d1!, 'dead')], T0 + 12), [true, true]);
      // The database as version 6 left it: no queue; deliveries carry the queue's columns and indexes.
      const flags = await db.sql('SELECT delivery_id, blocked FROM delivery_queue WHERE blocked');
      assert.deepEqual(
        flags.map((r) => r['delivery_id']),
        [dSecond],
      );
      await store.close();
      // Version 6 kept the lease and the ordering flag on the deliveries row.
      await db.sql(`UPDATE deliveries d SET state = q.state, lease_owner = q.lease_owner, leased_at = q.leased_at,
        lease_expires_at = q.next_attempt_at, next_attempt_at = q.next_attempt_at, blocked = q.blocked
        FROM delivery_queue q WHERE q.delivery_id = d.id`);
      assert.deepEqual(
        (await db.sql(`SELECT id FROM deliveries WHERE state = 'delivering'`)).map((r) => r['id']),
        [d2],
      );
      await db.sql('DROP VIEW delivery_view');
      await db.sql('DROP TRIGGER deliveries_delete_queue ON deliveries');
      await db.sql('DROP TABLE delivery_queue');
      await db.sql(`CREATE INDEX deliveries_channel_due ON deliveries (channel_id, next_attempt_at, seq)
        WHERE state IN ('pending', 'delivering') AND NOT blocked`);
      await db.sql('CREATE INDEX deliveries_blocked ON deliveries (seq) WHERE blocked');
      await db.sql(`CREATE INDEX deliveries_ordering ON deliveries (channel_id, ordering_key, seq)
        WHERE ordering_key IS NOT NULL AND state IN ('pending', 'delivering')`);
      await db.sql(
        `CREATE INDEX deliveries_leased ON deliveries (channel_id, next_attempt_at) WHERE state = 'delivering'`,
      );
      await db.sql('ALTER TABLE deliveries RESET (fillfactor)');
      await db.sql('DELETE FROM schema_migrations WHERE version = 7');
      store = await db.open(keyringA);

      const queued = await db.sql('SELECT delivery_id, state, lease_owner, blocked FROM delivery_queue ORDER BY seq');
      assert.deepEqual(
        queued.map((r) => [r['delivery_id'], r['state'], r['lease_owner'], r['blocked']]),
        [
          [d2, 'delivering', 'w1', false],
          [ids[3], 'pending', null, false],
          [dFirst, 'pending', null, false],
          [dSecond, 'pending', null, true],
        ],
      );
      const indexes = (
        await db.sql(
          `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'deliveries'`,
        )
      ).map((r) => r['indexname']);
      assert.deepEqual([...indexes].sort(), [
        'deliveries_application',
        'deliveries_channel',
        'deliveries_message',
        'deliveries_pkey',
      ]);
      const [options] = await db.sql(`SELECT reloptions FROM pg_class WHERE oid = 'deliveries'::regclass`);
      assert.deepEqual(options?.['reloptions'], ['fillfactor=50']);
      // The lease moved to the queue row; the delivery reads as before.
      const leased = await store.getDelivery(application.id, d2!);
      assert.deepEqual([leased?.state, leased?.leaseOwner, leased?.leaseExpiresAt], ['delivering', 'w1', T0 + 30_010]);
      assert.deepEqual(
        (await db.sql(`SELECT state, lease_owner FROM deliveries WHERE id = '${d2}'`)).map((r) => [
          r['state'],
          r['lease_owner'],
        ]),
        [['pending', null]],
      );

      // The lease carried over: its owner records the attempt; the others are claimed, the waiting one last.
      assert.deepEqual(await store.recordAttempts([done(d2!, 'delivered')], T0 + 13), [true]);
      const next = await store.claimDueDeliveries(claimOptions(T0 + 14, { owner: 'w2' }));
      assert.deepEqual(
        next.map((c) => c.delivery.id),
        [ids[3], dFirst],
      );
      assert.deepEqual(await store.recordAttempts([{ ...done(dFirst!, 'delivered'), owner: 'w2' }], T0 + 15), [true]);
      const last = await store.claimDueDeliveries(claimOptions(T0 + 16, { owner: 'w2' }));
      assert.deepEqual(
        last.map((c) => c.delivery.id),
        [dSecond],
      );
      const states = await store.countDeliveriesByState();
      assert.deepEqual([states.delivered, states.dead, states.delivering], [3, 1, 2]);
      // Finished deliveries stay finished: a redelivery puts one back in the queue.
      const again = await store.redeliver(application.id, d1!, T0 + 17);
      assert.equal(again?.state, 'pending');
      assert.deepEqual(
        (await store.claimDueDeliveries(claimOptions(T0 + 18, { owner: 'w3' }))).map((c) => c.delivery.id),
        [d1],
      );
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('a claim writes the queue row only; the attempt record rewrites the delivery and takes it out of the queue', async () => {
    const db = await createSchemaDatabase();
    const store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store);
      const published = await store.publish(newMessage(application.id), planAll, T0);
      const id = published.ok ? published.deliveries[0]!.id : assert.fail('publish');
      const version = async (table: string, column: string) =>
        (await db.sql(`SELECT xmin::text AS v FROM ${table} WHERE ${column} = '${id}'`))[0]?.['v'];
      const [deliveryBefore, queueBefore] = [
        await version('deliveries', 'id'),
        await version('delivery_queue', 'delivery_id'),
      ];
      const [claimed] = await store.claimDueDeliveries(claimOptions(T0 + 1));
      assert.equal(claimed?.delivery.id, id);
      assert.equal(claimed?.delivery.state, 'delivering');
      assert.equal(await version('deliveries', 'id'), deliveryBefore, 'the claim wrote the deliveries row');
      assert.notEqual(await version('delivery_queue', 'delivery_id'), queueBefore);
      const shown = await store.getDelivery(application.id, id);
      assert.deepEqual([shown?.state, shown?.leaseOwner, shown?.leaseExpiresAt], ['delivering', 'w1', T0 + 30_001]);
      assert.equal((await store.countDeliveriesByState()).delivering, 1);

      assert.ok(
        await store.recordAttempt(
          { deliveryId: id, owner: 'w1', attempt: newAttempt(id, T0 + 2, true), resolution: { state: 'delivered' } },
          T0 + 3,
        ),
      );
      assert.notEqual(await version('deliveries', 'id'), deliveryBefore);
      assert.equal(await version('delivery_queue', 'delivery_id'), undefined, 'a delivered delivery left the queue');
      const done = await store.getDelivery(application.id, id);
      assert.deepEqual([done?.state, done?.leaseOwner, done?.deliveredAt], ['delivered', null, T0 + 3]);
      const counts = await store.countDeliveriesByState();
      assert.deepEqual([counts.pending, counts.delivering, counts.delivered], [0, 0, 1]);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('keeps delivery_queue to the open deliveries: coalescing, final states, retries and a deleted channel', async () => {
    const db = await createSchemaDatabase();
    const store = await db.open(keyringA);
    try {
      const { application, channel } = await seedApplication(store);
      const queued = async () =>
        (await db.sql('SELECT q.delivery_id, q.state FROM delivery_queue q ORDER BY q.seq')).map((r) => [
          r['delivery_id'],
          r['state'],
        ]);
      const coalesced = (key: string) => (channels: Channel[]) =>
        channels.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: key }));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await store.publish(newMessage(application.id, { i }), coalesced('img'), T0 + i);
        ids.push(r.ok ? r.deliveries[0]!.id : assert.fail('publish'));
      }
      // The two older ones were superseded: only the newest is left to deliver.
      assert.deepEqual(await queued(), [[ids[2], 'pending']]);
      const plain = await store.publish(newMessage(application.id, { n: 1 }), planAll, T0 + 3);
      const plainId = plain.ok ? plain.deliveries[0]!.id : assert.fail('publish');
      const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10));
      assert.deepEqual(
        claimed.map((c) => c.delivery.id),
        [ids[2], plainId],
      );
      const outcome = (id: string, resolution: RecordAttemptInput['resolution']): RecordAttemptInput => ({
        deliveryId: id,
        owner: 'w1',
        attempt: newAttempt(id, T0 + 11, resolution.state === 'delivered'),
        resolution,
      });
      assert.deepEqual(
        await store.recordAttempts(
          [outcome(ids[2]!, { state: 'delivered' }), outcome(plainId, { state: 'pending', nextAttemptAt: T0 + 500 })],
          T0 + 12,
        ),
        [true, true],
      );
      // The delivered one left the queue; the retry is pending again, due at its retry time.
      assert.deepEqual(await queued(), [[plainId, 'pending']]);
      assert.equal((await store.getDelivery(application.id, plainId))?.nextAttemptAt, T0 + 500);
      assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 499)), []);
      assert.equal(await store.deleteChannel(application.id, channel.id), true);
      assert.deepEqual(await queued(), []);
      assert.deepEqual(await db.sql('SELECT id FROM deliveries'), []);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

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
        (await db.sql('SELECT version FROM schema_migrations ORDER BY version')).map((r) => r['version']),
        [1, 2, 3, 4, 5, 6, 7],
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

  it('a claim locks no more rows than its batch: channels share it in the order of their oldest due delivery', async () => {
    const db = await createSchemaDatabase();
    const store = await db.open(keyringA);
    try {
      const { application } = await seedApplication(store);
      for (let i = 0; i < 3; i++) {
        await store.createChannel({
          applicationId: application.id,
          kind: 0,
          isActive: true,
          includeImageData: true,
          config: { webHookUrl: `https://example.test/${i}`, retryCount: 1, exponentialBackoffFactor: 2 },
        });
      }
      // Ten messages, each planned to the four channels: forty due deliveries with the same due times per channel.
      for (let i = 0; i < 10; i++) await store.publish(newMessage(application.id, { i }), planAll, T0 + i);
      const claimed = await store.claimDueDeliveries(claimOptions(T0 + 100, { limit: 12, maxInFlightPerChannel: 100 }));
      assert.equal(claimed.length, 12);
      const perChannel = new Map<string, number>();
      for (const c of claimed) perChannel.set(c.channel.id, (perChannel.get(c.channel.id) ?? 0) + 1);
      // Equal heads: channel id breaks the tie; the first channel gives all ten, the next the remaining two.
      const ids = (await db.sql('SELECT id FROM channels ORDER BY id')).map((r) => String(r['id']));
      assert.deepEqual(
        ids.map((id) => perChannel.get(id) ?? 0),
        [10, 2, 0, 0],
      );
      // A row locked FOR UPDATE but not leased keeps the claim's transaction id in xmax after commit.
      const lockedOnly = await db.sql(
        "SELECT count(*) AS n FROM delivery_queue WHERE state = 'pending' AND xmax <> '0'",
      );
      assert.equal(Number(lockedOnly[0]?.['n']), 0, 'the claim locked deliveries it did not lease');
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it('four concurrent claimers keep the ordering rule: one delivery per key in flight, in publish order', async () => {
    const db = await createSchemaDatabase();
    const stores: Store[] = [];
    try {
      for (let i = 0; i < 4; i++) stores.push(await db.open(keyringA));
      const [first] = stores;
      const { application } = await seedApplication(first!, { orderingKey: 'ImageId' });
      const keys = Array.from({ length: 8 }, (_, i) => `img-${i}`);
      const publishOrder = new Map<string, string[]>(keys.map((k) => [k, []]));
      for (let round = 0; round < 25; round++) {
        // Publishes of one key run concurrently too, so some ordering flags start out stale.
        const results = await Promise.all(
          keys.map((key) =>
            first!.publish(
              newMessage(application.id, { key, round }),
              (channels) => channels.map((c) => ({ channelId: c.id, orderingKey: key, coalesceKey: null })),
              T0,
            ),
          ),
        );
        for (const [i, r] of results.entries()) {
          if (!r.ok) throw new Error('publish failed');
          publishOrder.get(keys[i]!)!.push(r.deliveries[0]!.id);
        }
      }
      const seqOf = new Map<string, number>();
      for (const r of await db.sql('SELECT id, seq FROM deliveries')) seqOf.set(String(r['id']), Number(r['seq']));
      const inFlight = new Map<string, string>();
      const claimedOrder = new Map<string, string[]>(keys.map((k) => [k, []]));
      const violations: string[] = [];
      const deadline = Date.now() + 90_000;
      await Promise.all(
        stores.map(async (store, w) => {
          const owner = `worker-${w}`;
          let idle = 0;
          for (let round = 0; round < 5000 && idle < 50 && Date.now() < deadline; round++) {
            const claimed = await store.claimDueDeliveries(
              claimOptions(T0 + 1, { owner, limit: 5, leaseMs: 600_000, maxInFlightPerChannel: 1000 }),
            );
            if (claimed.length === 0) {
              idle += 1;
              await new Promise((resolve) => setTimeout(resolve, 5));
              continue;
            }
            idle = 0;
            for (const c of claimed) {
              const key = c.delivery.orderingKey!;
              const holder = inFlight.get(key);
              if (holder !== undefined) violations.push(`${key}: ${c.delivery.id} claimed while ${holder} in flight`);
              inFlight.set(key, c.delivery.id);
              claimedOrder.get(key)!.push(c.delivery.id);
            }
            // "Deliver": other claimers run meanwhile; the key is released just before the attempt is written.
            await new Promise((resolve) => setTimeout(resolve, 1));
            for (const c of claimed) inFlight.delete(c.delivery.orderingKey!);
            const recorded = await store.recordAttempts(
              claimed.map((c) => ({
                deliveryId: c.delivery.id,
                owner,
                attempt: newAttempt(c.delivery.id, T0 + 2, true),
                resolution: { state: 'delivered' as const },
              })),
              T0 + 3,
            );
            assert.ok(recorded.every(Boolean));
          }
        }),
      );
      assert.deepEqual(violations, []);
      for (const key of keys) {
        const claimed = claimedOrder.get(key)!;
        assert.equal(claimed.length, 25, `${key}: ${claimed.length} of 25 delivered`);
        const bySeq = [...publishOrder.get(key)!].sort((a, b) => seqOf.get(a)! - seqOf.get(b)!);
        assert.deepEqual(claimed, bySeq, `${key} delivered out of publish order`);
      }
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
      await db.sql('UPDATE delivery_queue SET blocked = true');
      const claimed = await store.claimDueDeliveries(claimOptions(T0 + 1));
      assert.equal(claimed.length, 1);
    } finally {
      await store.close();
      await db.cleanup();
    }
  });

  it("a publish racing its predecessor's last attempt leaves no stale ordering flag (no sweep needed)", async () => {
    const db = await createSchemaDatabase();
    const publisher = await db.open(keyringA);
    const worker = await db.open(keyringA);
    try {
      const { application } = await seedApplication(publisher, { orderingKey: 'ImageId' });
      const planKey = (key: string) => (channels: Channel[]) =>
        channels.map((c) => ({ channelId: c.id, orderingKey: key, coalesceKey: null }));
      await publisher.publish(newMessage(application.id, { n: 1 }), planKey('img'), T0);
      // The first claim runs the periodic sweep of stale flags; the next one, 4 s later (claim clock), does not.
      const [first] = await worker.claimDueDeliveries(claimOptions(T0 + 1, { owner: 'w' }));
      assert.ok(first);
      // Holds the next publish of the key open between its statement and its commit: the race window.
      await db.sql(`CREATE FUNCTION hold_publish() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$`);
      await db.sql(`CREATE TRIGGER hold_publish AFTER INSERT ON deliveries FOR EACH ROW
        WHEN (NEW.ordering_key = 'img') EXECUTE FUNCTION hold_publish()`);
      const second = publisher.publish(newMessage(application.id, { n: 2 }), planKey('img'), T0 + 2);
      await waitUntil(
        async () =>
          (
            await db.sql(
              `SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO deliveries%'`,
            )
          ).length > 0,
      );
      // The first delivery finishes while the publish that saw it open has not committed yet.
      const recorded = await worker.recordAttempts(
        [
          {
            deliveryId: first.delivery.id,
            owner: 'w',
            attempt: newAttempt(first.delivery.id, T0 + 3, true),
            resolution: { state: 'delivered' },
          },
        ],
        T0 + 3,
      );
      assert.deepEqual(recorded, [true]);
      const r = await second;
      assert.ok(r.ok);
      // Within the sweep's 10 s interval of the first claim: only the flag maintenance can have freed it.
      const [next] = await worker.claimDueDeliveries(claimOptions(T0 + 5, { owner: 'w' }));
      assert.equal(next?.delivery.id, r.deliveries[0]?.id, 'the next delivery of the key is claimable at once');
      assert.deepEqual(await db.sql('SELECT delivery_id FROM delivery_queue WHERE blocked'), []);
    } finally {
      await publisher.close();
      await worker.close();
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

  it('reconnects its LISTEN connection when the server drops it, and still hears new work', async () => {
    // Own database, so terminating its listeners touches no other test.
    const database = await createTestDatabase('herald_store_listen');
    const publisher = await createPostgresStore({ url: database.url, keyring: keyringA });
    const worker = await createPostgresStore({ url: database.url, keyring: keyringA });
    const admin = new pg.Client({ connectionString: database.url });
    try {
      await admin.connect();
      const { application } = await seedApplication(publisher);
      let onCall: () => void = () => {};
      worker.onNewWork(() => onCall());
      const nextCall = (deadlineMs: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), deadlineMs);
          onCall = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
      assert.equal(await nextCall(10_000), true, 'listener never connected');
      const reconnected = nextCall(15_000);
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN herald_new_work%' AND pid <> pg_backend_pid()`,
      );
      assert.equal(killed.rowCount, 1);
      assert.equal(await reconnected, true, 'listener did not reconnect within 15 s');
      const woken = nextCall(10_000);
      await publisher.publish(newMessage(application.id), planAll, T0);
      assert.equal(await woken, true, 'no notification after the reconnect');
    } finally {
      await admin.end().catch(() => {});
      await publisher.close();
      await worker.close();
      await database.drop();
    }
  });
});
