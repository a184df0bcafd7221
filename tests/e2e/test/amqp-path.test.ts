import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestVhost, type TestVhost } from '@herald/testing';
import { type ApiProcess, startApiProcess } from '../src/api-process.ts';
import { type AppProcess, spawnApp, waitFor } from '../src/app-process.ts';
import { progressMessage } from '../src/messages.ts';
import { type ReceiverProcess, startReceiverProcess } from '../src/receiver-process.ts';

const COUNT = 10;

describe('publish → worker → RabbitMQ → receiver in AMQP mode', () => {
  let vhost: TestVhost;
  let dir: string;
  let api: ApiProcess | undefined;
  let worker: AppProcess | undefined;
  let receiver: ReceiverProcess | undefined;

  before(async () => {
    vhost = await createTestVhost('herald_e2e_amqp');
    dir = mkdtempSync(join(tmpdir(), 'herald-e2e-amqp-'));
  });
  after(async () => {
    await worker?.stop('SIGTERM');
    await receiver?.stop();
    await api?.stop();
    await vhost?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every published message to the client’s queue and into the receiver’s sink once', async () => {
    const brokerUrl = `amqp://${vhost.hostname}:${vhost.port}/${encodeURIComponent(vhost.name)}`;
    const dataDir = join(dir, 'data');
    const shared = { HERALD_ALLOW_CIDRS: '127.0.0.0/8,::1/128' };
    api = await startApiProcess(dataDir, { ...shared, HERALD_EMBEDDED_WORKER: 'false' });
    const apiProc = api;
    const { demo } = api.credentials();

    // The receiver declares the queue and its bindings before anything is published.
    receiver = await startReceiverProcess(dir, {
      amqp: { url: brokerUrl, username: vhost.username, password: vhost.password, queue: 'TaskQueue', prefetch: 8 },
    });

    const created = await api.call(
      'POST',
      `/api/v1/Notification/ChannelConfiguration/RabbitMQ?applicationId=${demo.applicationId}`,
      {
        isActive: true,
        includeImageData: true,
        url: brokerUrl,
        username: vhost.username,
        password: vhost.password,
        queueName: 'TaskQueue',
      },
    );
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.match(JSON.stringify(created.json), /Password.{1,6}\*{8}/, JSON.stringify(created.json));

    const published: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const r: { status: number; json: unknown } = await apiProc.call(
        'POST',
        `/api/v1/herald/messages?applicationId=${demo.applicationId}`,
        progressMessage(i * 10, demo.applicationId),
        { 'x-correlation-id': `amqp-${i}` },
      );
      assert.equal(r.status, 202, JSON.stringify(r.json));
      published.push((r.json as { id: string }).id);
    }

    worker = spawnApp('worker', 'apps/worker/src/main.ts', {
      ...shared,
      HERALD_DATA_DIR: dataDir,
      HERALD_WORKER_PORT: '0',
      HERALD_WORKER_POLL_INTERVAL_MS: '100',
      HERALD_LOG_LEVEL: 'warn',
    });
    await waitFor('every message in the sink', () => (receiver!.lines().length >= COUNT ? true : undefined), {
      timeoutMs: 60_000,
      describe: () => `${worker?.output()}\n${receiver?.proc.output()}`,
    });
    const lines = receiver.lines();
    assert.deepEqual(new Set(lines.map((l) => l.id)), new Set(published));
    assert.equal(lines.length, COUNT);
    assert.ok(lines.every((l) => l.via === 'amqp' && l.messageType === 'ImageGenerationProgress'));
    assert.deepEqual(new Set(lines.map((l) => l.correlationId)), new Set(published.map((_, i) => `amqp-${i}`)));
  });
});
