import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '@herald/engine';
import { createStore, generateKeyringSpec, parseKeyring, type Store } from '@herald/store';
import { createTestDatabase, createTestPki, getFreePort, type TestDatabase, type TestPki } from '@herald/testing';
import { deliveryStates, progressMessage, spawnWorker, startHttpsReceiver, waitUntil } from './helpers.ts';

describe('worker process on PostgreSQL', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let dir: string;
  let caFile: string;
  const keyringSpec = generateKeyringSpec();
  let store: Store;

  before(async () => {
    db = await createTestDatabase('herald_worker');
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'herald-worker-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, pki.ca.cert);
    store = await createStore({ url: db.url, keyring: parseKeyring(keyringSpec) });
  });
  after(async () => {
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function seed(port: number, count: number): Promise<string> {
    const app = await store.createApplication({ name: `worker-test-${port}` });
    await store.createChannel({
      applicationId: app.id,
      kind: 0,
      isActive: true,
      includeImageData: true,
      config: { webHookUrl: `https://localhost:${port}/hook`, retryCount: 3, exponentialBackoffFactor: 2 },
      options: { maxInFlight: 32 },
    });
    // An engine without transports only publishes here; the worker process delivers.
    const publisher = createEngine({ store, transports: {}, retention: null });
    for (let i = 0; i < count; i++) {
      const r = await publisher.publish({ applicationId: app.id, body: progressMessage() });
      assert.ok(r.ok);
    }
    return app.id;
  }

  const workerEnv = (healthPort: number, extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    HERALD_ENCRYPTION_KEYS: keyringSpec,
    HERALD_EXTRA_CA_FILE: caFile,
    HERALD_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    HERALD_WORKER_PORT: String(healthPort),
    HERALD_WORKER_POLL_INTERVAL_MS: '200',
    HERALD_LOG_LEVEL: 'warn',
    ...extra,
  });

  it('delivers every pending delivery over HTTPS and reports it in /metrics', async () => {
    const receiver = await startHttpsReceiver(pki.server);
    const applicationId = await seed(receiver.port, 25);
    const healthPort = await getFreePort();
    const worker = spawnWorker(workerEnv(healthPort));
    try {
      await waitUntil('25 deliveries', () => new Set(receiver.ids).size === 25, 30_000, worker.output);
      await waitUntil(
        'all delivered in the store',
        async () => (await deliveryStates(store, applicationId)).every((d) => d.state === 'delivered'),
        15_000,
      );
      const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
      assert.match(metrics, /herald_worker_attempts_total\{outcome="delivered",transport="webhook"\} 25/);
      assert.match(metrics, /herald_worker_attempt_duration_seconds_count\{transport="webhook"\} 25/);
      assert.match(metrics, /herald_worker_in_flight 0/);
    } finally {
      worker.kill('SIGTERM');
      const { code } = await worker.exited;
      await receiver.close();
      assert.equal(code, 0, worker.output());
    }
  });

  it('on SIGTERM stops claiming and releases the leases of attempts still running at the deadline', async () => {
    const held: Array<() => void> = [];
    const receiver = await startHttpsReceiver(pki.server, (_req, res) => {
      held.push(() => res.writeHead(200).end('late'));
    });
    const applicationId = await seed(receiver.port, 6);
    const healthPort = await getFreePort();
    const worker = spawnWorker(workerEnv(healthPort, { HERALD_WORKER_SHUTDOWN_DEADLINE_MS: '300' }));
    try {
      await waitUntil('6 requests in flight', () => receiver.ids.length === 6, 30_000, worker.output);
      const leased = await deliveryStates(store, applicationId);
      assert.ok(
        leased.every((d) => d.state === 'delivering' && d.leaseOwner !== null),
        JSON.stringify(leased),
      );
      worker.kill('SIGTERM');
      const { code } = await worker.exited;
      assert.equal(code, 0, worker.output());
      const after = await deliveryStates(store, applicationId);
      assert.equal(after.length, 6);
      for (const d of after) {
        assert.equal(d.state, 'pending');
        assert.equal(d.leaseOwner, null);
        assert.equal(d.attempts, 0, 'a released lease does not count as an attempt');
      }
    } finally {
      for (const release of held) release();
      worker.kill('SIGKILL');
      await worker.exited;
      await receiver.close();
    }
  });

  it('on SIGTERM lets in-flight attempts that finish before the deadline be recorded as delivered', async () => {
    const held: Array<() => void> = [];
    const receiver = await startHttpsReceiver(pki.server, (_req, res) => {
      held.push(() => res.writeHead(200).end('ok'));
    });
    const applicationId = await seed(receiver.port, 4);
    const healthPort = await getFreePort();
    const worker = spawnWorker(
      workerEnv(healthPort, { HERALD_WORKER_SHUTDOWN_DEADLINE_MS: '15000', HERALD_LOG_LEVEL: 'info' }),
    );
    try {
      await waitUntil('4 requests in flight', () => receiver.ids.length === 4, 30_000, worker.output);
      worker.kill('SIGTERM');
      // Answer only after the worker has begun stopping: the answers still count.
      await waitUntil(
        'the worker to begin stopping',
        () => worker.output().includes('worker stopping'),
        10_000,
        worker.output,
      );
      for (const release of held) release();
      const { code } = await worker.exited;
      assert.equal(code, 0, worker.output());
      const states = await deliveryStates(store, applicationId);
      assert.deepEqual(
        states.map((d) => d.state),
        ['delivered', 'delivered', 'delivered', 'delivered'],
      );
    } finally {
      worker.kill('SIGKILL');
      await worker.exited;
      await receiver.close();
    }
  });

  it('refuses to start with a readable message when the environment is invalid', async () => {
    const worker = spawnWorker({
      DATABASE_URL: 'mysql://nope',
      HERALD_ENCRYPTION_KEYS: keyringSpec,
      HERALD_WORKER_CONCURRENCY: 'lots',
    });
    const { code } = await worker.exited;
    assert.equal(code, 1);
    assert.match(worker.output(), /DATABASE_URL/);
    assert.match(worker.output(), /HERALD_WORKER_CONCURRENCY/);
    assert.doesNotMatch(worker.output(), /mysql:\/\/nope/);
    assert.doesNotMatch(worker.output(), new RegExp(keyringSpec.split(':')[1]?.slice(0, 12) ?? 'x'));
  });
});
