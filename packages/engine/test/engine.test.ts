import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  type AttemptEvent,
  type ChannelDisabledEvent,
  createEngine,
  createRecordingTransport,
  deliveredOutcome,
  EngineError,
  hangUntilAborted,
  permanentOutcome,
  retryableOutcome,
} from '@herald/engine';
import {
  ADAPTERS,
  completedMessage,
  createApp,
  createWebhookChannel,
  openTestStore,
  progressMessage,
  testClock,
  waitFor,
} from './helpers.ts';

const SECOND = 1_000;
const HOUR = 3_600_000;
/** Exact, window-free schedule: 1 s, 2 s, 4 s, ... */
const plainRetry = { baseDelayMs: SECOND, minRetryWindowMs: 0, jitterRatio: 0.2 } as const;

for (const kind of ADAPTERS) {
  describe(`engine on ${kind}`, () => {
    it('refuses a publish with no active channel and stores nothing', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const engine = createEngine({ store: t.store, transports: {}, retention: null });
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 10) });
      assert.deepEqual(r, { ok: false, reason: 'no_active_channel' });
      const page = await t.store.listMessages(appId, {}, {});
      assert.equal(page.items.length, 0);
    });

    it('refuses an invalid body with a problem and stores nothing', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const engine = createEngine({ store: t.store, transports: {}, retention: null });
      const r = await engine.publish({ applicationId: appId, body: { MessageType: 'ImageGenerationProgress' } });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, 'invalid');
      assert.equal((await t.store.listMessages(appId, {}, {})).items.length, 0);
      // The problem's trace id: the caller's, else the traceparent's trace, else a new one (never a placeholder).
      const problemOf = async (extra: { traceId?: string; traceparent?: string }) => {
        const res = await engine.publish({
          applicationId: appId,
          body: { MessageType: 'ImageGenerationProgress' },
          ...extra,
        });
        assert.ok(!res.ok && res.reason === 'invalid');
        return res.problem;
      };
      assert.equal((await problemOf({ traceId: 'given-trace' })).extensions?.traceId, 'given-trace');
      const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
      assert.match(
        (await problemOf({ traceparent: `00-${trace}-00f067aa0ba902b7-01` })).extensions?.traceId ?? '',
        new RegExp(`^00-${trace}-[0-9a-f]{16}-00$`),
      );
      assert.match((await problemOf({})).extensions?.traceId ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    });

    it('stores the serialised body and one pending delivery per active channel', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const c1 = await createWebhookChannel(t.store, appId);
      const c2 = await createWebhookChannel(t.store, appId);
      const inactive = await createWebhookChannel(t.store, appId);
      await t.store.updateChannel(appId, inactive.id, { isActive: false });
      const engine = createEngine({ store: t.store, transports: {}, retention: null });
      const r = await engine.publish({
        applicationId: appId,
        body: progressMessage(appId, randomUUID(), 80),
        correlationId: 'corr-1',
      });
      assert.ok(r.ok);
      assert.equal(r.duplicate, false);
      assert.match(r.message.body, /"Progress":80\.0/);
      assert.equal(r.message.correlationId, 'corr-1');
      assert.deepEqual(r.deliveries.map((d) => d.channelId).sort(), [c1.id, c2.id].sort());
      assert.ok(r.deliveries.every((d) => d.state === 'pending'));
    });

    it('retries on the exact schedule with an injected clock and random, then dies after RetryCount + 1 attempts', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const channel = await createWebhookChannel(t.store, appId, { retryCount: 2, factor: 3 });
      const clock = testClock();
      const transport = createRecordingTransport();
      transport.respond(() => retryableOutcome());
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        random: () => 0.5,
        retry: plainRetry,
        retention: null,
      });
      const published = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
      assert.ok(published.ok);
      const deliveryId = published.deliveries[0]!.id;

      assert.equal(await engine.runOnce(), 1);
      let d = await t.store.getDelivery(appId, deliveryId);
      // 1 s × 3^0 × (1 + 0.2 × 0.5)
      assert.equal(d?.state, 'pending');
      assert.equal(d?.nextAttemptAt, clock.now + 1_100);

      clock.advance(1_099);
      assert.equal(await engine.runOnce(), 0, 'not due before its time');
      clock.advance(1);
      assert.equal(await engine.runOnce(), 1);
      d = await t.store.getDelivery(appId, deliveryId);
      assert.equal(d?.nextAttemptAt, clock.now + 3_300); // 1 s × 3^1 × 1.1

      clock.advance(3_300);
      assert.equal(await engine.runOnce(), 1);
      d = await t.store.getDelivery(appId, deliveryId);
      assert.equal(d?.state, 'dead');
      assert.equal(d?.attempts, 3);
      clock.advance(HOUR);
      assert.equal(await engine.runOnce(), 0, 'a dead delivery is not claimed again');

      const attempts = await t.store.listAttempts(appId, { deliveryId }, {});
      assert.equal(attempts.items.length, 3);
      assert.ok(attempts.items.every((a) => a.ok === false && a.outcome === 'http_status' && a.statusCode === 503));
      assert.equal(transport.jobs.length, 3);
      assert.equal(transport.jobs[0]?.channel.id, channel.id);

      // Redelivery puts it back to pending with a fresh retry budget; the attempt log keeps numbering.
      const again = await engine.redeliver(appId, deliveryId);
      assert.equal(again?.state, 'pending');
      assert.equal(await engine.runOnce(), 1);
      d = await t.store.getDelivery(appId, deliveryId);
      assert.equal(d?.state, 'pending', 'a redelivered delivery gets its retries again');
      assert.equal(d?.nextAttemptAt, clock.now + 1_100);
      transport.respond(() => deliveredOutcome());
      clock.advance(1_100);
      assert.equal(await engine.runOnce(), 1);
      assert.equal((await t.store.getDelivery(appId, deliveryId))?.state, 'delivered');
      assert.deepEqual(
        transport.jobs.map((j) => j.attemptNumber),
        [1, 2, 3, 4, 5],
      );
    });

    it('marks a permanent failure failed at once, and recover() brings it back', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId, { retryCount: 5 });
      const clock = testClock();
      const transport = createRecordingTransport();
      transport.respond(() => permanentOutcome({ statusCode: 422 }));
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        retention: null,
      });
      const published = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
      assert.ok(published.ok);
      assert.equal(await engine.runOnce(), 1);
      const d = await t.store.getDelivery(appId, published.deliveries[0]!.id);
      assert.equal(d?.state, 'failed');
      assert.equal(d?.lastStatusCode, 422);

      transport.respond(() => deliveredOutcome());
      assert.equal(await engine.recover(appId, { since: clock.now - HOUR }), 1);
      assert.equal(await engine.runOnce(), 1);
      assert.equal((await t.store.getDelivery(appId, published.deliveries[0]!.id))?.state, 'delivered');
    });

    it('disables the channel at once on HTTP 410, emits channel.disabled, and resumes when re-enabled', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const channel = await createWebhookChannel(t.store, appId);
      const clock = testClock();
      const transport = createRecordingTransport();
      transport.respond(() => permanentOutcome({ statusCode: 410, disableChannel: true }));
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        retention: null,
      });
      const disabled: ChannelDisabledEvent[] = [];
      engine.on('channel.disabled', (e) => disabled.push(e));

      const first = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
      assert.ok(first.ok);
      assert.equal(await engine.runOnce(), 1);
      const ch = await t.store.getChannel(appId, channel.id);
      assert.equal(ch?.isActive, false);
      assert.match(ch?.disabledReason ?? '', /410/);
      assert.equal(disabled.length, 1);
      assert.equal(disabled[0]?.channel.id, channel.id);
      assert.equal((await t.store.getDelivery(appId, first.deliveries[0]!.id))?.state, 'failed');

      // While disabled no message is accepted for it (no active channel), and nothing is claimed.
      const none = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 2) });
      assert.deepEqual(none, { ok: false, reason: 'no_active_channel' });

      await t.store.updateChannel(appId, channel.id, { isActive: true, disabledReason: null });
      transport.respond(() => deliveredOutcome());
      const next = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 3) });
      assert.ok(next.ok);
      assert.equal(await engine.runOnce(), 1);
      assert.equal((await t.store.getDelivery(appId, next.deliveries[0]!.id))?.state, 'delivered');
    });

    it('auto-disables a channel after the configured stretch of unbroken failures; pending work resumes on re-enable', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const channel = await createWebhookChannel(t.store, appId, { retryCount: 10 });
      const clock = testClock();
      const transport = createRecordingTransport();
      transport.respond(() => retryableOutcome());
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        random: () => 0,
        retry: { ...plainRetry, maxDelayMs: HOUR },
        autoDisable: { afterMs: 2 * HOUR },
        retention: null,
      });
      const disabled: ChannelDisabledEvent[] = [];
      engine.on('channel.disabled', (e) => disabled.push(e));
      const published = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
      assert.ok(published.ok);
      const deliveryId = published.deliveries[0]!.id;

      assert.equal(await engine.runOnce(), 1);
      const failingSince = (await t.store.getChannel(appId, channel.id))?.failingSince;
      assert.equal(failingSince, clock.now, 'the store marks the start of the failing stretch');
      // A failure just short of the stretch leaves it active.
      clock.now = failingSince! + 2 * HOUR - 1;
      assert.equal(await engine.runOnce(), 1);
      assert.equal((await t.store.getChannel(appId, channel.id))?.isActive, true);
      assert.equal(disabled.length, 0);

      const d = await t.store.getDelivery(appId, deliveryId);
      clock.now = Math.max(failingSince! + 2 * HOUR, d!.nextAttemptAt);
      assert.equal(await engine.runOnce(), 1);
      const ch = await t.store.getChannel(appId, channel.id);
      assert.equal(ch?.isActive, false);
      assert.match(ch?.disabledReason ?? '', /no successful attempt/);
      assert.equal(disabled.length, 1);
      const afterDisable = await t.store.getDelivery(appId, deliveryId);
      assert.equal(afterDisable?.state, 'pending', 'the delivery waits for the channel');
      clock.advance(HOUR * 24);
      assert.equal(await engine.runOnce(), 0, 'nothing claimed for a disabled channel');

      await t.store.updateChannel(appId, channel.id, { isActive: true, disabledReason: null });
      transport.respond(() => deliveredOutcome());
      assert.equal(await engine.runOnce(), 1);
      assert.equal((await t.store.getDelivery(appId, deliveryId))?.state, 'delivered');
      assert.equal((await t.store.getChannel(appId, channel.id))?.failingSince, null);
    });

    it('strips ImageContentBytes for includeImageData = false and keeps it in the stored message', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const withImages = await createWebhookChannel(t.store, appId, { includeImageData: true });
      const without = await createWebhookChannel(t.store, appId, { includeImageData: false });
      const transport = createRecordingTransport();
      const engine = createEngine({ store: t.store, transports: { webhook: transport }, retention: null });
      const published = await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) });
      assert.ok(published.ok);
      assert.equal(await engine.runOnce(), 2);
      const byChannel = new Map(transport.jobs.map((j) => [j.channel.id, j.body]));
      assert.equal(byChannel.get(withImages.id), published.message.body);
      const stripped = byChannel.get(without.id) ?? '';
      assert.equal(stripped.includes('ImageContentBytes'), false);
      assert.deepEqual(Object.keys(JSON.parse(stripped)), [
        'MessageType',
        'ApplicationId',
        'UserId',
        'ImageRenderProcessId',
        'TaskId',
        'IsSuccessful',
        'ErrorMessage',
      ]);
      const stored = await t.store.getMessage(appId, published.message.id);
      assert.match(stored?.body ?? '', /"ImageContentBytes":"aGVsbG8gd29ybGQ="/);
    });

    it('delivers a later message for an ordering key only after the earlier one, even while it retries', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId, { retryCount: 5, options: { orderingKey: 'ImageRenderProcessId' } });
      const clock = testClock();
      const transport = createRecordingTransport();
      const processA = randomUUID();
      const processB = randomUUID();
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        random: () => 0,
        retry: plainRetry,
        retention: null,
      });
      const first = await engine.publish({ applicationId: appId, body: progressMessage(appId, processA, 10) });
      clock.advance(1);
      const second = await engine.publish({ applicationId: appId, body: progressMessage(appId, processA, 20) });
      clock.advance(1);
      const other = await engine.publish({ applicationId: appId, body: progressMessage(appId, processB, 30) });
      assert.ok(first.ok && second.ok && other.ok);
      let failFirst = true;
      transport.respond((job) =>
        job.message.id === first.message.id && failFirst ? retryableOutcome() : deliveredOutcome(),
      );

      assert.equal(await engine.runOnce(), 2, 'the first of key A and the message of key B');
      assert.equal((await t.store.getDelivery(appId, second.deliveries[0]!.id))?.state, 'pending');
      assert.equal((await t.store.getDelivery(appId, other.deliveries[0]!.id))?.state, 'delivered');

      clock.advance(500);
      assert.equal(await engine.runOnce(), 0, 'the second waits while the first is retrying');
      failFirst = false;
      clock.advance(600);
      assert.equal(await engine.runOnce(), 1);
      assert.equal(await engine.runOnce(), 1);
      const order = transport.jobs.filter((j) => j.message.id !== other.message.id).map((j) => j.message.id);
      assert.deepEqual(order, [first.message.id, first.message.id, second.message.id]);
    });

    it('supersedes an older pending progress message of the same render process (coalescing)', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const coalescing = await createWebhookChannel(t.store, appId, { options: { coalesceProgress: true } });
      const plain = await createWebhookChannel(t.store, appId);
      const transport = createRecordingTransport();
      const engine = createEngine({ store: t.store, transports: { webhook: transport }, retention: null });
      const processId = randomUUID();
      const ids: string[] = [];
      for (const p of [10, 20, 30]) {
        const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, processId, p) });
        assert.ok(r.ok);
        ids.push(r.message.id);
      }
      const done = await engine.publish({ applicationId: appId, body: completedMessage(appId, processId) });
      assert.ok(done.ok);
      await engine.drain({ timeoutMs: 10_000 });
      const toCoalescing = transport.jobs.filter((j) => j.channel.id === coalescing.id).map((j) => j.message.id);
      const toPlain = transport.jobs.filter((j) => j.channel.id === plain.id).map((j) => j.message.id);
      assert.deepEqual(toCoalescing.sort(), [ids[2], done.message.id].sort());
      assert.deepEqual(toPlain.sort(), [...ids, done.message.id].sort());
      const superseded = await t.store.listDeliveries(appId, { channelId: coalescing.id, state: 'superseded' }, {});
      assert.equal(superseded.items.length, 2);
    });

    it('gives a channel whose attempts have all failed for 5 s at most 2 attempts in flight', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const down = await createWebhookChannel(t.store, appId, { options: { maxInFlight: 10 } });
      const clock = testClock();
      const transport = createRecordingTransport();
      transport.respond(() => retryableOutcome());
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        concurrency: 8,
        batchSize: 8,
        pollIntervalMs: 50,
        retention: null,
      });
      for (let i = 0; i < 12; i++) {
        assert.ok((await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) })).ok);
      }
      // A first round fails (6 attempts: the ceiling of 8): the channel's failure streak starts.
      assert.equal(await engine.runOnce(), 6);
      assert.equal((await t.store.getChannel(appId, down.id))?.failingSince, clock.now);
      // A minute later everything is due again and the endpoint now hangs: it is probed by 2 attempts, not 6.
      clock.advance(60_000);
      transport.respond(() => hangUntilAborted());
      engine.start();
      try {
        await waitFor(() => transport.inFlight >= 2, 'the probes');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(transport.inFlight, 2);
      } finally {
        await engine.stop({ deadlineMs: 100 });
      }
    });

    it('holds a hanging channel whose own cap exceeds the concurrency to three quarters of the slots', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const slow = await createWebhookChannel(t.store, appId, { options: { maxInFlight: 100 } });
      const fast = await createWebhookChannel(t.store, appId);
      const transport = createRecordingTransport();
      transport.respond((job) => (job.channel.id === slow.id ? hangUntilAborted() : deliveredOutcome()));
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        concurrency: 8,
        batchSize: 8,
        pollIntervalMs: 200,
        retention: null,
      });
      const attempts: AttemptEvent[] = [];
      engine.on('attempt', (e) => attempts.push(e));
      const messages = 20;
      for (let i = 0; i < messages; i++) {
        const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) });
        assert.ok(r.ok);
      }
      engine.start();
      try {
        await waitFor(
          () =>
            attempts.filter((a) => a.channel.id === fast.id && a.resolution.state === 'delivered').length === messages,
          'every delivery of the healthy channel',
        );
        assert.equal(transport.inFlight, 6, 'the hung channel holds floor(8 * 3 / 4) slots, not all 8');
      } finally {
        const stopped = await engine.stop({ deadlineMs: 100 });
        assert.equal(stopped.aborted, 6);
      }
    });

    it('holds an application whose many channels hang to seven eighths of the slots; another application goes on', async () => {
      await using t = await openTestStore(kind);
      const noisy = await createApp(t.store);
      const hanging: string[] = [];
      for (let i = 0; i < 4; i++) hanging.push((await createWebhookChannel(t.store, noisy)).id);
      const quiet = await createApp(t.store);
      const healthy = await createWebhookChannel(t.store, quiet);
      const transport = createRecordingTransport();
      transport.respond((job) => (hanging.includes(job.channel.id) ? hangUntilAborted() : deliveredOutcome()));
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        concurrency: 8,
        batchSize: 8,
        // Each hanging channel alone may hold 4: together they could hold all 8 slots.
        maxInFlightPerChannel: 4,
        pollIntervalMs: 200,
        retention: null,
      });
      const attempts: AttemptEvent[] = [];
      engine.on('attempt', (e) => attempts.push(e));
      // The noisy application's work is older: it is claimed first.
      for (let i = 0; i < 10; i++) {
        assert.ok((await engine.publish({ applicationId: noisy, body: progressMessage(noisy, randomUUID(), i) })).ok);
      }
      const messages = 20;
      for (let i = 0; i < messages; i++) {
        assert.ok((await engine.publish({ applicationId: quiet, body: progressMessage(quiet, randomUUID(), i) })).ok);
      }
      engine.start();
      try {
        await waitFor(
          () =>
            attempts.filter((a) => a.channel.id === healthy.id && a.resolution.state === 'delivered').length ===
            messages,
          'every delivery of the other application',
        );
        assert.equal(transport.inFlight, 7, 'the noisy application holds floor(8 * 7 / 8) slots, not all 8');
        assert.equal(attempts.filter((a) => hanging.includes(a.channel.id)).length, 0);
      } finally {
        const stopped = await engine.stop({ deadlineMs: 100 });
        assert.equal(stopped.aborted, 7);
      }
    });

    it('keeps delivering to other channels while one channel hangs, and a graceful stop releases the hung leases', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      const slow = await createWebhookChannel(t.store, appId);
      const fast = await createWebhookChannel(t.store, appId);
      const transport = createRecordingTransport();
      transport.respond((job) => (job.channel.id === slow.id ? hangUntilAborted() : deliveredOutcome()));
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        concurrency: 8,
        batchSize: 4,
        maxInFlightPerChannel: 3,
        pollIntervalMs: 200,
        retention: null,
      });
      const attempts: AttemptEvent[] = [];
      engine.on('attempt', (e) => attempts.push(e));
      const messages = 12;
      for (let i = 0; i < messages; i++) {
        const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) });
        assert.ok(r.ok);
      }
      engine.start();
      try {
        await waitFor(
          () =>
            attempts.filter((a) => a.channel.id === fast.id && a.resolution.state === 'delivered').length === messages,
          'every delivery of the healthy channel',
        );
        // The hung channel still holds its cap of in-flight attempts and none of them finished.
        assert.equal(transport.inFlight, 3);
        assert.equal(attempts.filter((a) => a.channel.id === slow.id).length, 0);
      } finally {
        const stopped = await engine.stop({ deadlineMs: 100 });
        assert.equal(stopped.aborted, 3);
        assert.equal(stopped.released, 3);
      }
      const slowDeliveries = await t.store.listDeliveries(appId, { channelId: slow.id }, { limit: 100 });
      assert.equal(slowDeliveries.items.length, messages);
      assert.ok(slowDeliveries.items.every((d) => d.state === 'pending' && d.attempts === 0 && d.leaseOwner === null));
      const fastDeliveries = await t.store.listDeliveries(
        appId,
        { channelId: fast.id, state: 'delivered' },
        { limit: 100 },
      );
      assert.equal(fastDeliveries.items.length, messages);
    });

    it('gives one message for concurrent publishes under the same idempotency key, and refuses a different body', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const engines = [0, 1, 2].map(() => createEngine({ store: t.store, transports: {}, retention: null }));
      const body = progressMessage(appId, randomUUID(), 42);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          engines[i % 3]!.publish({ applicationId: appId, body, idempotencyKey: 'key-1' }),
        ),
      );
      assert.ok(results.every((r) => r.ok));
      const ids = new Set(results.map((r) => (r.ok ? r.message.id : '')));
      assert.equal(ids.size, 1);
      assert.equal(results.filter((r) => r.ok && !r.duplicate).length, 1);
      assert.equal((await t.store.listMessages(appId, {}, {})).items.length, 1);
      assert.equal((await t.store.listDeliveries(appId, {}, {})).items.length, 1);

      const conflict = await engines[0]!.publish({
        applicationId: appId,
        body: progressMessage(appId, randomUUID(), 43),
        idempotencyKey: 'key-1',
      });
      assert.deepEqual(conflict, { ok: false, reason: 'idempotency_conflict', messageId: [...ids][0] });
    });

    it('stores the body hash for a message with an idempotency key only, where the conflict check uses it', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const engine = createEngine({ store: t.store, transports: {}, retention: null });
      const keyed = await engine.publish({
        applicationId: appId,
        body: progressMessage(appId, randomUUID(), 10),
        idempotencyKey: 'key-hash',
      });
      const keyless = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 11) });
      assert.ok(keyed.ok && keyless.ok);
      const storedKeyed = await t.store.getMessage(appId, keyed.message.id);
      const storedKeyless = await t.store.getMessage(appId, keyless.message.id);
      assert.ok(storedKeyed !== null);
      assert.equal(storedKeyed.bodyHash, createHash('sha256').update(storedKeyed.body).digest('hex'));
      assert.equal(storedKeyless?.bodyHash, '');
      // Two keyless publishes of the same body stay two messages.
      const body = progressMessage(appId, randomUUID(), 12);
      const a = await engine.publish({ applicationId: appId, body });
      const b = await engine.publish({ applicationId: appId, body });
      assert.ok(a.ok && b.ok && !a.duplicate && !b.duplicate);
      assert.notEqual(a.message.id, b.message.id);
    });

    it('prunes old attempts and delivered messages with the configured ages', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const clock = testClock();
      const transport = createRecordingTransport();
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        clock: clock.read,
        retention: { attemptsMaxAgeMs: HOUR, deliveredMessagesMaxAgeMs: 2 * HOUR, intervalMs: HOUR },
      });
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 5) });
      assert.ok(r.ok);
      await engine.drain();
      assert.deepEqual(await engine.prune(clock.now + HOUR / 2), { attempts: 0, messages: 0 });
      const pruned = await engine.prune(clock.now + 3 * HOUR);
      assert.equal(pruned.attempts, 1);
      assert.equal(pruned.messages, 1);
      assert.equal(await t.store.getMessage(appId, r.message.id), null);
    });

    it('records a transport that throws as a retryable internal failure, without its message', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const throwing = {
        deliver(): Promise<never> {
          throw new TypeError('boom https://user:hunter2@example.test');
        },
      };
      const engine = createEngine({ store: t.store, transports: { webhook: throwing }, retention: null });
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 5) });
      assert.ok(r.ok);
      assert.equal(await engine.runOnce(), 1);
      const d = await t.store.getDelivery(appId, r.deliveries[0]!.id);
      assert.equal(d?.state, 'pending');
      assert.equal(d?.lastOutcome, 'internal');
      assert.match(d?.lastError ?? '', /TypeError/);
      assert.equal((d?.lastError ?? '').includes('hunter2'), false);
    });

    it('a graceful stop waits for attempts that finish before the deadline and records them', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const transport = createRecordingTransport();
      let open: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      transport.respond(() => async () => {
        await gate;
        return deliveredOutcome();
      });
      const engine = createEngine({
        store: t.store,
        transports: { webhook: transport },
        pollIntervalMs: 100,
        retention: null,
      });
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 5) });
      assert.ok(r.ok);
      engine.start();
      await transport.waitForJobs(1);
      const stopping = engine.stop({ deadlineMs: 60_000 });
      open();
      assert.deepEqual(await stopping, { aborted: 0, released: 0 });
      assert.equal((await t.store.getDelivery(appId, r.deliveries[0]!.id))?.state, 'delivered');
    });

    it('records a retryable internal failure when no transport serves the channel kind', async () => {
      await using t = await openTestStore(kind);
      const appId = await createApp(t.store);
      await createWebhookChannel(t.store, appId);
      const engine = createEngine({ store: t.store, transports: {}, retention: null });
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 5) });
      assert.ok(r.ok);
      assert.equal(await engine.runOnce(), 1);
      const d = await t.store.getDelivery(appId, r.deliveries[0]!.id);
      assert.equal(d?.state, 'pending');
      assert.equal(d?.lastOutcome, 'internal');
      assert.match(d?.lastError ?? '', /no webhook transport/);
    });
  });
}

describe('engine configuration', () => {
  it('fails at construction on a bad option, naming it', () => {
    const store = { claimDueDeliveries() {} } as unknown as Parameters<typeof createEngine>[0]['store'];
    assert.throws(
      () => createEngine({ store, transports: {}, concurrency: 0 }),
      (e: unknown) => e instanceof EngineError && e.code === 'invalid_config' && /concurrency/.test(e.message),
    );
    assert.throws(() => createEngine({ store, transports: {}, retry: { jitterRatio: -1 } }), /jitterRatio/);
    assert.throws(() => createEngine({ store, transports: {}, autoDisable: { afterMs: -5 } }), /autoDisable/);
    assert.throws(() => createEngine({ store, transports: { webhook: {} as never } }), /transports\.webhook/);
    assert.throws(() => createEngine({ store, transports: {}, recordDelayMs: -1 }), /recordDelayMs/);
    assert.throws(() => createEngine({ store, transports: {}, recordDelayMs: Number.NaN }), /recordDelayMs/);
  });
});

describe('attempt recording', () => {
  it('records the attempts of a batch together, in one transaction, and each one exactly once', async () => {
    await using t = await openTestStore('sqlite');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId, { options: { maxInFlight: 100 } });
    const calls: number[] = [];
    // The real store, counting how attempts reach it.
    const store = {
      ...t.store,
      recordAttempt: (...args: Parameters<typeof t.store.recordAttempt>) => {
        calls.push(1);
        return t.store.recordAttempt(...args);
      },
      recordAttempts: (...args: Parameters<typeof t.store.recordAttempts>) => {
        calls.push(args[0].length);
        return t.store.recordAttempts(...args);
      },
    };
    const transport = createRecordingTransport();
    transport.respond((_job, callIndex) => (callIndex === 13 ? retryableOutcome() : deliveredOutcome()));
    const engine = createEngine({
      store,
      transports: { webhook: transport },
      batchSize: 20,
      concurrency: 40,
      recordDelayMs: 1_000,
      maxInFlightPerChannel: 100,
      retention: null,
    });
    for (let i = 0; i < 20; i++) {
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) });
      assert.ok(r.ok);
    }
    // 20 claimed, 20 finished: the batch target is reached, so nobody waits for the 1 s delay.
    assert.equal(await engine.runOnce(), 20);
    assert.deepEqual(calls, [20]);
    const counts = await t.store.countDeliveriesByState();
    assert.equal(counts.delivered, 19);
    assert.equal(counts.pending, 1);
    assert.equal((await t.store.listAttempts(appId, {}, { limit: 100 })).items.length, 20);
  });

  it('sends nothing an attempt batch claimed while the engine was stopping: it is pending again, no attempt counted', async () => {
    await using t = await openTestStore('sqlite');
    const appId = await createApp(t.store);
    // A cap of two: the two attempts finish together and are recorded as one batch, which claims the next two.
    await createWebhookChannel(t.store, appId, { options: { maxInFlight: 2 } });
    let entered!: () => void;
    const inRecord = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const recordAndClaim = t.store.recordAttemptsAndClaim!.bind(t.store);
    // The real store; its record-and-claim held until stop() has begun.
    const store = {
      ...t.store,
      recordAttemptsAndClaim: async (...args: Parameters<typeof recordAndClaim>) => {
        entered();
        await gate;
        return recordAndClaim(...args);
      },
    };
    const transport = createRecordingTransport();
    const engine = createEngine({
      store,
      transports: { webhook: transport },
      recordDelayMs: 0,
      maxInFlightPerChannel: 2,
      pollIntervalMs: 60_000,
      retention: null,
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) });
      assert.ok(r.ok);
      ids.push(r.deliveries[0]!.id);
    }
    engine.start();
    await inRecord;
    const stopping = engine.stop();
    open();
    await stopping;
    assert.equal(transport.jobs.length, 2, 'only the two deliveries claimed before the stop were sent');
    const states = await Promise.all(ids.map(async (id) => (await t.store.getDelivery(appId, id))!));
    assert.deepEqual(
      states.map((d) => d.state),
      ['delivered', 'delivered', 'pending', 'pending'],
      'the deliveries claimed during the stop are pending again, not left leased',
    );
    assert.deepEqual(
      states.map((d) => d.attempts),
      [1, 1, 0, 0],
    );
    assert.equal((await t.store.listAttempts(appId, {}, { limit: 10 })).items.length, 2);
    // Due again now: another engine takes it at once, without waiting for a lease to expire.
    const next = createEngine({
      store: t.store,
      transports: { webhook: createRecordingTransport() },
      maxInFlightPerChannel: 2,
      retention: null,
    });
    assert.equal(await next.runOnce(), 2);
  });

  it('records a lone attempt after the delay, without waiting for a batch that never comes', async () => {
    await using t = await openTestStore('sqlite');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId);
    const transport = createRecordingTransport();
    const engine = createEngine({
      store: t.store,
      transports: { webhook: transport },
      recordDelayMs: 5,
      retention: null,
    });
    const r = await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
    assert.ok(r.ok);
    assert.equal(await engine.runOnce(), 1);
    assert.equal((await t.store.getDelivery(appId, r.deliveries[0]!.id))?.state, 'delivered');
  });
});
