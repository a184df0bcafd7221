import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDestinationPolicy } from '@herald/ssrf';
import { closeServer, createTestVhost, listenEphemeral, type TestVhost } from '@herald/testing';
import { createAmqpPublisher } from '@herald/transport-amqp';
import { parseReceiverConfig, type StartedReceiver, startReceiver } from '../src/index.ts';
import { progressMessage } from './helpers.ts';

async function waitUntil(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 2_000 && Date.now() < deadline; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('receiver in AMQP mode', () => {
  let vhost: TestVhost;
  let dir: string;
  let started: StartedReceiver | undefined;
  const publisher = createAmqpPublisher({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] }) });

  before(async () => {
    vhost = await createTestVhost('herald_receiver');
    dir = mkdtempSync(join(tmpdir(), 'herald-receiver-amqp-'));
  });
  after(async () => {
    await started?.close();
    await publisher.close();
    await vhost?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = () => {
    try {
      return readFileSync(join(dir, 'messages.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { id: string; via: string; correlationId: string | null });
    } catch {
      return [];
    }
  };

  it('consumes the queue into the sink once per message id, acknowledging only after the sink', async () => {
    const url = `amqp://${vhost.hostname}:${vhost.port}/${encodeURIComponent(vhost.name)}`;
    const config = parseReceiverConfig(
      {
        amqp: { url, username: vhost.username, password: vhost.password, queue: 'TaskQueue', prefetch: 4 },
        sink: { type: 'file', path: 'messages.jsonl' },
        dedupePath: 'dedupe.sqlite',
      },
      dir,
    );
    started = await startReceiver(config);
    assert.equal(started.http, undefined, 'AMQP mode serves no HTTP unless asked');

    const dest = { url, username: vhost.username, password: vhost.password, queueName: 'TaskQueue' };
    const body = JSON.stringify(progressMessage());
    for (const [i, id] of ['m1', 'm2', 'm3', 'm2'].entries()) {
      const outcome = await publisher.publish(dest, {
        body: i === 3 ? body : JSON.stringify(progressMessage()),
        messageId: id,
        messageType: 'ImageGenerationProgress',
        correlationId: `corr-${i}`,
      });
      assert.ok(outcome.ok, JSON.stringify(outcome));
    }
    await waitUntil(() => lines().length >= 3, 'three messages in the sink');
    // The duplicate m2 is acknowledged without a second sink write.
    await new Promise((r) => setTimeout(r, 300));
    const got = lines();
    assert.deepEqual(got.map((l) => l.id).sort(), ['m1', 'm2', 'm3']);
    assert.ok(got.every((l) => l.via === 'amqp'));
    assert.equal(got.find((l) => l.id === 'm1')?.correlationId, 'corr-0');
  });

  it('puts a message back while the sink fails and stores it once the sink recovers', async () => {
    let failuresLeft = 2;
    const stored: string[] = [];
    const target = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(500).end();
          return;
        }
        stored.push(String(req.headers['webhook-id']));
        res.writeHead(200).end();
      });
    });
    const targetPort = await listenEphemeral(target);
    const url = `amqp://${vhost.hostname}:${vhost.port}/${encodeURIComponent(vhost.name)}`;
    const config = parseReceiverConfig(
      {
        amqp: { url, username: vhost.username, password: vhost.password, queue: 'RetryQueue' },
        sink: { type: 'forward', url: `http://127.0.0.1:${targetPort}/` },
        dedupePath: ':memory:',
      },
      dir,
    );
    const retrying = await startReceiver(config);
    try {
      const outcome = await publisher.publish(
        { url, username: vhost.username, password: vhost.password, queueName: 'RetryQueue' },
        { body: JSON.stringify(progressMessage()), messageId: 'r1', messageType: 'ImageGenerationProgress' },
      );
      assert.ok(outcome.ok, JSON.stringify(outcome));
      await waitUntil(() => stored.length >= 1, 'the message to be stored after the sink recovers');
      assert.equal(failuresLeft, 0, 'the sink failed twice first');
      assert.deepEqual(stored, ['r1']);
    } finally {
      await retrying.close();
      await closeServer(target);
    }
  });

  it('refuses to start when the broker rejects the credentials', async () => {
    const url = `amqp://${vhost.hostname}:${vhost.port}/${encodeURIComponent(vhost.name)}`;
    const config = parseReceiverConfig(
      {
        amqp: { url, username: vhost.username, password: 'wrong-password', queue: 'Q2' },
        sink: { type: 'stdout' },
        dedupePath: ':memory:',
      },
      dir,
    );
    await assert.rejects(
      startReceiver(config),
      (error: Error & { code?: string }) =>
        error.code === 'CONSUMER_START_FAILED' && !error.message.includes('wrong-password'),
    );
  });
});
