import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createEngine, createRecordingTransport, type Engine } from '@herald/engine';
import { createApp, createWebhookChannel, openTestStore, progressMessage, waitFor } from './helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));

describe('workers on PostgreSQL', () => {
  it('several concurrent engines deliver every delivery exactly once (1,000 messages × 2 channels)', async () => {
    await using t = await openTestStore('postgres');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId);
    await createWebhookChannel(t.store, appId);
    const transport = createRecordingTransport();
    const engines: Engine[] = [];
    for (let i = 0; i < 4; i++) {
      const store = await t.open();
      engines.push(
        createEngine({
          store,
          transports: { webhook: transport },
          workerId: `worker-${i}`,
          batchSize: 16,
          concurrency: 32,
          maxInFlightPerChannel: 64,
          pollIntervalMs: 200,
          retention: null,
        }),
      );
    }
    const byEngine = new Map<string, number>();
    for (const e of engines) e.on('attempt', () => byEngine.set(e.workerId, (byEngine.get(e.workerId) ?? 0) + 1));
    for (const e of engines) e.start();
    try {
      const messages = 1_000;
      for (let i = 0; i < messages; i += 20) {
        const rs = await Promise.all(
          Array.from({ length: 20 }, (_, j) =>
            engines[j % 4]!.publish({
              applicationId: appId,
              body: progressMessage(appId, randomUUID(), (i + j) % 100),
            }),
          ),
        );
        assert.ok(rs.every((r) => r.ok));
      }
      await waitFor(
        async () => (await t.store.countDeliveriesByState()).delivered === 2 * messages,
        'all deliveries delivered',
        60_000,
      );
    } finally {
      await Promise.all(engines.map((e) => e.stop({ deadlineMs: 5_000 })));
    }
    const counts = new Map<string, number>();
    for (const job of transport.jobs) counts.set(job.delivery.id, (counts.get(job.delivery.id) ?? 0) + 1);
    assert.equal(counts.size, 2_000);
    assert.deepEqual([...new Set(counts.values())], [1], 'no delivery was handed to a transport twice');
    const states = await t.store.countDeliveriesByState();
    assert.equal(states.delivered, 2_000);
    assert.equal(states.pending + states.delivering + states.failed + states.dead, 0);
    assert.ok(byEngine.size >= 2, `work was shared between engines: ${JSON.stringify([...byEngine])}`);
  });

  it('a started engine is woken by work another process publishes (LISTEN/NOTIFY), not by its poll', async () => {
    await using t = await openTestStore('postgres');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId);
    const transport = createRecordingTransport();
    // The poll interval is far longer than the wait below: only the notification can wake it in time.
    const worker = createEngine({
      store: await t.open(),
      transports: { webhook: transport },
      pollIntervalMs: 600_000,
      retention: null,
    });
    const publisher = createEngine({ store: t.store, transports: {}, retention: null });
    worker.start();
    try {
      // Let the worker find nothing and go to sleep first.
      await waitFor(async () => (await t.store.countDeliveriesByState()).pending === 0, 'an idle worker');
      await new Promise((r) => setTimeout(r, 200));
      const r = await publisher.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), 1) });
      assert.ok(r.ok);
      await transport.waitForJobs(1, 20_000);
      assert.equal(transport.jobs[0]?.message.id, r.message.id);
    } finally {
      await worker.stop({ deadlineMs: 1_000 });
    }
  });

  it('a worker killed with SIGKILL mid-batch loses nothing: its leases expire and another engine delivers everything', async () => {
    await using t = await openTestStore('postgres');
    const appId = await createApp(t.store);
    await createWebhookChannel(t.store, appId);
    const seed = createEngine({ store: t.store, transports: {}, retention: null });
    const messages = 40;
    for (let i = 0; i < messages; i++) {
      const r = await seed.publish({ applicationId: appId, body: progressMessage(appId, randomUUID(), i) });
      assert.ok(r.ok);
    }
    const leaseMs = 30_000;
    const child = spawn(
      process.execPath,
      [join(here, 'fixtures', 'claim-and-hang.ts'), t.url, t.keyHex, 'doomed-worker', String(leaseMs), '25'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = once(child, 'exit');
    try {
      let stdout = '';
      await waitFor(() => {
        stdout += child.stdout.read()?.toString() ?? '';
        return /claimed \d+\n/.test(stdout) || child.exitCode !== null;
      }, `the child to claim a batch (stderr: ${stderr})`);
      assert.match(stdout, /claimed 25\n/, `child output: ${stdout} ${stderr}`);
    } finally {
      child.kill('SIGKILL');
    }
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');

    const leased = await t.store.listDeliveries(appId, { state: 'delivering' }, { limit: 100 });
    assert.equal(leased.items.length, 25);
    assert.ok(leased.items.every((d) => d.leaseOwner === 'doomed-worker'));

    const transport = createRecordingTransport();
    // The survivor's clock is past the dead worker's lease expiry; no waiting needed.
    const survivor = createEngine({
      store: await t.open(),
      transports: { webhook: transport },
      workerId: 'survivor',
      clock: () => Date.now() + leaseMs + 1_000,
      maxInFlightPerChannel: 64,
      retention: null,
    });
    await survivor.drain({ timeoutMs: 30_000 });
    const ids = transport.jobs.map((j) => j.delivery.id);
    assert.equal(ids.length, messages);
    assert.equal(new Set(ids).size, messages);
    const states = await t.store.countDeliveriesByState();
    assert.equal(states.delivered, messages);
    assert.equal(states.delivering + states.pending, 0);
  });
});
