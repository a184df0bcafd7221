import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEngine } from '@herald/engine';
import { createStore, generateKeyringSpec, parseKeyring, type Store } from '@herald/store';
import { createTestDatabase, createTestPki, type TestDatabase, type TestPki } from '@herald/testing';
import { type AppProcess, spawnApp, waitFor } from '../src/app-process.ts';
import { progressMessage } from '../src/messages.ts';
import { type ReceiverProcess, startReceiverProcess } from '../src/receiver-process.ts';

// Enough backlog that both workers still hold leases when one is killed, however fast the drain.
const COUNT = 1500;

describe('PostgreSQL with two worker processes, one killed with SIGKILL mid-run', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let dir: string;
  let store: Store;
  let receiver: ReceiverProcess | undefined;
  const workers: AppProcess[] = [];
  const keyringSpec = generateKeyringSpec();

  before(async () => {
    db = await createTestDatabase('herald_e2e_pg');
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'herald-e2e-pg-'));
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    writeFileSync(join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(join(dir, 'server-key.pem'), pki.server.key);
    store = await createStore({ url: db.url, keyring: parseKeyring(keyringSpec) });
  });
  after(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await receiver?.stop();
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message: the killed worker’s leases expire and the other worker takes them', async () => {
    receiver = await startReceiverProcess(dir, { tls: { certFile: 'server.pem', keyFile: 'server-key.pem' } });
    const app = await store.createApplication({ name: 'e2e-two-workers' });
    await store.createChannel({
      applicationId: app.id,
      kind: 0,
      isActive: true,
      includeImageData: true,
      config: { webHookUrl: receiver.url, retryCount: 10, exponentialBackoffFactor: 1.5 },
      options: { maxInFlight: 16 },
    });
    const publisher = createEngine({ store, transports: {}, retention: null });
    const ids: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const r = await publisher.publish({ applicationId: app.id, body: progressMessage() });
      assert.ok(r.ok);
      ids.push(r.message.id);
    }

    const env = (id: string) => ({
      DATABASE_URL: db.url,
      HERALD_ENCRYPTION_KEYS: keyringSpec,
      HERALD_EXTRA_CA_FILE: join(dir, 'ca.pem'),
      HERALD_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
      HERALD_WORKER_ID: id,
      HERALD_WORKER_PORT: '0',
      HERALD_WORKER_CONCURRENCY: '8',
      HERALD_WORKER_BATCH_SIZE: '8',
      HERALD_WORKER_LEASE_MS: '3000',
      HERALD_WORKER_POLL_INTERVAL_MS: '200',
      HERALD_LOG_LEVEL: 'warn',
    });
    const a = spawnApp('worker-a', 'apps/worker/src/main.ts', env('worker-a'));
    const b = spawnApp('worker-b', 'apps/worker/src/main.ts', env('worker-b'));
    workers.push(a, b);

    // Kill A while it holds leases (the backlog keeps both workers busy).
    await waitFor(
      'worker-a to hold leases mid-run',
      async () => {
        const page = await store.listDeliveries(app.id, { state: 'delivering' }, { limit: 200 });
        const held = page.items.filter((d) => d.leaseOwner === 'worker-a').length;
        return held > 0 && receiver!.lines().length >= 20 ? held : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20, describe: () => a.output() + b.output() },
    );
    a.child.kill('SIGKILL');
    const { signal } = await a.exited;
    assert.equal(signal, 'SIGKILL');

    await waitFor(
      'every message in the sink',
      () => (new Set(receiver!.lines().map((l) => l.id)).size >= COUNT ? true : undefined),
      { timeoutMs: 90_000, intervalMs: 200, describe: () => b.output() },
    );
    const sinkIds = receiver.lines().map((l) => l.id);
    assert.deepEqual(new Set(sinkIds), new Set(ids), 'every published message reached the sink');
    assert.equal(sinkIds.length, COUNT, 'the receiver dropped duplicates: each message is in the sink once');

    await waitFor(
      'every delivery recorded as delivered',
      async () => {
        const counts = await store.countDeliveriesByState();
        return counts.delivered === COUNT ? counts : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await b.stop('SIGTERM');
    assert.equal(b.child.exitCode, 0, b.output());
  });
});
