import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWebhookSecret } from '@herald/auth';
import { closeServer, createTestPki, getFreePort, listenEphemeral, type TestPki } from '@herald/testing';
import { type ApiProcess, startApiProcess } from '../src/api-process.ts';
import { type AppProcess, spawnApp, waitFor } from '../src/app-process.ts';
import { progressMessage } from '../src/messages.ts';
import { type ReceiverProcess, startReceiverProcess } from '../src/receiver-process.ts';

const COUNT = 12;
const SHARED_SECRET = 'e2e-shared-secret-0123456789';

describe('publish → worker → receiver over HTTPS with mTLS, signatures, a secret header and an IP allowlist', () => {
  let pki: TestPki;
  let dir: string;
  let api: ApiProcess | undefined;
  let worker: AppProcess | undefined;
  let receiver: ReceiverProcess | undefined;
  let target: ReturnType<typeof createServer> | undefined;

  before(async () => {
    pki = await createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'herald-e2e-webhook-'));
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    writeFileSync(join(dir, 'server.pem'), pki.server.cert);
    writeFileSync(join(dir, 'server-key.pem'), pki.server.key);
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await receiver?.stop();
    await api?.stop();
    if (target) await closeServer(target);
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message once after the receiver fails with 503 for a while and recovers', async () => {
    const dataDir = join(dir, 'data');
    const shared = { HERALD_ALLOW_CIDRS: '127.0.0.0/8,::1/128', HERALD_EXTRA_CA_FILE: join(dir, 'ca.pem') };
    api = await startApiProcess(dataDir, { ...shared, HERALD_EMBEDDED_WORKER: 'false' });
    const apiProc = api;
    const { demo } = api.credentials();

    // The local service behind the receiver: 503 until `healthy`, then records what it got.
    let healthy = false;
    const stored: string[] = [];
    let refused = 0;
    target = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (!healthy) {
          refused++;
          res.writeHead(503).end();
          return;
        }
        stored.push(String(req.headers['webhook-id']));
        res.writeHead(204).end();
      });
    });
    const targetPort = await listenEphemeral(target);

    const receiverPort = await getFreePort();
    const signingSecret = generateWebhookSecret();
    const created = await api.call(
      'POST',
      `/api/v1/Notification/ChannelConfiguration/WebHook?applicationId=${demo.applicationId}`,
      {
        isActive: true,
        includeImageData: true,
        webHookUrl: `https://localhost:${receiverPort}/herald`,
        retryCount: 20,
        exponentialBackoffFactor: 1,
        secretHeaderName: 'x-herald-secret',
        secretHeaderValue: SHARED_SECRET,
        signingSecret,
        sourceAddress: '127.0.0.2',
        clientCertificate: 'generate',
      },
    );
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const channelId = (created.json as { id: string }).id;
    const cert = await api.call(
      'POST',
      `/api/v1/herald/channels/${channelId}/client-certificate?applicationId=${demo.applicationId}`,
    );
    assert.equal(cert.status, 200, JSON.stringify(cert.json));
    writeFileSync(join(dir, 'herald-client-ca.pem'), (cert.json as { caCertificatePem: string }).caCertificatePem);

    receiver = await startReceiverProcess(dir, {
      listen: { host: '127.0.0.1', port: receiverPort },
      path: '/herald',
      tls: { certFile: 'server.pem', keyFile: 'server-key.pem' },
      auth: {
        sharedSecret: { headerName: 'x-herald-secret', secrets: [SHARED_SECRET] },
        signature: { secrets: [signingSecret] },
        ipAllowlist: { allow: ['127.0.0.2'] },
        mtls: { caFile: 'herald-client-ca.pem' },
      },
      sink: { type: 'forward', url: `http://127.0.0.1:${targetPort}/in` },
    });

    const published: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const r: { status: number; json: unknown } = await apiProc.call(
        'POST',
        `/api/v1/herald/messages?applicationId=${demo.applicationId}`,
        progressMessage(i, demo.applicationId),
        {
          'x-correlation-id': `e2e-${i}`,
        },
      );
      assert.equal(r.status, 202, JSON.stringify(r.json));
      published.push((r.json as { id: string }).id);
    }

    worker = spawnApp('worker', 'apps/worker/src/main.ts', {
      ...shared,
      HERALD_DATA_DIR: dataDir,
      HERALD_WORKER_PORT: '0',
      HERALD_WORKER_POLL_INTERVAL_MS: '100',
      HERALD_RETRY_BASE_DELAY_MS: '300',
      HERALD_RETRY_MAX_DELAY_MS: '1000',
      HERALD_RETRY_MIN_WINDOW_MS: '0',
      HERALD_LOG_LEVEL: 'warn',
    });

    // Every message reaches the receiver, passes all four checks, and fails at the sink at least once.
    await waitFor('every message refused once by the failing sink', () => (refused >= COUNT ? true : undefined), {
      timeoutMs: 60_000,
      describe: () => `${worker?.output()}\n${receiver?.proc.output()}`,
    });
    healthy = true;
    await waitFor('every message stored', () => (new Set(stored).size >= COUNT ? true : undefined), {
      timeoutMs: 60_000,
      describe: () => `${worker?.output()}\n${receiver?.proc.output()}`,
    });
    await waitFor(
      'every delivery delivered',
      async () => {
        const r = await apiProc.call(
          'GET',
          `/api/v1/herald/deliveries?applicationId=${demo.applicationId}&state=delivered&limit=100`,
        );
        return (r.json as { items: unknown[] }).items.length === COUNT ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(new Set(stored), new Set(published), 'the sink got every published message');
    assert.equal(stored.length, COUNT, 'after deduplication each message reached the sink exactly once');
    assert.ok(!receiver.proc.output().includes('"reason":"ip_'), 'no push was refused by the IP allowlist');
    assert.ok(!receiver.proc.output().includes('push rejected'), receiver.proc.output());

    const detail = await api.call('GET', `/api/v1/herald/deliveries?applicationId=${demo.applicationId}&limit=100`);
    const attempts = (detail.json as { items: Array<{ attempts: number }> }).items.map((d) => d.attempts);
    assert.ok(
      attempts.every((n) => n >= 2),
      `each delivery was retried after a 503: ${attempts.join(',')}`,
    );
  });
});
