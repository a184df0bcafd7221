// The one contract both adapters pass. Each test gets its own empty database from `makeDatabase`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type Channel,
  type ChannelOptions,
  type ClaimedDelivery,
  type ClaimOptions,
  createKeyring,
  type DeliveryPlan,
  type Keyring,
  type NewAttempt,
  type NewMessage,
  type Store,
  StoreInputError,
  StoreIntegrityError,
  type UnreadableChannel,
} from '@herald/store';

export type RawRow = Record<string, unknown>;

/** An isolated, empty database: stores open on it, raw SQL reaches it for the tests that inspect rows. */
export interface ContractDatabase {
  open(keyring: Keyring, clock?: () => number): Promise<Store>;
  sql(text: string): Promise<RawRow[]>;
  cleanup(): Promise<void>;
}

const keyOf = (fill: number, id: string) => ({ id, key: new Uint8Array(32).fill(fill) });
export const KEY_A = keyOf(1, 'a');
export const KEY_B = keyOf(2, 'b');
export const keyringA = createKeyring({ current: KEY_A });

const T0 = 1_700_000_000_000;
const webhook = { webHookUrl: 'https://example.test/hook', retryCount: 3, exponentialBackoffFactor: 2 };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function newMessage(
  applicationId: string,
  fields: Record<string, unknown> = {},
  extra: Partial<NewMessage> = {},
): NewMessage {
  const body = JSON.stringify({ MessageType: 'TaskCompleted', ...fields });
  return { applicationId, type: 'TaskCompleted', body, bodyHash: sha256(body), ...extra };
}

export const planAll = (channels: Channel[]): DeliveryPlan[] =>
  channels.map((c) => ({ channelId: c.id, orderingKey: null, coalesceKey: null }));
const planWith =
  (orderingKey: string | null, coalesceKey: string | null) =>
  (channels: Channel[]): DeliveryPlan[] =>
    channels.map((c) => ({ channelId: c.id, orderingKey, coalesceKey }));

export function claimOptions(now: number, extra: Partial<ClaimOptions> = {}): ClaimOptions {
  return { owner: 'w1', limit: 100, leaseMs: 30_000, now, maxInFlightPerChannel: 100, ...extra };
}

export function newAttempt(
  deliveryId: string,
  startedAt: number,
  ok: boolean,
  outcome = ok ? 'delivered' : 'http_status',
): NewAttempt {
  return {
    deliveryId,
    startedAt,
    durationMs: 12,
    ok,
    outcome,
    statusCode: ok ? 200 : 503,
    brokerReply: null,
    error: ok ? null : 'Service Unavailable',
    responseExcerpt: ok ? 'ok' : 'down',
  };
}

/** The claim byte budget claimsWithinBodyBudget expects the store to be opened with. */
export const CLAIM_BODY_BUDGET_FOR_TESTS = 2500;

/** A store opened with claimBodyBudgetBytes CLAIM_BODY_BUDGET_FOR_TESTS takes bodies up to it, and at least one. */
/** `beforeClaims` runs after each round of publishes, before its claims (an adapter test may rewrite rows there). */
export async function claimsWithinBodyBudget(store: Store, beforeClaims?: () => Promise<void>): Promise<void> {
  const { application } = await seedApplication(store);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const m = newMessage(application.id, { i, pad: 'x'.repeat(980) });
    assert.ok(m.body.length > 1000 && m.body.length < 1100);
    const r = await store.publish(m, planAll, 10 + i);
    assert.ok(r.ok);
    ids.push(r.deliveries[0]!.id);
  }
  await beforeClaims?.();
  // Bodies before each delivery: 0, ~1,000, ~2,000 bytes are under 2,500; the fourth would start past it.
  const first = await store.claimDueDeliveries(claimOptions(100, { limit: 10 }));
  assert.deepEqual(
    first.map((c) => c.delivery.id),
    ids.slice(0, 3),
  );
  const second = await store.claimDueDeliveries(claimOptions(100, { limit: 10 }));
  assert.deepEqual(
    second.map((c) => c.delivery.id),
    ids.slice(3),
  );
  // A message over the whole budget still goes, alone.
  const big = await store.publish(newMessage(application.id, { pad: 'y'.repeat(5000) }), planAll, 200);
  await store.publish(newMessage(application.id, { n: 'small' }), planAll, 201);
  assert.ok(big.ok);
  await beforeClaims?.();
  const alone = await store.claimDueDeliveries(claimOptions(300, { limit: 10 }));
  assert.deepEqual(
    alone.map((c) => c.delivery.id),
    [big.deliveries[0]!.id],
  );
  assert.equal((await store.claimDueDeliveries(claimOptions(300, { limit: 10 }))).length, 1);
}

export async function seedApplication(store: Store, options: ChannelOptions = {}, name = 'app') {
  const application = await store.createApplication({ name });
  const channel = await store.createChannel({
    applicationId: application.id,
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: webhook,
    secrets: { secretHeaderValue: `hdr-${name}` },
    options,
  });
  return { application, channel };
}

async function publishOk(store: Store, message: NewMessage, plan = planAll, now = T0) {
  const r = await store.publish(message, plan, now);
  assert.equal(r.ok, true, `publish failed: ${JSON.stringify(r)}`);
  if (!r.ok) throw new Error('unreachable');
  return r;
}

export function runStoreContract(name: string, makeDatabase: () => Promise<ContractDatabase>): void {
  /** Runs `fn` with a store on a fresh database, always cleaning up. */
  const withStore = async (fn: (store: Store, db: ContractDatabase) => Promise<void>, keyring = keyringA) => {
    const db = await makeDatabase();
    let store: Store | undefined;
    try {
      store = await db.open(keyring, () => T0);
      await fn(store, db);
    } finally {
      await store?.close();
      await db.cleanup();
    }
  };

  describe(`${name}: store contract`, () => {
    describe('migrations', () => {
      it('are recorded once and harmless when run again, also by a second store on the same database', async () => {
        await withStore(async (store, db) => {
          const versionsNow = async () =>
            (await db.sql('SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r['version']));
          const first = await versionsNow();
          // Numbered 1..n, each once (the adapters' lists differ in length).
          assert.deepEqual(
            first,
            first.map((_, i) => i + 1),
          );
          assert.ok(first.length >= 1);
          await store.migrate();
          await store.migrate();
          const second = await db.open(keyringA);
          await second.migrate();
          await second.close();
          assert.deepEqual(await versionsNow(), first);
          await store.ping();
        });
      });
    });

    describe('applications and API keys', () => {
      it('creates, reads and lists applications; an unknown id is null', async () => {
        await withStore(async (store) => {
          const a = await store.createApplication({ name: 'one', rateLimitPerSecond: 5 });
          const b = await store.createApplication({ id: 'fixed-id', name: 'two' });
          assert.equal(b.id, 'fixed-id');
          assert.deepEqual(await store.getApplication(a.id), {
            id: a.id,
            name: 'one',
            rateLimitPerSecond: 5,
            createdAt: T0,
          });
          assert.equal(await store.getApplication('missing'), null);
          assert.deepEqual((await store.listApplications()).map((x) => x.name).sort(), ['one', 'two']);
        });
      });

      it('stores API keys by public key, lists them per application, revokes once', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const other = await store.createApplication({ name: 'other' });
          const key = await store.createApiKey({
            applicationId: application.id,
            role: 'application',
            key: 'pk_1',
            secretHash: 'hash-1',
            label: 'ci',
          });
          await store.createApiKey({ applicationId: other.id, role: 'application', key: 'pk_2', secretHash: 'h2' });
          const operator = await store.createApiKey({
            applicationId: null,
            role: 'operator',
            key: 'op',
            secretHash: 'h3',
          });
          assert.equal(operator.applicationId, null);
          assert.deepEqual(await store.findApiKey('pk_1'), key);
          assert.equal(key.credits, null);
          assert.equal(key.revokedAt, null);
          assert.equal(await store.findApiKey('nope'), null);
          assert.deepEqual(
            (await store.listApiKeys(application.id)).map((k) => k.key),
            ['pk_1'],
          );
          assert.equal(await store.revokeApiKey(key.id, T0 + 5), true);
          assert.equal(await store.revokeApiKey(key.id, T0 + 6), false);
          assert.equal((await store.findApiKey('pk_1'))?.revokedAt, T0 + 5);
          await assert.rejects(
            store.createApiKey({ applicationId: application.id, role: 'application', key: 'pk_1', secretHash: 'x' }),
          );
          await assert.rejects(
            store.createApiKey({ applicationId: 'missing', role: 'application', key: 'pk_9', secretHash: 'x' }),
            (e: unknown) => e instanceof StoreInputError && e.code === 'REFERENCE_NOT_FOUND',
          );
        });
      });

      it('spends credits atomically and refuses to overdraw; unlimited keys always succeed', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const limited = await store.createApiKey({
            applicationId: application.id,
            role: 'application',
            key: 'pk_l',
            secretHash: 'h',
            credits: 5,
          });
          const unlimited = await store.createApiKey({
            applicationId: application.id,
            role: 'application',
            key: 'pk_u',
            secretHash: 'h',
          });
          assert.deepEqual(await store.spendCredits(limited.id, 3), { ok: true, remaining: 2 });
          assert.deepEqual(await store.spendCredits(limited.id, 3), { ok: false });
          assert.equal((await store.findApiKey('pk_l'))?.credits, 2);
          assert.deepEqual(await store.spendCredits(limited.id, 2), { ok: true, remaining: 0 });
          assert.deepEqual(await store.spendCredits(unlimited.id, 1000), { ok: true, remaining: null });
          assert.deepEqual(await store.spendCredits('missing', 1), { ok: false });
          await assert.rejects(store.spendCredits(limited.id, -1), StoreInputError);
          assert.equal(await store.setCredits(limited.id, 10), true);
          assert.equal((await store.findApiKey('pk_l'))?.credits, 10);
          assert.equal(await store.setCredits(limited.id, null), true);
          assert.equal((await store.findApiKey('pk_l'))?.credits, null);
          assert.equal(await store.setCredits('missing', 1), false);
        });
      });
    });

    describe('channels', () => {
      it('round-trips a channel with its secrets and options, scoped to its application', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store, { orderingKey: 'ImageId', maxInFlight: 3 });
          const other = await store.createApplication({ name: 'other' });
          const got = await store.getChannel(application.id, channel.id);
          assert.deepEqual(got, channel);
          assert.deepEqual(got?.secrets, { secretHeaderValue: 'hdr-app' });
          assert.deepEqual(got?.options, { orderingKey: 'ImageId', maxInFlight: 3 });
          assert.equal(got?.disabledReason, null);
          assert.equal(got?.failingSince, null);
          assert.equal(await store.getChannel(other.id, channel.id), null);
          assert.deepEqual(await store.listChannels(other.id), []);
          assert.equal(await store.updateChannel(other.id, channel.id, { isActive: false }), null);
          assert.equal(await store.deleteChannel(other.id, channel.id), false);
          assert.notEqual(await store.getChannel(application.id, channel.id), null);
          await assert.rejects(
            store.createChannel({
              applicationId: 'missing',
              kind: 0,
              isActive: true,
              includeImageData: true,
              config: webhook,
            }),
            (e: unknown) => e instanceof StoreInputError && e.code === 'REFERENCE_NOT_FOUND',
          );
        });
      });

      it('updates fields, replaces secrets, lists active only, deletes', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 2,
            isActive: false,
            includeImageData: false,
            config: { url: 'amqp://broker.test', username: 'u', queueName: 'q' },
            secrets: { password: 'pw-1' },
          });
          assert.deepEqual(second.options, {});
          assert.deepEqual(
            (await store.listChannels(application.id, { activeOnly: true })).map((c) => c.id),
            [channel.id],
          );
          assert.equal((await store.listChannels(application.id)).length, 2);
          const updated = await store.updateChannel(application.id, second.id, {
            includeImageData: true,
            secrets: { password: 'pw-2' },
            config: { url: 'amqp://broker2.test', username: 'u2', queueName: 'q2' },
          });
          assert.equal(updated?.includeImageData, true);
          assert.deepEqual(updated?.secrets, { password: 'pw-2' });
          assert.deepEqual((await store.getChannel(application.id, second.id))?.secrets, { password: 'pw-2' });
          assert.equal((await store.getChannel(application.id, second.id))?.isActive, false);
          assert.equal(await store.deleteChannel(application.id, second.id), true);
          assert.equal(await store.deleteChannel(application.id, second.id), false);
          assert.equal(await store.getChannel(application.id, second.id), null);
        });
      });

      it('re-enabling a disabled channel clears the reason and failure streak and records channel.enabled', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          await publishOk(store, newMessage(application.id));
          const [c] = await store.claimDueDeliveries(claimOptions(T0));
          assert.ok(c);
          const recorded = await store.recordAttempt(
            {
              deliveryId: c.delivery.id,
              owner: 'w1',
              attempt: newAttempt(c.delivery.id, T0 + 1, false, 'http_gone'),
              resolution: { state: 'failed' },
              disableChannel: 'endpoint answered 410 Gone',
            },
            T0 + 2,
          );
          assert.equal(recorded, true);
          const disabled = await store.getChannel(application.id, channel.id);
          assert.equal(disabled?.isActive, false);
          assert.equal(disabled?.disabledReason, 'endpoint answered 410 Gone');
          assert.equal(disabled?.failingSince, T0 + 1);
          const enabled = await store.updateChannel(application.id, channel.id, { isActive: true });
          assert.equal(enabled?.isActive, true);
          assert.equal(enabled?.disabledReason, null);
          assert.equal(enabled?.failingSince, null);
          const events = await store.listEvents(application.id, {});
          assert.deepEqual(
            events.items.map((e) => [e.type, e.channelId]),
            [
              ['channel.enabled', channel.id],
              ['channel.disabled', channel.id],
            ],
          );
          assert.equal(events.items[1]?.detail, 'endpoint answered 410 Gone');
        });
      });

      it('deleting a channel removes its pending deliveries so they are never claimed', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const r = await publishOk(store, newMessage(application.id));
          assert.equal(await store.deleteChannel(application.id, channel.id), true);
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 1)), []);
          assert.equal(await store.getDelivery(application.id, r.deliveries[0]!.id), null);
          assert.equal(await store.nextDueAt(), null);
        });
      });

      it("deleting a channel deletes its deliveries' attempts too, and no other's", async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: { webHookUrl: 'https://example.test/second', retryCount: 3, exponentialBackoffFactor: 2 },
          });
          await publishOk(store, newMessage(application.id));
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 1));
          assert.equal(claimed.length, 2);
          assert.deepEqual(
            await store.recordAttempts(
              claimed.map((c) => ({
                deliveryId: c.delivery.id,
                owner: 'w1',
                attempt: newAttempt(c.delivery.id, T0 + 1, true),
                resolution: { state: 'delivered' as const },
              })),
              T0 + 2,
            ),
            [true, true],
          );
          assert.equal((await store.listAttempts(application.id, {}, {})).items.length, 2);
          assert.equal(await store.deleteChannel(application.id, second.id), true);
          const left = (await store.listAttempts(application.id, {}, {})).items;
          assert.deepEqual(
            left.map((a) => a.channelId),
            [channel.id],
          );
        });
      });
    });

    describe('rejection codes', () => {
      it('upserts, lists per application and deletes', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const other = await store.createApplication({ name: 'other' });
          await store.upsertRejectionCode({ applicationId: application.id, code: 'R2', description: 'blurred' });
          await store.upsertRejectionCode({ applicationId: application.id, code: 'R1', description: 'dark' });
          const changed = await store.upsertRejectionCode({
            applicationId: application.id,
            code: 'R1',
            description: 'too dark',
          });
          assert.deepEqual(changed, { applicationId: application.id, code: 'R1', description: 'too dark' });
          assert.deepEqual(
            (await store.listRejectionCodes(application.id)).map((r) => [r.code, r.description]),
            [
              ['R1', 'too dark'],
              ['R2', 'blurred'],
            ],
          );
          assert.deepEqual(await store.listRejectionCodes(other.id), []);
          assert.equal(await store.deleteRejectionCode(other.id, 'R1'), false);
          assert.equal(await store.deleteRejectionCode(application.id, 'R1'), true);
          assert.equal(await store.deleteRejectionCode(application.id, 'R1'), false);
        });
      });
    });

    describe('publish', () => {
      it('stores the message and one pending delivery per active channel, planned from active channels only', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: false,
            includeImageData: true,
            config: webhook,
          });
          const foreign = await seedApplication(store, {}, 'foreign');
          let seen: string[] = [];
          const message = newMessage(
            application.id,
            { ImageId: 'img-1' },
            { correlationId: 'corr-1', traceparent: 'tp' },
          );
          const r = await publishOk(
            store,
            message,
            (channels) => {
              seen = channels.map((c) => c.id);
              assert.deepEqual(channels[0]?.secrets, { secretHeaderValue: 'hdr-app' });
              return planWith('img-1', null)(channels);
            },
            T0 + 10,
          );
          assert.deepEqual(seen, [channel.id]);
          assert.equal(r.duplicate, false);
          assert.equal(r.message.body, message.body);
          assert.equal(r.message.correlationId, 'corr-1');
          assert.equal(r.message.traceparent, 'tp');
          assert.equal(r.message.createdAt, T0 + 10);
          assert.equal(r.deliveries.length, 1);
          const d = r.deliveries[0]!;
          assert.equal(d.state, 'pending');
          assert.equal(d.channelId, channel.id);
          assert.equal(d.nextAttemptAt, T0 + 10);
          assert.equal(d.attempts, 0);
          assert.equal(d.attemptsSinceReset, 0);
          assert.equal(d.orderingKey, 'img-1');
          assert.deepEqual(await store.getMessage(application.id, r.message.id), r.message);
          assert.equal(await store.getMessage(foreign.application.id, r.message.id), null);
          assert.deepEqual(await store.getDelivery(application.id, d.id), d);
          assert.equal(await store.getDelivery(foreign.application.id, d.id), null);
        });
      });

      it('stores nothing when the application has no active channel or the plan is empty', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const bare = await store.createApplication({ name: 'bare' });
          assert.deepEqual(await store.publish(newMessage(bare.id), planAll, T0), {
            ok: false,
            reason: 'no_active_channel',
          });
          assert.deepEqual(await store.publish(newMessage(application.id), () => [], T0), {
            ok: false,
            reason: 'no_active_channel',
          });
          await store.updateChannel(application.id, channel.id, { isActive: false });
          assert.deepEqual(await store.publish(newMessage(application.id), planAll, T0), {
            ok: false,
            reason: 'no_active_channel',
          });
          assert.deepEqual((await store.listMessages(application.id, {}, {})).items, []);
          assert.deepEqual((await store.listMessages(bare.id, {}, {})).items, []);
        });
      });

      it('refuses a plan naming a channel that is not an active channel of the application', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const foreign = await seedApplication(store, {}, 'foreign');
          await assert.rejects(
            store.publish(
              newMessage(application.id),
              () => [{ channelId: foreign.channel.id, orderingKey: null, coalesceKey: null }],
              T0,
            ),
            (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'INVALID_PLAN',
          );
          assert.deepEqual((await store.listMessages(application.id, {}, {})).items, []);
        });
      });

      it('answers a repeated idempotency key with the first message, and refuses a different body', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const other = await seedApplication(store, {}, 'other');
          const first = await publishOk(store, newMessage(application.id, { n: 1 }, { idempotencyKey: 'key-1' }));
          const again = await publishOk(store, newMessage(application.id, { n: 1 }, { idempotencyKey: 'key-1' }));
          assert.equal(again.duplicate, true);
          assert.equal(again.message.id, first.message.id);
          assert.deepEqual(
            again.deliveries.map((d) => d.id),
            first.deliveries.map((d) => d.id),
          );
          const conflict = await store.publish(
            newMessage(application.id, { n: 2 }, { idempotencyKey: 'key-1' }),
            planAll,
            T0,
          );
          assert.deepEqual(conflict, { ok: false, reason: 'idempotency_conflict', messageId: first.message.id });
          const elsewhere = await publishOk(
            store,
            newMessage(other.application.id, { n: 1 }, { idempotencyKey: 'key-1' }),
          );
          assert.equal(elsewhere.duplicate, false);
          assert.notEqual(elsewhere.message.id, first.message.id);
          assert.equal((await store.listMessages(application.id, {}, {})).items.length, 1);
        });
      });

      it('hands plan read-only channels whose secrets are decrypted only when read; a bad blob does not stop publish', async () => {
        await withStore(async (store, db) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
            secrets: { secretHeaderValue: 'second' },
          });
          let seen: Channel[] = [];
          await publishOk(store, newMessage(application.id, { a: 1 }), (channels) => {
            seen = channels;
            return planAll(channels);
          });
          const byId = (id: string) => seen.find((c) => c.id === id)!;
          assert.deepEqual(seen.map((c) => c.id).sort(), [channel.id, second.id].sort());
          assert.ok(seen.every((c) => Object.isFrozen(c) && Object.isFrozen(c.options)));
          assert.deepEqual(byId(channel.id).secrets, { secretHeaderValue: 'hdr-app' });
          assert.deepEqual(byId(channel.id), await store.getChannel(application.id, channel.id));
          // A blob that no longer decrypts fails only whoever reads it; publish itself never does. (Written by
          // another connection, as another process would: with the row's updated_at, which publish compares.)
          await db.sql(
            `UPDATE channels SET secrets = (SELECT secrets FROM channels WHERE id = '${channel.id}'),
               updated_at = updated_at + 1 WHERE id = '${second.id}'`,
          );
          const r = await publishOk(store, newMessage(application.id, { a: 2 }), (channels) => {
            seen = channels;
            return planAll(channels);
          });
          assert.equal(r.deliveries.length, 2);
          assert.throws(
            () => byId(second.id).secrets,
            (e: unknown) => e instanceof StoreIntegrityError,
          );
        });
      });

      it('publishes to the channels as they are now, also after another process changed them', async () => {
        await withStore(async (store, db) => {
          const { application, channel } = await seedApplication(store);
          await publishOk(store, newMessage(application.id, { a: 1 }));
          const added = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          const targets = async (n: number) =>
            (await publishOk(store, newMessage(application.id, { n }))).deliveries.map((d) => d.channelId).sort();
          assert.deepEqual(await targets(2), [channel.id, added.id].sort());
          await store.updateChannel(application.id, added.id, { isActive: false });
          assert.deepEqual(await targets(3), [channel.id]);
          // Written behind the store's back, by another connection.
          await db.sql(`UPDATE channels SET is_active = ${name === 'sqlite' ? 1 : 'true'} WHERE id = '${added.id}'`);
          assert.deepEqual(await targets(4), [channel.id, added.id].sort());
          await db.sql(`DELETE FROM channels WHERE id = '${added.id}'`);
          assert.deepEqual(await targets(5), [channel.id]);
          await store.deleteChannel(application.id, channel.id);
          const none = await store.publish(newMessage(application.id, { n: 6 }), planAll, T0);
          assert.deepEqual(none, { ok: false, reason: 'no_active_channel' });
          // No channel a moment ago is never taken on trust: one activated behind the store's back counts at once.
          const revived = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: false,
            includeImageData: true,
            config: webhook,
          });
          assert.deepEqual(await store.publish(newMessage(application.id, { n: 7 }), planAll, T0), none);
          await db.sql(`UPDATE channels SET is_active = ${name === 'sqlite' ? 1 : 'true'} WHERE id = '${revived.id}'`);
          assert.deepEqual(await targets(8), [revived.id]);
        });
      });

      it('supersedes an older pending delivery with the same coalesce key, but not one being delivered', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store, { coalesceProgress: true });
          const first = await publishOk(store, newMessage(application.id, { p: 1 }), planWith(null, 'render-1'), T0);
          const otherKey = await publishOk(store, newMessage(application.id, { p: 9 }), planWith(null, 'render-2'), T0);
          const second = await publishOk(
            store,
            newMessage(application.id, { p: 2 }),
            planWith(null, 'render-1'),
            T0 + 1,
          );
          assert.equal((await store.getDelivery(application.id, first.deliveries[0]!.id))?.state, 'superseded');
          assert.equal((await store.getDelivery(application.id, otherKey.deliveries[0]!.id))?.state, 'pending');
          assert.equal((await store.getDelivery(application.id, second.deliveries[0]!.id))?.state, 'pending');
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 2));
          assert.deepEqual(
            claimed.map((c) => c.delivery.id).sort(),
            [otherKey.deliveries[0]!.id, second.deliveries[0]!.id].sort(),
          );
          const third = await publishOk(
            store,
            newMessage(application.id, { p: 3 }),
            planWith(null, 'render-1'),
            T0 + 3,
          );
          assert.equal((await store.getDelivery(application.id, second.deliveries[0]!.id))?.state, 'delivering');
          assert.equal(third.deliveries[0]?.channelId, channel.id);
          assert.equal((await store.countDeliveriesByState()).superseded, 1);
        });
      });

      // Concurrent publishes (SQLite commits them together, one savepoint each): every caller gets its own result.
      it('gives each of many concurrent publishes its own outcome: stored, duplicate, conflict, no channel', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const bare = await store.createApplication({ name: 'no-channels' });
          const first = await publishOk(store, newMessage(application.id, { n: 1 }, { idempotencyKey: 'taken' }));
          const results = await Promise.all([
            store.publish(newMessage(application.id, { n: 2 }), planAll, T0),
            store.publish(newMessage(application.id, { n: 1 }, { idempotencyKey: 'taken' }), planAll, T0),
            store.publish(newMessage(application.id, { n: 9 }, { idempotencyKey: 'taken' }), planAll, T0),
            store.publish(newMessage(bare.id, { n: 3 }), planAll, T0),
            store.publish(newMessage(application.id, { n: 4 }), () => [], T0),
            store.publish(newMessage(application.id, { n: 5 }, { idempotencyKey: 'fresh' }), planAll, T0),
          ]);
          const [stored, duplicate, conflict, noChannel, emptyPlan, fresh] = results;
          assert.equal(stored?.ok && !stored.duplicate, true);
          assert.equal(duplicate?.ok && duplicate.duplicate && duplicate.message.id === first.message.id, true);
          assert.deepEqual(conflict, { ok: false, reason: 'idempotency_conflict', messageId: first.message.id });
          assert.deepEqual(noChannel, { ok: false, reason: 'no_active_channel' });
          assert.deepEqual(emptyPlan, { ok: false, reason: 'no_active_channel' });
          assert.equal(fresh?.ok && !fresh.duplicate, true);
          const ids = new Set((await store.listMessages(application.id, {}, {})).items.map((m) => m.id));
          assert.equal(ids.size, 3);
          for (const r of [first, stored, fresh]) {
            assert.ok(r?.ok);
            assert.ok(ids.has(r.message.id));
            assert.equal(r.deliveries.length, 1);
            assert.equal((await store.getDelivery(application.id, r.deliveries[0]!.id))?.messageId, r.message.id);
          }
          assert.deepEqual((await store.listMessages(bare.id, {}, {})).items, []);
        });
      });

      it('rejects only the concurrent publish whose plan throws; the others are stored', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const foreign = await seedApplication(store, {}, 'foreign');
          const boom = new Error('plan failed');
          const outcomes = await Promise.allSettled([
            store.publish(newMessage(application.id, { n: 1 }), planAll, T0),
            store.publish(
              newMessage(application.id, { n: 2 }),
              () => {
                throw boom;
              },
              T0,
            ),
            store.publish(newMessage(application.id, { n: 3 }), planAll, T0),
            store.publish(
              newMessage(application.id, { n: 4 }),
              () => [{ channelId: foreign.channel.id, orderingKey: null, coalesceKey: null }],
              T0,
            ),
            store.publish(newMessage(application.id, { n: 5 }), planAll, T0),
          ]);
          assert.deepEqual(
            outcomes.map((o) => o.status),
            ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
          );
          assert.equal(outcomes[1]?.status === 'rejected' && outcomes[1].reason, boom);
          assert.equal(
            outcomes[3]?.status === 'rejected' && (outcomes[3].reason as { code?: string }).code,
            'INVALID_PLAN',
          );
          const bodies = (await store.listMessages(application.id, {}, {})).items.map((m) => m.body).sort();
          assert.deepEqual(bodies, [1, 3, 5].map((n) => newMessage(application.id, { n }).body).sort());
          assert.equal((await store.countDeliveriesByState()).pending, 3);
        });
      });

      it('stores a burst of 500 concurrent publishes once each, one key shared by ten of them', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const results = await Promise.all(
            Array.from({ length: 500 }, (_, i) =>
              store.publish(
                newMessage(application.id, { n: i < 10 ? 'same' : i }, i < 10 ? { idempotencyKey: 'shared' } : {}),
                planAll,
                T0 + i,
              ),
            ),
          );
          const okResults = results.filter((r) => r.ok);
          assert.equal(okResults.length, 500);
          const shared = okResults.slice(0, 10);
          assert.equal(new Set(shared.map((r) => r.message.id)).size, 1);
          assert.equal(shared.filter((r) => !r.duplicate).length, 1);
          const stored = okResults.filter((r) => !r.duplicate);
          assert.equal(stored.length, 491);
          assert.equal(new Set(stored.map((r) => r.message.id)).size, 491);
          assert.equal((await store.countDeliveriesByState()).pending, 491);
          let listed = 0;
          let cursor: string | null = null;
          for (let page = 0; page < 10; page++) {
            const p = await store.listMessages(application.id, {}, { limit: 500, ...(cursor ? { cursor } : {}) });
            listed += p.items.length;
            cursor = p.nextCursor;
            if (cursor === null) break;
          }
          assert.equal(listed, 491);
        });
      });
    });

    describe('claims', () => {
      it('leases due deliveries with their message and decrypted channel; not-yet-due ones wait', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const r = await publishOk(store, newMessage(application.id, { x: 1 }), planAll, T0 + 100);
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 99)), []);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 100, { owner: 'worker-a', leaseMs: 5000 }));
          assert.equal(claimed.length, 1);
          const c = claimed[0]!;
          assert.equal(c.delivery.id, r.deliveries[0]!.id);
          assert.equal(c.delivery.state, 'delivering');
          assert.equal(c.delivery.leaseOwner, 'worker-a');
          assert.equal(c.delivery.leaseExpiresAt, T0 + 5100);
          assert.deepEqual(c.message, r.message);
          assert.deepEqual(c.channel, await store.getChannel(application.id, channel.id));
          assert.deepEqual(c.channel.secrets, { secretHeaderValue: 'hdr-app' });
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 200, { owner: 'worker-b' })), []);
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 200, { limit: 0 })), []);
        });
      });

      it('hands every delivery of a batch its own full channel, with channels interleaved in the batch', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: false,
            config: { ...webhook, webHookUrl: 'https://second.example.com/hook' },
            secrets: { secretHeaderValue: 'hdr-second' },
            options: { maxInFlight: 20 },
          });
          for (let i = 0; i < 4; i++) await publishOk(store, newMessage(application.id, { i }), planAll, T0 + i);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10, { limit: 8 }));
          assert.equal(claimed.length, 8);
          const expected = new Map([
            [channel.id, await store.getChannel(application.id, channel.id)],
            [second.id, await store.getChannel(application.id, second.id)],
          ]);
          for (const c of claimed) {
            assert.equal(c.channel.id, c.delivery.channelId);
            assert.deepEqual(c.channel, expected.get(c.delivery.channelId));
          }
          assert.deepEqual(
            claimed.filter((c) => c.channel.id === second.id).map((c) => c.channel.secrets),
            Array(4).fill({ secretHeaderValue: 'hdr-second' }),
          );
        });
      });

      it('hands over a claimed delivery and its message exactly as stored, whatever their text holds', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          // Raw text columns hold what PostgreSQL text can (no NUL); the JSON body escapes the rest.
          const tricky = 'quote " backslash \\ newline \n tab \t bell \u0007 é 漢字 🦊 </script>';
          const r = await publishOk(
            store,
            newMessage(
              application.id,
              { text: `${tricky} nul \u0000 lone \ud800`, nested: { list: [1, 2.5, null, true], big: 2 ** 53 - 1 } },
              {
                correlationId: `corr ${tricky}`,
                traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
                idempotencyKey: `key ${tricky}`,
              },
            ),
            planWith('order "key" 🦊', null),
            T0,
          );
          const [c] = await store.claimDueDeliveries(claimOptions(T0 + 1, { owner: 'worker "a" 🦊' }));
          assert.ok(c !== undefined);
          assert.deepEqual(c.message, r.message);
          assert.deepEqual(c.message, await store.getMessage(application.id, r.message.id));
          assert.deepEqual(c.delivery, await store.getDelivery(application.id, r.deliveries[0]!.id));
          assert.equal(c.delivery.orderingKey, 'order "key" 🦊');
          assert.equal(c.delivery.leaseOwner, 'worker "a" 🦊');
        });
      });

      it('respects the batch limit and claims oldest first', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) {
            ids.push(
              (await publishOk(store, newMessage(application.id, { i }), planAll, T0 + 10 - i)).deliveries[0]!.id,
            );
          }
          const first = await store.claimDueDeliveries(claimOptions(T0 + 20, { limit: 2 }));
          assert.deepEqual(
            first.map((c) => c.delivery.id),
            [ids[4], ids[3]],
          );
          const rest = await store.claimDueDeliveries(claimOptions(T0 + 20, { limit: 10 }));
          assert.deepEqual(
            rest.map((c) => c.delivery.id),
            [ids[2], ids[1], ids[0]],
          );
        });
      });

      it('skips inactive channels', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          await publishOk(store, newMessage(application.id));
          await store.updateChannel(application.id, channel.id, { isActive: false });
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 1)), []);
          assert.equal(await store.nextDueAt(), null);
          await store.updateChannel(application.id, channel.id, { isActive: true });
          assert.equal((await store.claimDueDeliveries(claimOptions(T0 + 1))).length, 1);
        });
      });

      it('caps deliveries in flight per channel (channel option over the default) without holding up others', async () => {
        await withStore(async (store) => {
          const { application, channel: capped } = await seedApplication(store, { maxInFlight: 3 });
          const free = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          for (let i = 0; i < 8; i++) await publishOk(store, newMessage(application.id, { i }), planAll, T0 + i);
          const first = await store.claimDueDeliveries(claimOptions(T0 + 100, { maxInFlightPerChannel: 5 }));
          const perChannel = (cs: typeof first, id: string) => cs.filter((c) => c.delivery.channelId === id).length;
          assert.equal(perChannel(first, capped.id), 3);
          assert.equal(perChannel(first, free.id), 5);
          const second = await store.claimDueDeliveries(claimOptions(T0 + 100, { maxInFlightPerChannel: 5 }));
          assert.equal(perChannel(second, capped.id), 0);
          assert.equal(perChannel(second, free.id), 0);
          const done = first.find((c) => c.delivery.channelId === capped.id)!;
          assert.equal(
            await store.recordAttempt(
              {
                deliveryId: done.delivery.id,
                owner: 'w1',
                attempt: newAttempt(done.delivery.id, T0 + 101, true),
                resolution: { state: 'delivered' },
              },
              T0 + 102,
            ),
            true,
          );
          const third = await store.claimDueDeliveries(claimOptions(T0 + 103, { maxInFlightPerChannel: 5 }));
          assert.equal(perChannel(third, capped.id), 1);
        });
      });

      it('holds every channel under the claim ceiling (channelCeiling), even one whose own cap is higher', async () => {
        await withStore(async (store) => {
          const { application, channel: wide } = await seedApplication(store, { maxInFlight: 50 });
          const plain = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          for (let i = 0; i < 12; i++) await publishOk(store, newMessage(application.id, { i }), planAll, T0 + i);
          const perChannel = (cs: ClaimedDelivery[], id: string) =>
            cs.filter((c) => c.delivery.channelId === id).length;
          const opts = claimOptions(T0 + 100, { maxInFlightPerChannel: 10, channelCeiling: 4 });
          const first = await store.claimDueDeliveries(opts);
          assert.equal(perChannel(first, wide.id), 4, 'the channel cap of 50 is held to the ceiling of 4');
          assert.equal(perChannel(first, plain.id), 4, 'the default cap of 10 too');
          assert.deepEqual(await store.claimDueDeliveries(opts), [], 'the ceiling counts what is already in flight');
          // The ceiling is per claimer: another worker gets its own 4 of each.
          const other = await store.claimDueDeliveries({ ...opts, owner: 'w2' });
          assert.equal(perChannel(other, wide.id), 4);
          assert.equal(perChannel(other, plain.id), 4);
          // The channel's own cap counts every claimer's leases: the plain channel (cap 10) has room for 2.
          const more = await store.claimDueDeliveries(claimOptions(T0 + 100, { maxInFlightPerChannel: 10 }));
          assert.equal(perChannel(more, wide.id), 4, 'without a ceiling, the rest of the wide channel (cap 50)');
          assert.equal(perChannel(more, plain.id), 2, 'the cap of 10 counts both workers');
        });
      });

      it('holds every application under applicationCeiling across its channels; other applications keep their room', async () => {
        await withStore(async (store) => {
          // Tenant A: three channels with 6 due each. Tenant B: one channel with 6 due.
          const { application: a } = await seedApplication(store, {}, 'a');
          for (let i = 0; i < 2; i++) {
            await store.createChannel({
              applicationId: a.id,
              kind: 0,
              isActive: true,
              includeImageData: true,
              config: webhook,
            });
          }
          const { application: b } = await seedApplication(store, {}, 'b');
          for (let i = 0; i < 6; i++) {
            await publishOk(store, newMessage(a.id, { i }), planAll, T0 + i);
            await publishOk(store, newMessage(b.id, { i }), planAll, T0 + 50 + i);
          }
          const byApp = (cs: ClaimedDelivery[], id: string) => cs.filter((c) => c.delivery.applicationId === id).length;
          const opts = (now: number, limit = 100) =>
            claimOptions(now, { limit, maxInFlightPerChannel: 10, channelCeiling: 10, applicationCeiling: 7 });
          // A's work is older, and the batch of 4 takes it first: all from A, under its ceiling.
          const first = await store.claimDueDeliveries(opts(T0 + 100, 4));
          assert.equal(byApp(first, a.id), 4);
          // The next claim: A has 3 left of its 7 (spread over its channels in one batch), B gets all of its 6.
          const second = await store.claimDueDeliveries(opts(T0 + 101));
          assert.equal(byApp(second, a.id), 3, 'A stops at its ceiling of 7 across three channels');
          assert.equal(byApp(second, b.id), 6, 'B is not held back by A');
          assert.deepEqual(await store.claimDueDeliveries(opts(T0 + 102)), [], 'the ceiling counts what is in flight');
          // The ceiling is per claimer: another worker has its own 7 for A (A has 11 due left).
          const other = await store.claimDueDeliveries({ ...opts(T0 + 102), owner: 'w2' });
          assert.equal(byApp(other, a.id), 7);
          // Recording one of A's attempts frees one slot for A.
          const one = [...first, ...second].find((c) => c.delivery.applicationId === a.id)!;
          assert.equal(
            await store.recordAttempt(
              {
                deliveryId: one.delivery.id,
                owner: 'w1',
                attempt: newAttempt(one.delivery.id, T0 + 103, true),
                resolution: { state: 'delivered' },
              },
              T0 + 103,
            ),
            true,
          );
          const third = await store.claimDueDeliveries(opts(T0 + 104));
          assert.equal(third.length, 1);
          assert.equal(third[0]!.delivery.applicationId, a.id);
          // Without the ceiling, A's channels take all their work (18 due, 15 taken).
          const rest = await store.claimDueDeliveries(claimOptions(T0 + 105, { maxInFlightPerChannel: 10 }));
          assert.equal(byApp(rest, a.id), 3);
        });
      });

      it('holds a channel failing for failingChannel.afterMs to failingChannel.cap; a success lifts it', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store, { maxInFlight: 10 });
          for (let i = 0; i < 12; i++) await publishOk(store, newMessage(application.id, { i }), planAll, T0 + i);
          const failing = { afterMs: 1_000, cap: 2 };
          const claimAt = (now: number) =>
            store.claimDueDeliveries(claimOptions(now, { failingChannel: failing, limit: 1 }));
          const record = async (id: string, startedAt: number, ok: boolean) =>
            assert.equal(
              await store.recordAttempt(
                {
                  deliveryId: id,
                  owner: 'w1',
                  attempt: newAttempt(id, startedAt, ok),
                  resolution: ok ? { state: 'delivered' } : { state: 'pending', nextAttemptAt: startedAt + 1 },
                },
                startedAt + 1,
              ),
              true,
            );
          // A failed attempt starts the streak at T0 + 100.
          const [first] = await claimAt(T0 + 100);
          await record(first!.delivery.id, T0 + 100, false);
          assert.equal((await store.getChannel(application.id, channel.id))?.failingSince, T0 + 100);
          // Failing for less than afterMs: the channel's own cap (10).
          const young = await store.claimDueDeliveries(claimOptions(T0 + 600, { failingChannel: failing }));
          assert.equal(young.length, 10);
          await store.releaseLeases('w1');
          // Failing for afterMs and more: at most 2 in flight, whatever is due.
          const old = await store.claimDueDeliveries(claimOptions(T0 + 1_100, { failingChannel: failing }));
          assert.equal(old.length, 2);
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 1_100, { failingChannel: failing })), []);
          // A success ends the streak: the channel's cap applies again.
          await record(old[0]!.delivery.id, T0 + 1_200, true);
          assert.equal((await store.getChannel(application.id, channel.id))?.failingSince, null);
          const after = await store.claimDueDeliveries(claimOptions(T0 + 1_300, { failingChannel: failing }));
          assert.equal(after.length, 9, 'cap 10, one still in flight');
        });
      });

      it('keeps publish order per ordering key: a later delivery waits while an earlier one is pending or delivering', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store, { orderingKey: 'ImageId' });
          const a1 = await publishOk(store, newMessage(application.id, { n: 1 }), planWith('img-a', null), T0);
          const a2 = await publishOk(store, newMessage(application.id, { n: 2 }), planWith('img-a', null), T0 + 1);
          const b1 = await publishOk(store, newMessage(application.id, { n: 3 }), planWith('img-b', null), T0 + 2);
          const none = await publishOk(store, newMessage(application.id, { n: 4 }), planWith(null, null), T0 + 3);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10));
          assert.deepEqual(
            claimed.map((c) => c.delivery.id),
            [a1.deliveries[0]!.id, b1.deliveries[0]!.id, none.deliveries[0]!.id],
          );
          // a1 fails and is retried later: a2 still waits behind it.
          const a1id = a1.deliveries[0]!.id;
          await store.recordAttempt(
            {
              deliveryId: a1id,
              owner: 'w1',
              attempt: newAttempt(a1id, T0 + 11, false),
              resolution: { state: 'pending', nextAttemptAt: T0 + 1000 },
            },
            T0 + 12,
          );
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 20)), []);
          const retried = await store.claimDueDeliveries(claimOptions(T0 + 1000));
          assert.deepEqual(
            retried.map((c) => c.delivery.id),
            [a1id],
          );
          await store.recordAttempt(
            {
              deliveryId: a1id,
              owner: 'w1',
              attempt: newAttempt(a1id, T0 + 1001, true),
              resolution: { state: 'delivered' },
            },
            T0 + 1002,
          );
          const next = await store.claimDueDeliveries(claimOptions(T0 + 1003));
          assert.deepEqual(
            next.map((c) => c.delivery.id),
            [a2.deliveries[0]!.id],
          );
        });
      });

      it('keeps the ordering rule when an older delivery of the key is redelivered or a waited-on one is superseded', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store, { orderingKey: 'ImageId', coalesceProgress: true });
          const finish = async (id: string, now: number, state: 'delivered' | 'dead') =>
            store.recordAttempt(
              {
                deliveryId: id,
                owner: 'w1',
                attempt: newAttempt(id, now, state === 'delivered'),
                resolution: { state },
              },
              now,
            );
          // old1 dies, then new1 (same key) is published and delivered; redelivering old1 must not let new2 pass it.
          const old1 = await publishOk(store, newMessage(application.id, { n: 1 }), planWith('k', null), T0);
          await store.claimDueDeliveries(claimOptions(T0));
          await finish(old1.deliveries[0]!.id, T0 + 1, 'dead');
          const new2 = await publishOk(store, newMessage(application.id, { n: 2 }), planWith('k', null), T0 + 2);
          await store.redeliver(application.id, old1.deliveries[0]!.id, T0 + 3);
          const first = await store.claimDueDeliveries(claimOptions(T0 + 4));
          assert.deepEqual(
            first.map((c) => c.delivery.id),
            [old1.deliveries[0]!.id],
          );
          await finish(old1.deliveries[0]!.id, T0 + 5, 'delivered');
          const second = await store.claimDueDeliveries(claimOptions(T0 + 6));
          assert.deepEqual(
            second.map((c) => c.delivery.id),
            [new2.deliveries[0]!.id],
          );
          await finish(new2.deliveries[0]!.id, T0 + 7, 'delivered');
          // p1 (progress) is waited on by c2; superseding p1 by p3 makes c2 next, and p3 waits behind c2.
          const p1 = await publishOk(store, newMessage(application.id, { n: 3 }), planWith('img', 'render'), T0 + 10);
          const c2 = await publishOk(store, newMessage(application.id, { n: 4 }), planWith('img', null), T0 + 11);
          const p3 = await publishOk(store, newMessage(application.id, { n: 5 }), planWith('img', 'render'), T0 + 12);
          assert.equal((await store.getDelivery(application.id, p1.deliveries[0]!.id))?.state, 'superseded');
          const third = await store.claimDueDeliveries(claimOptions(T0 + 13));
          assert.deepEqual(
            third.map((c) => c.delivery.id),
            [c2.deliveries[0]!.id],
          );
          await finish(c2.deliveries[0]!.id, T0 + 14, 'delivered');
          const fourth = await store.claimDueDeliveries(claimOptions(T0 + 15));
          assert.deepEqual(
            fourth.map((c) => c.delivery.id),
            [p3.deliveries[0]!.id],
          );
        });
      });

      it('a saturated channel with a backlog does not hold up a newer delivery of another channel', async () => {
        await withStore(async (store) => {
          const { application, channel: slow } = await seedApplication(store, { maxInFlight: 2 });
          const fast = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          const onlySlow = (channels: Channel[]) => planAll(channels.filter((c) => c.id === slow.id));
          for (let i = 0; i < 40; i++) await publishOk(store, newMessage(application.id, { i }), onlySlow, T0 + i);
          assert.equal((await store.claimDueDeliveries(claimOptions(T0 + 100, { limit: 10 }))).length, 2);
          const late = await publishOk(
            store,
            newMessage(application.id, { late: true }),
            (channels) => planAll(channels.filter((c) => c.id === fast.id)),
            T0 + 200,
          );
          const next = await store.claimDueDeliveries(claimOptions(T0 + 200, { limit: 10 }));
          assert.deepEqual(
            next.map((c) => c.delivery.id),
            [late.deliveries[0]!.id],
          );
        });
      });

      it('reclaims a delivery whose lease expired; the old owner can no longer record', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const r = await publishOk(store, newMessage(application.id));
          const id = r.deliveries[0]!.id;
          await store.claimDueDeliveries(claimOptions(T0, { owner: 'dead-worker', leaseMs: 1000 }));
          assert.deepEqual(await store.claimDueDeliveries(claimOptions(T0 + 999, { owner: 'w2' })), []);
          assert.equal(await store.nextDueAt(), T0 + 1000);
          const again = await store.claimDueDeliveries(claimOptions(T0 + 1001, { owner: 'w2' }));
          assert.deepEqual(
            again.map((c) => [c.delivery.id, c.delivery.leaseOwner]),
            [[id, 'w2']],
          );
          const lost = await store.recordAttempt(
            {
              deliveryId: id,
              owner: 'dead-worker',
              attempt: newAttempt(id, T0 + 1002, true),
              resolution: { state: 'delivered' },
            },
            T0 + 1003,
          );
          assert.equal(lost, false);
          const d = await store.getDelivery(application.id, id);
          assert.equal(d?.state, 'delivering');
          assert.equal(d?.leaseOwner, 'w2');
          assert.equal(d?.attempts, 0);
          assert.deepEqual((await store.listAttempts(application.id, {}, {})).items, []);
          assert.equal(
            await store.recordAttempt(
              {
                deliveryId: id,
                owner: 'w2',
                attempt: newAttempt(id, T0 + 1004, true),
                resolution: { state: 'delivered' },
              },
              T0 + 1005,
            ),
            true,
          );
          assert.equal(
            await store.recordAttempt(
              {
                deliveryId: id,
                owner: 'w2',
                attempt: newAttempt(id, T0 + 1006, true),
                resolution: { state: 'delivered' },
              },
              T0 + 1007,
            ),
            false,
            'a delivery no longer leased cannot be recorded twice',
          );
          assert.equal(
            await store.recordAttempt(
              {
                deliveryId: 'missing',
                owner: 'w2',
                attempt: newAttempt('missing', T0, true),
                resolution: { state: 'delivered' },
              },
              T0,
            ),
            false,
          );
        });
      });

      it('releases leases back to pending, due again at once', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          for (let i = 0; i < 3; i++) await publishOk(store, newMessage(application.id, { i }), planAll, T0);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 5, { owner: 'w1' }));
          assert.equal(claimed.length, 3);
          assert.equal(await store.releaseLeases('someone-else'), 0);
          assert.equal(await store.releaseLeases('w1', [claimed[0]!.delivery.id]), 1);
          const released = await store.getDelivery(application.id, claimed[0]!.delivery.id);
          assert.equal(released?.state, 'pending');
          assert.equal(released?.leaseOwner, null);
          assert.equal(released?.attempts, 0);
          assert.equal(await store.releaseLeases('w1'), 2);
          assert.equal((await store.claimDueDeliveries(claimOptions(T0 + 5, { owner: 'w2' }))).length, 3);
        });
      });

      it('sets aside a channel whose secrets cannot be decrypted: others still flow, its work waits, pending, once disabled', async () => {
        await withStore(async (store, db) => {
          const good = await seedApplication(store, {}, 'good');
          const moved = await seedApplication(store, {}, 'moved');
          // Sealed with a key this store's keyring does not have: ENCRYPTION_KEY_UNKNOWN.
          const other = await db.open(createKeyring({ current: KEY_B, previous: [KEY_A] }));
          const unknownKey = await seedApplication(other, {}, 'unknown-key');
          await other.close();
          // A ciphertext copied from another channel's row: SECRETS_UNREADABLE.
          await db.sql(
            `UPDATE channels SET secrets = (SELECT secrets FROM channels WHERE id = '${good.channel.id}') WHERE id = '${moved.channel.id}'`,
          );
          const ids = (r: { deliveries: { id: string }[] }) => r.deliveries.map((d) => d.id);
          const goodIds = [
            ...ids(await publishOk(store, newMessage(good.application.id, { n: 1 }), planAll, T0)),
            ...ids(await publishOk(store, newMessage(good.application.id, { n: 2 }), planAll, T0 + 2)),
          ];
          const movedIds = ids(await publishOk(store, newMessage(moved.application.id, { n: 3 }), planAll, T0 + 1));
          const unknownIds = ids(
            await publishOk(store, newMessage(unknownKey.application.id, { n: 4 }), planAll, T0 + 1),
          );

          const reported: UnreadableChannel[] = [];
          const onUnreadableChannel = (u: UnreadableChannel) => reported.push(u);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10, { onUnreadableChannel }));
          assert.deepEqual(
            claimed.map((c) => c.delivery.id),
            goodIds,
          );
          assert.deepEqual(
            reported.map((u) => [u.channelId, u.code, u.disabled]).sort(),
            [
              [moved.channel.id, 'SECRETS_UNREADABLE', true],
              [unknownKey.channel.id, 'ENCRYPTION_KEY_UNKNOWN', true],
            ].sort(),
          );
          for (const [app, channelId, deliveryIds, code] of [
            [moved.application.id, moved.channel.id, movedIds, 'SECRETS_UNREADABLE'],
            [unknownKey.application.id, unknownKey.channel.id, unknownIds, 'ENCRYPTION_KEY_UNKNOWN'],
          ] as const) {
            for (const id of deliveryIds) {
              const d = await store.getDelivery(app, id);
              assert.equal(d?.state, 'pending', 'its deliveries are kept, pending');
              assert.equal(d?.attempts, 0, 'no attempt is counted');
              assert.equal(d?.leaseOwner, null);
            }
            const [row] = await db.sql(`SELECT is_active, disabled_reason FROM channels WHERE id = '${channelId}'`);
            assert.equal(Boolean(row?.['is_active']), false);
            assert.match(String(row?.['disabled_reason']), new RegExp(code));
            const events = (await store.listEvents(app, {})).items;
            assert.deepEqual(
              events.map((e) => [e.type, e.channelId]),
              [['channel.secrets_unreadable', channelId]],
            );
            assert.equal(events[0]!.detail.includes('hdr-'), false, 'no secret in the event');
          }

          // Never spins: nothing of the set-aside channels is due or claimable, and no second event is recorded.
          assert.deepEqual(
            await store.claimDueDeliveries(claimOptions(T0 + 20, { owner: 'w2', onUnreadableChannel })),
            [],
          );
          assert.equal(reported.length, 2);
          assert.equal(await store.nextDueAt(), T0 + 10 + 30_000, 'only the leases of the good channel are due');
          // New publishes skip the deactivated channel; the application without an active channel gets a 404.
          const again = await store.publish(newMessage(moved.application.id, { n: 5 }), planAll, T0 + 30);
          assert.deepEqual(again, { ok: false, reason: 'no_active_channel' });

          // The operator re-enters the secrets and re-enables the channel: its waiting work is delivered.
          await store.updateChannel(moved.application.id, moved.channel.id, {
            secrets: { secretHeaderValue: 'fixed' },
            isActive: true,
          });
          const resumed = await store.claimDueDeliveries(claimOptions(T0 + 40, { owner: 'w3', onUnreadableChannel }));
          assert.deepEqual(
            resumed.map((c) => c.delivery.id),
            movedIds,
          );
          assert.deepEqual(resumed[0]?.channel.secrets, { secretHeaderValue: 'fixed' });
          assert.equal(reported.length, 2);
        });
      });

      it('claims a full batch past an unreadable channel whose deliveries are the oldest', async () => {
        await withStore(async (store, db) => {
          const bad = await seedApplication(store, {}, 'bad');
          const good = await seedApplication(store, {}, 'good');
          await db.sql(
            `UPDATE channels SET secrets = (SELECT secrets FROM channels WHERE id = '${good.channel.id}') WHERE id = '${bad.channel.id}'`,
          );
          for (let i = 0; i < 3; i++) await publishOk(store, newMessage(bad.application.id, { i }), planAll, T0 + i);
          for (let i = 0; i < 4; i++)
            await publishOk(store, newMessage(good.application.id, { i }), planAll, T0 + 10 + i);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 100, { limit: 4 }));
          assert.equal(claimed.length, 4);
          assert.ok(claimed.every((c) => c.channel.id === good.channel.id));
          assert.equal((await store.countDeliveriesByState()).pending, 3);
        });
      });

      it('nextDueAt is the earliest due time of active work, or null', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          assert.equal(await store.nextDueAt(), null);
          await publishOk(store, newMessage(application.id, { a: 1 }), planAll, T0 + 50);
          await publishOk(store, newMessage(application.id, { a: 2 }), planAll, T0 + 20);
          assert.equal(await store.nextDueAt(), T0 + 20);
        });
      });
    });

    describe('attempts', () => {
      it('records each outcome, numbers attempts and tracks the channel failure streak', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const r = await publishOk(store, newMessage(application.id));
          const id = r.deliveries[0]!.id;
          const claimAndRecord = async (
            now: number,
            ok: boolean,
            resolution: Parameters<Store['recordAttempt']>[0]['resolution'],
          ) => {
            const [c] = await store.claimDueDeliveries(claimOptions(now));
            assert.equal(c?.delivery.id, id);
            return store.recordAttempt(
              { deliveryId: id, owner: 'w1', attempt: newAttempt(id, now, ok), resolution },
              now + 1,
            );
          };
          assert.equal(await claimAndRecord(T0 + 10, false, { state: 'pending', nextAttemptAt: T0 + 100 }), true);
          let d = await store.getDelivery(application.id, id);
          assert.equal(d?.state, 'pending');
          assert.equal(d?.attempts, 1);
          assert.equal(d?.nextAttemptAt, T0 + 100);
          assert.equal(d?.leaseOwner, null);
          assert.equal(d?.lastOutcome, 'http_status');
          assert.equal(d?.lastStatusCode, 503);
          assert.equal(d?.lastError, 'Service Unavailable');
          assert.equal((await store.getChannel(application.id, channel.id))?.failingSince, T0 + 10);
          await claimAndRecord(T0 + 100, false, { state: 'pending', nextAttemptAt: T0 + 200 });
          assert.equal((await store.getChannel(application.id, channel.id))?.failingSince, T0 + 10);
          await claimAndRecord(T0 + 200, true, { state: 'delivered' });
          d = await store.getDelivery(application.id, id);
          assert.equal(d?.state, 'delivered');
          assert.equal(d?.deliveredAt, T0 + 201);
          assert.equal(d?.attempts, 3);
          assert.equal(d?.lastOutcome, 'delivered');
          assert.equal((await store.getChannel(application.id, channel.id))?.failingSince, null);
          const attempts = await store.listAttempts(application.id, { deliveryId: id }, {});
          assert.deepEqual(
            attempts.items.map((a) => [a.attemptNumber, a.ok, a.startedAt]),
            [
              [3, true, T0 + 200],
              [2, false, T0 + 100],
              [1, false, T0 + 10],
            ],
          );
          const a = attempts.items[2]!;
          assert.equal(a.messageId, r.message.id);
          assert.equal(a.channelId, channel.id);
          assert.equal(a.applicationId, application.id);
          assert.equal(a.durationMs, 12);
          assert.equal(a.responseExcerpt, 'down');
          assert.equal(a.statusCode, 503);
          assert.equal(a.brokerReply, null);
        });
      });

      it('moves a delivery to failed or dead', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const a = await publishOk(store, newMessage(application.id, { a: 1 }));
          const b = await publishOk(store, newMessage(application.id, { b: 1 }));
          await store.claimDueDeliveries(claimOptions(T0));
          const ida = a.deliveries[0]!.id;
          const idb = b.deliveries[0]!.id;
          assert.deepEqual(
            await store.recordAttempts(
              [
                { deliveryId: ida, owner: 'w1', attempt: newAttempt(ida, T0, false), resolution: { state: 'failed' } },
                { deliveryId: idb, owner: 'w1', attempt: newAttempt(idb, T0, false), resolution: { state: 'dead' } },
                { deliveryId: idb, owner: 'w1', attempt: newAttempt(idb, T0, false), resolution: { state: 'dead' } },
              ],
              T0 + 1,
            ),
            [true, true, false],
          );
          assert.deepEqual(await store.recordAttempts([], T0), []);
          assert.equal((await store.getDelivery(application.id, ida))?.state, 'failed');
          assert.equal((await store.getDelivery(application.id, idb))?.state, 'dead');
          const counts = await store.countDeliveriesByState();
          assert.deepEqual(counts, { pending: 0, delivering: 0, delivered: 0, failed: 1, dead: 1, superseded: 0 });
          assert.equal(await store.nextDueAt(), null);
        });
      });
    });

    describe('batched attempts', () => {
      it('records a batch in input order: failure streaks per channel, lost leases, next delivery of a key', async () => {
        await withStore(async (store) => {
          const { application, channel: a } = await seedApplication(store);
          const add = (options: ChannelOptions) =>
            store.createChannel({
              applicationId: application.id,
              kind: 0,
              isActive: true,
              includeImageData: true,
              config: webhook,
              options,
            });
          const b = await add({});
          const c = await add({ orderingKey: 'ImageId' });
          const only = (id: string, orderingKey: string | null) => (channels: Channel[]) =>
            channels.filter((x) => x.id === id).map((x) => ({ channelId: x.id, orderingKey, coalesceKey: null }));
          const ids = async (channelId: string, n: number, orderingKey: string | null = null) => {
            const out: string[] = [];
            for (let i = 0; i < n; i++) {
              const r = await publishOk(
                store,
                newMessage(application.id, { channelId, i }),
                only(channelId, orderingKey),
              );
              out.push(r.deliveries[0]!.id);
            }
            return out;
          };
          const [a1, a2, a3] = await ids(a.id, 3);
          const [b1, b2, b3] = await ids(b.id, 3);
          const [c1, c2] = await ids(c.id, 2, 'img');
          const claimed = await store.claimDueDeliveries(claimOptions(T0));
          assert.equal(claimed.length, 7, 'c2 waits behind c1');
          const later = { state: 'pending' as const, nextAttemptAt: T0 + 10_000 };
          const input = (
            id: string,
            t: number,
            ok: boolean,
            resolution: Parameters<Store['recordAttempt']>[0]['resolution'],
            owner = 'w1',
          ) => ({
            deliveryId: id,
            owner,
            attempt: newAttempt(id, T0 + t, ok),
            resolution,
          });
          const results = await store.recordAttempts(
            [
              input(a1!, 10, false, later),
              input(a2!, 11, true, { state: 'delivered' }),
              input(b1!, 12, true, { state: 'delivered' }),
              input(b2!, 20, false, later),
              input(b3!, 30, false, { state: 'dead' }),
              input(c1!, 40, true, { state: 'delivered' }),
              input(a3!, 41, true, { state: 'delivered' }, 'not-the-owner'),
            ],
            T0 + 50,
          );
          assert.deepEqual(results, [true, true, true, true, true, true, false]);
          const failingSince = async (id: string) => (await store.getChannel(application.id, id))?.failingSince;
          assert.equal(await failingSince(a.id), null);
          assert.equal(await failingSince(b.id), T0 + 20);
          assert.equal(await failingSince(c.id), null);
          assert.equal((await store.getDelivery(application.id, a3!))?.state, 'delivering');
          assert.equal((await store.getDelivery(application.id, b3!))?.state, 'dead');
          assert.equal((await store.getDelivery(application.id, a2!))?.deliveredAt, T0 + 50);
          assert.deepEqual(
            (await store.claimDueDeliveries(claimOptions(T0 + 60))).map((x) => x.delivery.id),
            [c2],
          );
          const retry = await store.claimDueDeliveries(claimOptions(T0 + 10_000));
          assert.deepEqual(retry.map((x) => x.delivery.id).sort(), [a1, b2].sort());
          await store.recordAttempts(
            [input(a1!, 10_001, false, { state: 'dead' }), input(b2!, 10_002, false, { state: 'dead' })],
            T0 + 10_003,
          );
          assert.equal(await failingSince(a.id), T0 + 10_001);
          assert.equal(await failingSince(b.id), T0 + 20);
          const attempts = await store.listAttempts(application.id, { deliveryId: a1! }, {});
          assert.deepEqual(
            attempts.items.map((x) => [x.attemptNumber, x.ok]),
            [
              [2, false],
              [1, false],
            ],
          );
        });
      });
    });

    describe('delivery log queries', () => {
      it('pages messages newest first with an opaque cursor, filters, and scopes by application', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const other = await seedApplication(store, {}, 'other');
          const ids: string[] = [];
          for (let i = 0; i < 7; i++) {
            const type = i % 2 === 0 ? 'TaskCompleted' : 'TaskProgress';
            const r = await publishOk(
              store,
              { ...newMessage(application.id, { i }), type, correlationId: i === 3 ? 'corr-3' : null },
              planAll,
              // two messages share a timestamp, so the id breaks the tie
              T0 + Math.min(i, 5),
            );
            ids.push(r.message.id);
          }
          await publishOk(store, newMessage(other.application.id));
          const seen: string[] = [];
          let cursor: string | null = null;
          for (let page = 0; page < 10; page++) {
            const p = await store.listMessages(application.id, {}, { limit: 3, cursor });
            seen.push(...p.items.map((m) => m.id));
            assert.ok(p.items.length <= 3);
            cursor = p.nextCursor;
            if (cursor === null) break;
          }
          assert.equal(seen.length, 7);
          assert.deepEqual(new Set(seen), new Set(ids));
          const createdAt = (await Promise.all(seen.map((id) => store.getMessage(application.id, id)))).map(
            (m) => m!.createdAt,
          );
          assert.deepEqual(
            createdAt,
            [...createdAt].sort((x, y) => y - x),
          );
          assert.equal((await store.listMessages(application.id, { type: 'TaskProgress' }, {})).items.length, 3);
          assert.deepEqual(
            (await store.listMessages(application.id, { correlationId: 'corr-3' }, {})).items.map((m) => m.id),
            [ids[3]],
          );
          const window = await store.listMessages(application.id, { since: T0 + 2, until: T0 + 4 }, {});
          assert.deepEqual(new Set(window.items.map((m) => m.id)), new Set([ids[2], ids[3]]));
          assert.equal((await store.listMessages(application.id, {}, { limit: 0 })).items.length, 1);
          await assert.rejects(
            store.listMessages(application.id, {}, { cursor: 'not-a-cursor' }),
            (e: unknown) => e instanceof StoreInputError && e.code === 'INVALID_CURSOR',
          );
          const seqCursor = (await store.listDeliveries(application.id, {}, { limit: 1 })).nextCursor!;
          await assert.rejects(store.listMessages(application.id, {}, { cursor: seqCursor }), StoreInputError);
        });
      });

      it('pages and filters deliveries and attempts', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          const other = await seedApplication(store, {}, 'other');
          const messages = [];
          for (let i = 0; i < 4; i++)
            messages.push(await publishOk(store, newMessage(application.id, { i }), planAll, T0 + i));
          await publishOk(store, newMessage(other.application.id), planAll, T0 + 9);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 10, { limit: 3 }));
          for (const [i, c] of claimed.entries()) {
            await store.recordAttempt(
              {
                deliveryId: c.delivery.id,
                owner: 'w1',
                attempt: newAttempt(c.delivery.id, T0 + 20 + i, i === 0),
                resolution: i === 0 ? { state: 'delivered' } : { state: 'dead' },
              },
              T0 + 30,
            );
          }
          const all: string[] = [];
          let cursor: string | null = null;
          for (let page = 0; page < 10; page++) {
            const p = await store.listDeliveries(application.id, {}, { limit: 3, cursor });
            all.push(...p.items.map((d) => d.id));
            cursor = p.nextCursor;
            if (cursor === null) break;
          }
          assert.equal(all.length, 8);
          assert.equal(new Set(all).size, 8);
          assert.equal((await store.listDeliveries(application.id, { channelId: second.id }, {})).items.length, 4);
          assert.equal((await store.listDeliveries(application.id, { state: 'dead' }, {})).items.length, 2);
          assert.deepEqual(
            (await store.listDeliveries(application.id, { messageId: messages[0]!.message.id }, {})).items
              .map((d) => d.channelId)
              .sort(),
            [channel.id, second.id].sort(),
          );
          assert.equal(
            (await store.listDeliveries(application.id, { since: T0 + 2, until: T0 + 3 }, {})).items.length,
            2,
          );
          assert.equal((await store.listAttempts(application.id, {}, {})).items.length, 3);
          assert.equal((await store.listAttempts(application.id, { ok: true }, {})).items.length, 1);
          assert.equal((await store.listAttempts(application.id, { ok: false }, {})).items.length, 2);
          assert.equal((await store.listAttempts(application.id, { since: T0 + 21 }, {})).items.length, 2);
          // By message and by channel: each attempt's own message and channel, and nothing of another.
          for (const c of claimed) {
            const byMessage = (await store.listAttempts(application.id, { messageId: c.message.id }, {})).items;
            const expected = claimed.filter((x) => x.message.id === c.message.id).map((x) => x.delivery.id);
            assert.deepEqual(byMessage.map((a) => a.deliveryId).sort(), [...expected].sort());
            const byChannel = (await store.listAttempts(application.id, { channelId: c.channel.id }, {})).items;
            assert.deepEqual(
              byChannel.map((a) => a.deliveryId).sort(),
              claimed
                .filter((x) => x.channel.id === c.channel.id)
                .map((x) => x.delivery.id)
                .sort(),
            );
          }
          assert.deepEqual(
            (await store.listAttempts(application.id, { messageId: messages[3]!.message.id }, {})).items,
            [],
          );
          const firstPage = await store.listAttempts(application.id, {}, { limit: 2 });
          assert.equal(firstPage.items.length, 2);
          const secondPage = await store.listAttempts(application.id, {}, { limit: 2, cursor: firstPage.nextCursor });
          assert.equal(secondPage.items.length, 1);
          assert.equal(secondPage.nextCursor, null);
          assert.deepEqual((await store.listAttempts(other.application.id, {}, {})).items, []);
          assert.equal((await store.listDeliveries(other.application.id, {}, {})).items.length, 1);
        });
      });
    });

    describe('recovery', () => {
      it('redelivers a dead delivery: pending now, attempt numbering kept, retry budget restarted', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const other = await store.createApplication({ name: 'other' });
          const r = await publishOk(store, newMessage(application.id));
          const id = r.deliveries[0]!.id;
          await store.claimDueDeliveries(claimOptions(T0));
          await store.recordAttempt(
            { deliveryId: id, owner: 'w1', attempt: newAttempt(id, T0, false), resolution: { state: 'dead' } },
            T0 + 1,
          );
          assert.equal(await store.redeliver(other.id, id, T0 + 10), null);
          assert.equal(await store.redeliver(application.id, 'missing', T0 + 10), null);
          const back = await store.redeliver(application.id, id, T0 + 10);
          assert.equal(back?.state, 'pending');
          assert.equal(back?.nextAttemptAt, T0 + 10);
          assert.equal(back?.attempts, 1);
          assert.equal(back?.attemptsSinceReset, 0);
          await store.claimDueDeliveries(claimOptions(T0 + 10));
          await store.recordAttempt(
            { deliveryId: id, owner: 'w1', attempt: newAttempt(id, T0 + 11, true), resolution: { state: 'delivered' } },
            T0 + 12,
          );
          const delivered = await store.getDelivery(application.id, id);
          assert.equal(delivered?.attempts, 2);
          assert.equal(delivered?.attemptsSinceReset, 1);
          assert.deepEqual(
            (await store.listAttempts(application.id, { deliveryId: id }, {})).items.map((a) => a.attemptNumber),
            [2, 1],
          );
          const unchanged = await store.redeliver(application.id, id, T0 + 20);
          assert.equal(unchanged?.state, 'delivered');
          const forced = await store.redeliver(application.id, id, T0 + 20, { force: true });
          assert.equal(forced?.state, 'pending');
          assert.equal(forced?.deliveredAt, null);
        });
      });

      it('recovers failed and dead deliveries since a time, optionally for one channel', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const second = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
          });
          const other = await seedApplication(store, {}, 'other');
          await publishOk(store, newMessage(application.id, { old: true }), planAll, T0);
          await publishOk(store, newMessage(application.id, { fresh: true }), planAll, T0 + 100);
          await publishOk(store, newMessage(other.application.id), planAll, T0 + 100);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 200));
          assert.equal(claimed.length, 5);
          await store.recordAttempts(
            claimed.map((c, i) => ({
              deliveryId: c.delivery.id,
              owner: 'w1',
              attempt: newAttempt(c.delivery.id, T0 + 200, false),
              resolution: i % 2 === 0 ? { state: 'dead' as const } : { state: 'failed' as const },
            })),
            T0 + 201,
          );
          assert.equal(await store.recover(application.id, { since: T0 + 50, channelId: second.id }, T0 + 300), 1);
          assert.equal(await store.recover(application.id, { since: T0 + 50 }, T0 + 300), 1);
          assert.equal(await store.recover(application.id, { since: T0 + 50 }, T0 + 300), 0);
          const pending = await store.listDeliveries(application.id, { state: 'pending' }, {});
          assert.deepEqual(
            pending.items.map((d) => [d.nextAttemptAt, d.attemptsSinceReset]),
            [
              [T0 + 300, 0],
              [T0 + 300, 0],
            ],
          );
          assert.ok(pending.items.some((d) => d.channelId === channel.id));
          assert.equal((await store.listDeliveries(other.application.id, { state: 'pending' }, {})).items.length, 0);
        });
      });
    });

    describe('operational events', () => {
      it('records events and pages them newest first per application', async () => {
        await withStore(async (store) => {
          const { application, channel } = await seedApplication(store);
          const other = await store.createApplication({ name: 'other' });
          for (let i = 0; i < 3; i++) {
            await store.recordEvent(
              { applicationId: application.id, channelId: channel.id, type: 'test', detail: `e${i}` },
              T0 + i,
            );
          }
          const e = await store.recordEvent({ applicationId: other.id, channelId: null, type: 'x', detail: 'y' }, T0);
          assert.equal(e.channelId, null);
          const p1 = await store.listEvents(application.id, { limit: 2 });
          const p2 = await store.listEvents(application.id, { limit: 2, cursor: p1.nextCursor });
          assert.deepEqual(
            [...p1.items, ...p2.items].map((x) => x.detail),
            ['e2', 'e1', 'e0'],
          );
          assert.equal(p2.nextCursor, null);
          assert.equal((await store.listEvents(other.id, {})).items.length, 1);
        });
      });
    });

    describe('retention', () => {
      it('prunes old attempts, and old messages whose deliveries are all finished', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          const done = await publishOk(store, newMessage(application.id, { a: 1 }), planAll, T0);
          const waiting = await publishOk(store, newMessage(application.id, { b: 1 }), planAll, T0);
          const recent = await publishOk(store, newMessage(application.id, { c: 1 }), planAll, T0 + 1000);
          const claimed = await store.claimDueDeliveries(claimOptions(T0 + 1000));
          for (const c of claimed) {
            const resolution =
              c.delivery.id === waiting.deliveries[0]!.id
                ? { state: 'pending' as const, nextAttemptAt: T0 + 5000 }
                : { state: 'delivered' as const };
            await store.recordAttempt(
              { deliveryId: c.delivery.id, owner: 'w1', attempt: newAttempt(c.delivery.id, T0 + 10, true), resolution },
              T0 + 1001,
            );
          }
          await store.claimDueDeliveries(claimOptions(T0 + 5000));
          assert.equal((await store.listAttempts(application.id, {}, {})).items.length, 3);
          const pruned = await store.prune({ attemptsBefore: T0 + 11, messagesBefore: T0 + 500 });
          assert.deepEqual(pruned, { attempts: 3, messages: 1 });
          assert.equal(await store.getMessage(application.id, done.message.id), null);
          assert.equal(await store.getDelivery(application.id, done.deliveries[0]!.id), null);
          assert.notEqual(await store.getMessage(application.id, waiting.message.id), null);
          assert.notEqual(await store.getMessage(application.id, recent.message.id), null);
          assert.deepEqual(await store.prune({ attemptsBefore: T0 + 11, messagesBefore: T0 + 500 }), {
            attempts: 0,
            messages: 0,
          });
        });
      });
    });

    describe('new-work signal', () => {
      it('calls listeners after a publish commits', async () => {
        await withStore(async (store) => {
          const { application } = await seedApplication(store);
          let calls = 0;
          let wake: () => void = () => {};
          const unsubscribe = store.onNewWork(() => {
            calls += 1;
            wake();
          });
          const signalled = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), 10_000);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          await publishOk(store, newMessage(application.id));
          assert.equal(await signalled, true, 'no new-work signal within 10 s of a publish');
          assert.ok(calls >= 1);
          unsubscribe();
        });
      });
    });

    describe('secrets at rest', () => {
      const secret = 'S3cr3t-header-value-7d1c';
      const signing = 'whsec_c2lnbmluZy1zZWNyZXQtdmFsdWU=';
      const seedSecret = async (store: Store) => {
        const application = await store.createApplication({ name: 'enc' });
        const channel = await store.createChannel({
          applicationId: application.id,
          kind: 0,
          isActive: true,
          includeImageData: true,
          config: { ...webhook, secretHeaderName: 'x-secret' },
          secrets: { secretHeaderValue: secret, signingSecrets: [signing] },
        });
        return { application, channel };
      };
      const rawText = (rows: RawRow[]) =>
        rows
          .flatMap((r) => Object.values(r))
          .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v)))
          .join('\n');

      it('never writes a secret in clear to any table', async () => {
        await withStore(async (store, db) => {
          const { application } = await seedSecret(store);
          await publishOk(store, newMessage(application.id));
          for (const table of ['channels', 'messages', 'deliveries', 'events', 'applications']) {
            const text = rawText(await db.sql(`SELECT * FROM ${table}`));
            assert.equal(text.includes(secret), false, `secret found in ${table}`);
            assert.equal(text.includes(signing), false, `signing secret found in ${table}`);
          }
          const [row] = await db.sql('SELECT secrets FROM channels');
          assert.ok(row?.['secrets'] instanceof Uint8Array);
        });
      });

      it('refuses a ciphertext copied to another channel row', async () => {
        await withStore(async (store, db) => {
          const { application, channel } = await seedSecret(store);
          const victim = await store.createChannel({
            applicationId: application.id,
            kind: 0,
            isActive: true,
            includeImageData: true,
            config: webhook,
            secrets: { secretHeaderValue: 'other' },
          });
          await db.sql(
            `UPDATE channels SET secrets = (SELECT secrets FROM channels WHERE id = '${channel.id}') WHERE id = '${victim.id}'`,
          );
          await assert.rejects(
            store.getChannel(application.id, victim.id),
            (e: unknown) =>
              e instanceof StoreIntegrityError && e.code === 'SECRETS_UNREADABLE' && !e.message.includes(secret),
          );
          assert.deepEqual((await store.getChannel(application.id, channel.id))?.secrets.secretHeaderValue, secret);
        });
      });

      it('reads data written with an old key after rotation, and with the new key alone after re-encryption', async () => {
        await withStore(async (store, db) => {
          const { application, channel } = await seedSecret(store);
          await store.close();
          const rotated = await db.open(createKeyring({ current: KEY_B, previous: [KEY_A] }));
          try {
            assert.equal((await rotated.getChannel(application.id, channel.id))?.secrets.secretHeaderValue, secret);
            assert.equal(await rotated.reencryptSecrets(), 1);
            assert.equal(await rotated.reencryptSecrets(), 0);
          } finally {
            await rotated.close();
          }
          const onlyB = await db.open(createKeyring({ current: KEY_B }));
          try {
            const c = await onlyB.getChannel(application.id, channel.id);
            assert.deepEqual(c?.secrets, { secretHeaderValue: secret, signingSecrets: [signing] });
          } finally {
            await onlyB.close();
          }
          const onlyA = await db.open(createKeyring({ current: KEY_A }));
          try {
            await assert.rejects(
              onlyA.getChannel(application.id, channel.id),
              (e: unknown) => e instanceof StoreIntegrityError && e.code === 'ENCRYPTION_KEY_UNKNOWN',
            );
          } finally {
            await onlyA.close();
          }
        });
      });
    });
  });
}
