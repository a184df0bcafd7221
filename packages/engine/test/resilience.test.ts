// Failure isolation: a channel whose secrets no longer decrypt, and a database that drops its connections or
// stays locked for a while, must not stop the other channels' deliveries, nor the worker loop or the process.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createEngine, createRecordingTransport } from '@herald/engine';
import { createKeyring, createSqliteStore } from '@herald/store';
import pg from 'pg';
import {
  ADAPTERS,
  capturingLogger,
  createApp,
  createWebhookChannel,
  openTestStore,
  progressMessage,
  rawSql,
  waitFor,
} from './helpers.ts';

/** Collects unhandled rejections and uncaught exceptions while `fn` runs. */
async function withoutCrashes(fn: () => Promise<void>): Promise<void> {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  try {
    await fn();
    // Let anything left over surface before the listeners go.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  }
  assert.deepEqual(crashes, [], 'no unhandled rejection or uncaught exception');
}

for (const kind of ADAPTERS) {
  describe(`failure isolation on ${kind}`, () => {
    it('sets aside a channel whose secrets no longer decrypt; every other channel keeps flowing through drain', async () => {
      await using t = await openTestStore(kind);
      const appA = await createApp(t.store);
      const appB = await createApp(t.store);
      const channelA = await createWebhookChannel(t.store, appA);
      const healthyB = await createWebhookChannel(t.store, appB);
      const broken = await t.store.createChannel({
        applicationId: appB,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: { webHookUrl: 'https://receiver.invalid/broken', retryCount: 3, exponentialBackoffFactor: 2 },
        secrets: { secretHeaderValue: 'broken-channel-secret' },
      });
      const transport = createRecordingTransport();
      const { lines, logger } = capturingLogger();
      const engine = createEngine({ store: t.store, transports: { webhook: transport }, retention: null, logger });
      for (let i = 0; i < 3; i++) {
        assert.ok((await engine.publish({ applicationId: appA, body: progressMessage(appA, randomUUID(), i) })).ok);
        assert.ok((await engine.publish({ applicationId: appB, body: progressMessage(appB, randomUUID(), i) })).ok);
      }
      // A ciphertext moved from another row: authentication fails (SECRETS_UNREADABLE).
      await rawSql(
        t,
        `UPDATE channels SET secrets = (SELECT secrets FROM channels WHERE id = '${channelA.id}') WHERE id = '${broken.id}'`,
      );

      await withoutCrashes(async () => {
        assert.equal(await engine.drain({ timeoutMs: 20_000 }), 6);
      });
      const delivered = transport.jobs.map((j) => j.channel.id);
      assert.equal(delivered.filter((id) => id === channelA.id).length, 3);
      assert.equal(delivered.filter((id) => id === healthyB.id).length, 3);
      assert.equal(delivered.includes(broken.id), false);

      const waiting = await t.store.listDeliveries(appB, { channelId: broken.id }, {});
      assert.equal(waiting.items.length, 3);
      assert.ok(waiting.items.every((d) => d.state === 'pending' && d.attempts === 0 && d.leaseOwner === null));
      const events = (await t.store.listEvents(appB, {})).items;
      assert.deepEqual(
        events.map((e) => [e.type, e.channelId]),
        [['channel.secrets_unreadable', broken.id]],
      );
      const logged = lines.filter((l) => l.message.includes('secrets cannot be read'));
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.fields?.['channelId'], broken.id);
      assert.equal(logged[0]?.fields?.['code'], 'SECRETS_UNREADABLE');
      assert.equal(JSON.stringify(lines).includes('broken-channel-secret'), false, 'no secret in the logs');

      // Nothing spins: the next drains find nothing, and nothing new is recorded or logged.
      assert.equal(await engine.drain({ timeoutMs: 5_000 }), 0);
      assert.equal((await t.store.listEvents(appB, {})).items.length, 1);
      assert.equal(lines.filter((l) => l.level === 'error').length, 1);

      // The operator re-enters the secret and re-enables the channel: the waiting deliveries go out.
      await t.store.updateChannel(appB, broken.id, { secrets: { secretHeaderValue: 're-entered' }, isActive: true });
      assert.equal(await engine.drain({ timeoutMs: 20_000 }), 3);
      const resumed = transport.jobs.filter((j) => j.channel.id === broken.id);
      assert.equal(resumed.length, 3);
      assert.equal(resumed[0]?.channel.secrets.secretHeaderValue, 're-entered');
    });
  });
}

describe('the worker loop when the database fails', () => {
  it('PostgreSQL: survives its connections being terminated (logs, backs off) and delivers new work afterwards', async () => {
    await using t = await openTestStore('postgres');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId);
    const transport = createRecordingTransport();
    const { lines, logger } = capturingLogger();
    const engine = createEngine({
      store: t.store,
      transports: { webhook: transport },
      pollIntervalMs: 20,
      // A write lost to a killed connection is retried once its lease lapses: keep that short here.
      leaseMs: 2_000,
      retention: null,
      logger,
    });
    const admin = new pg.Client({ connectionString: t.url });
    await admin.connect();
    await withoutCrashes(async () => {
      engine.start();
      try {
        assert.ok((await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) })).ok);
        await transport.waitForJobs(1, 20_000);
        // Recorded before the outage starts, so the outage cannot catch the first attempt's write.
        await waitFor(async () => (await t.store.countDeliveriesByState()).delivered === 1, 'first recorded');
        const claimFailed = () => lines.some((l) => l.message === 'claiming deliveries failed');
        // Drop every connection of the store (pool and LISTEN) until a claim has failed on one.
        for (let i = 0; i < 5_000 && !claimFailed(); i++) {
          await admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
          );
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        assert.ok(claimFailed(), 'a claim met a terminated connection');
        const failure = lines.find((l) => l.message === 'claiming deliveries failed');
        assert.equal(typeof failure?.fields?.['retryInMs'], 'number');
        assert.match(String(failure?.fields?.['error']), /database unavailable/, 'the log says what failed');

        // The database is back: the same loop delivers new work.
        let published = false;
        await waitFor(async () => {
          try {
            published = (await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 2) }))
              .ok;
          } catch {
            // a pooled connection killed a moment ago may still fail once
          }
          return published;
        }, 'a publish after the outage');
        await transport.waitForJobs(2, 30_000);
        await waitFor(async () => (await t.store.countDeliveriesByState()).delivered === 2, 'both recorded');
      } finally {
        await engine.stop({ deadlineMs: 1_000 });
        await admin.end();
      }
    });
  });

  it('SQLite: survives a database locked by another process (logs, backs off) and delivers once it is free', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-engine-'));
    const path = join(dir, 'herald.db');
    const keyring = createKeyring({ current: { id: 'k', key: randomBytes(32) } });
    const store = await createSqliteStore({ path, keyring, busyTimeoutMs: 10 });
    const other = new DatabaseSync(path);
    try {
      const appId = await createApp(store);
      await createWebhookChannel(store, appId);
      const transport = createRecordingTransport();
      const { lines, logger } = capturingLogger();
      const engine = createEngine({
        store,
        transports: { webhook: transport },
        pollIntervalMs: 20,
        retention: null,
        logger,
      });
      assert.ok((await engine.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) })).ok);
      await withoutCrashes(async () => {
        other.exec('BEGIN EXCLUSIVE');
        engine.start();
        try {
          await waitFor(() => lines.some((l) => l.message === 'claiming deliveries failed'), 'a failed claim');
          assert.equal(transport.jobs.length, 0);
          other.exec('ROLLBACK');
          await transport.waitForJobs(1, 20_000);
          await waitFor(async () => (await store.countDeliveriesByState()).delivered === 1, 'the attempt recorded');
          assert.ok(lines.some((l) => l.message === 'claiming deliveries works again'));
        } finally {
          if (other.isTransaction) other.exec('ROLLBACK');
          await engine.stop({ deadlineMs: 1_000 });
        }
      });
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
