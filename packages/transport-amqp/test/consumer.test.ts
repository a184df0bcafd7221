import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createTestVhost, type TestVhost } from '@herald/testing';
import type { ReceivedNotification } from '../src/index.ts';
import {
  AmqpTransportError,
  consumeNotifications,
  createAmqpPublisher,
  DEAD_REASON_HEADER,
  REDELIVERIES_HEADER,
} from '../src/index.ts';
import { destinationFor, drainQueue, killConnections, localPolicy, openAdmin, waitFor } from './helpers.ts';

const progress = {
  MessageType: 'ImageGenerationProgress',
  RequestRenderState: 'Started',
  ApplicationId: 'd5eabbb8-c0f6-4640-94fd-3566edad499f',
  UserId: '2581c740-8e9d-4d63-96bc-5665bb9a646b',
  ImageRenderProcessId: '51d690da-f5ea-405e-90ff-10d56b0d633f',
  TotalTaskCount: 10,
  CompletedTaskCount: 3,
  Progress: 30.0,
  Tasks: { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Started' },
  RenderKind: 1,
  RenderType: 2,
  IsSuccessful: true,
  ErrorMessage: '',
};

const imageChecking = {
  ImageId: 'c0a80123-7a1e-4b5f-9d2c-1f0e6b8a9d44',
  Orientation: 'Horizontal',
  ImageType: 'Gallery',
  ImageState: 'Accepted',
  RejectionCode: '00',
  SubmissionTimeStamp: '20241220182423',
  ImageCheckingTimeStamp: '',
  DataCapture: {},
};

function consumerOptions(vhost: TestVhost, handler: (n: ReceivedNotification) => Promise<void>) {
  return {
    url: `amqp://127.0.0.1:${vhost.port}/${encodeURIComponent(vhost.name)}`,
    username: vhost.username,
    password: vhost.password,
    queue: 'inbox',
    handler,
  };
}

async function publishValid(vhost: TestVhost, count: number, body: object = progress): Promise<string[]> {
  const publisher = createAmqpPublisher({ policy: localPolicy });
  const ids: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const type = 'MessageType' in body ? String(body.MessageType) : 'ImageCheckingNotification';
      const o = await publisher.publish(destinationFor(vhost, { queueName: 'inbox' }), {
        body: JSON.stringify(body),
        messageId: id,
        messageType: type,
        correlationId: `corr-${id}`,
      });
      assert.equal(o.code, 'delivered');
      ids.push(id);
    }
  } finally {
    await publisher.close();
  }
  return ids;
}

/** A consumer whose handlers wait until `release()`; `finished()` counts the handlers that ran to the end. */
async function gatedConsumer(vhost: TestVhost) {
  let release = (): void => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let finished = 0;
  const consumer = await consumeNotifications(
    consumerOptions(vhost, async () => {
      await gate;
      finished += 1;
    }),
  );
  return { consumer, release, finished: () => finished };
}

describe('consumeNotifications', () => {
  it('hands validated messages to the handler and acks them', async () => {
    await using vhost = await createTestVhost();
    const got: ReceivedNotification[] = [];
    const consumer = await consumeNotifications(
      consumerOptions(vhost, async (n) => {
        got.push(n);
      }),
    );
    try {
      const ids = [...(await publishValid(vhost, 2)), ...(await publishValid(vhost, 1, imageChecking))];
      assert.ok(await waitFor(() => got.length === 3), 'all three handled');
      assert.deepEqual(
        got.map((n) => n.messageId),
        ids,
      );
      assert.deepEqual(
        got.map((n) => n.type),
        ['ImageGenerationProgress', 'ImageGenerationProgress', 'ImageCheckingNotification'],
      );
      assert.equal(got[0]?.correlationId, `corr-${ids[0]}`);
      assert.equal((got[0]?.message as { Progress?: number } | undefined)?.Progress, 30);
      assert.equal(got[0]?.redeliveries, 0);
      assert.deepEqual(JSON.parse(got[2]?.raw.toString() ?? ''), imageChecking);
    } finally {
      await consumer.stop();
    }
    await using admin = await openAdmin(vhost);
    assert.equal((await admin.ch.checkQueue('inbox')).messageCount, 0, 'acked, not requeued on close');
    assert.equal((await admin.ch.checkQueue('inbox.dead')).messageCount, 0);
  });

  it('puts a message back after a failing handler, then succeeds', async () => {
    await using vhost = await createTestVhost();
    const seen: number[] = [];
    const consumer = await consumeNotifications(
      consumerOptions(vhost, async (n) => {
        seen.push(n.redeliveries);
        if (n.redeliveries < 1) throw new Error('temporary failure');
      }),
    );
    try {
      await publishValid(vhost, 1);
      assert.ok(await waitFor(() => seen.length === 2));
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(seen, [0, 1]);
    await using admin = await openAdmin(vhost);
    const left = await drainQueue(admin.ch, 'inbox');
    assert.deepEqual(
      left.map((m) => [m.properties.headers, m.fields.redelivered]),
      [],
    );
    assert.equal((await admin.ch.checkQueue('inbox.dead')).messageCount, 0);
  });

  it('dead-letters a message whose handler keeps failing after maxRedeliveries', async () => {
    await using vhost = await createTestVhost();
    let calls = 0;
    const consumer = await consumeNotifications({
      ...consumerOptions(vhost, async () => {
        calls += 1;
        throw new Error('downstream is down');
      }),
      maxRedeliveries: 2,
    });
    const [id] = await publishValid(vhost, 1);
    await using admin = await openAdmin(vhost);
    try {
      assert.ok(await waitFor(async () => (await admin.ch.checkQueue('inbox.dead')).messageCount === 1));
    } finally {
      await consumer.stop();
    }
    assert.equal(calls, 3, 'first delivery + 2 redeliveries');
    const [dead] = await drainQueue(admin.ch, 'inbox.dead');
    assert.ok(dead);
    assert.equal(dead.properties.messageId, id);
    assert.equal(dead.properties.type, 'ImageGenerationProgress');
    assert.equal(dead.properties.deliveryMode, 2);
    assert.match(String(dead.properties.headers?.[DEAD_REASON_HEADER]), /handler failed 3 times.*downstream is down/);
    assert.equal(dead.properties.headers?.[REDELIVERIES_HEADER], 2);
    assert.deepEqual(JSON.parse(dead.content.toString()), progress);
    assert.equal((await admin.ch.checkQueue('inbox')).messageCount, 0);
  });

  it('dead-letters invalid JSON, an invalid message and an unknown type at once, with the reason', async () => {
    await using vhost = await createTestVhost();
    let calls = 0;
    const consumer = await consumeNotifications(
      consumerOptions(vhost, async () => {
        calls += 1;
      }),
    );
    await using admin = await openAdmin(vhost);
    try {
      admin.ch.sendToQueue('inbox', Buffer.from('{not json'), { messageId: 'bad-json' });
      admin.ch.sendToQueue('inbox', Buffer.from(JSON.stringify({ ...progress, Progress: 'lots' })), {
        messageId: 'bad-field',
        type: 'ImageGenerationProgress',
      });
      admin.ch.sendToQueue('inbox', Buffer.from(JSON.stringify(progress)), { messageId: 'bad-type', type: 'Nope' });
      assert.ok(await waitFor(async () => (await admin.ch.checkQueue('inbox.dead')).messageCount === 3));
    } finally {
      await consumer.stop();
    }
    assert.equal(calls, 0, 'the handler never sees an invalid message');
    const dead = await drainQueue(admin.ch, 'inbox.dead');
    const reasons = new Map(
      dead.map((m) => [m.properties.messageId, String(m.properties.headers?.[DEAD_REASON_HEADER])]),
    );
    assert.match(reasons.get('bad-json') ?? '', /^invalid JSON/);
    assert.match(reasons.get('bad-field') ?? '', /^invalid message: .*Progress/);
    assert.match(reasons.get('bad-type') ?? '', /^unknown message type "Nope"/);
    for (const m of dead) assert.equal(m.properties.headers?.[REDELIVERIES_HEADER], undefined, 'no retries spent');
  });

  it('uses the dead-letter exchange and queue it is given', async () => {
    await using vhost = await createTestVhost();
    const consumer = await consumeNotifications({
      ...consumerOptions(vhost, async () => {}),
      deadLetter: { exchange: 'rejects', queue: 'rejects-q' },
    });
    await using admin = await openAdmin(vhost);
    try {
      admin.ch.sendToQueue('inbox', Buffer.from('[]'), { messageId: 'array' });
      assert.ok(await waitFor(async () => (await admin.ch.checkQueue('rejects-q')).messageCount === 1));
    } finally {
      await consumer.stop();
    }
    const [dead] = await drainQueue(admin.ch, 'rejects-q');
    assert.equal(dead?.fields.exchange, 'rejects');
    assert.match(String(dead?.properties.headers?.[DEAD_REASON_HEADER]), /^invalid message: .*JSON object/);
    await assert.rejects(
      admin.conn.createChannel().then((c) => {
        c.on('error', () => {});
        return c.checkQueue('inbox.dead');
      }),
    );
  });

  it('uses an existing quorum queue with a delivery limit as it is', async () => {
    await using vhost = await createTestVhost();
    await using admin = await openAdmin(vhost);
    await admin.ch.assertQueue('inbox', {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 10 },
    });
    const got: string[] = [];
    const consumer = await consumeNotifications(
      consumerOptions(vhost, async (n) => {
        got.push(n.type);
      }),
    );
    try {
      await publishValid(vhost, 1);
      assert.ok(await waitFor(() => got.length === 1));
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(got, ['ImageGenerationProgress']);
  });

  it('stop() waits for in-flight handlers, which then ack', async () => {
    await using vhost = await createTestVhost();
    const { consumer, release, finished } = await gatedConsumer(vhost);
    await publishValid(vhost, 3);
    assert.ok(await waitFor(() => consumer.inFlight === 3));
    let stopped = false;
    const stopping = consumer.stop({ timeoutMs: 30_000 }).then(() => {
      stopped = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'stop waits while handlers run');
    release();
    await stopping;
    assert.equal(finished(), 3);
    assert.equal(consumer.inFlight, 0);
    await using admin = await openAdmin(vhost);
    assert.equal((await admin.ch.checkQueue('inbox')).messageCount, 0, 'all three acked before close');
  });

  it('stop() keeps the acks of handlers that finish after the consumer was cancelled', async () => {
    await using vhost = await createTestVhost();
    // Queued before the consumer starts, so all five are in flight at once (prefetch 16).
    await publishValid(vhost, 5);
    const { consumer, release, finished } = await gatedConsumer(vhost);
    assert.ok(await waitFor(() => consumer.inFlight === 5));
    await using admin = await openAdmin(vhost);
    const stopping = consumer.stop({ timeoutMs: 30_000 });
    // The handlers finish only once the broker has the cancel, so their acks are followed
    // straight away by the close (the dead-lettering path reaches the same order after its confirm).
    assert.ok(await waitFor(async () => (await admin.ch.checkQueue('inbox')).consumerCount === 0));
    release();
    await stopping;
    assert.equal(finished(), 5);
    // A lost ack shows up as the message back in the queue, marked redelivered.
    const back = await drainQueue(admin.ch, 'inbox');
    assert.deepEqual(
      back.map((m) => [m.properties.messageId, m.fields.redelivered]),
      [],
      'every ack sent before stop() resolved reached the broker',
    );
  });

  it('stop() gives up waiting after timeoutMs; the unfinished message goes back to the queue', async () => {
    await using vhost = await createTestVhost();
    const consumer = await consumeNotifications(consumerOptions(vhost, () => new Promise<void>(() => {})));
    await publishValid(vhost, 1);
    assert.ok(await waitFor(() => consumer.inFlight === 1));
    await consumer.stop({ timeoutMs: 100 });
    await using admin = await openAdmin(vhost);
    assert.ok(
      await waitFor(async () => (await admin.ch.checkQueue('inbox')).messageCount === 1),
      'requeued by the broker',
    );
  });

  it('reports a consumer the broker cancels (queue deleted) through onError and ends', async () => {
    await using vhost = await createTestVhost();
    const errors: AmqpTransportError[] = [];
    const consumer = await consumeNotifications({
      ...consumerOptions(vhost, async () => {}),
      onError: (err) => {
        if (err instanceof AmqpTransportError) errors.push(err);
      },
    });
    await using admin = await openAdmin(vhost);
    await admin.ch.deleteQueue('inbox');
    await consumer.closed;
    assert.deepEqual(
      errors.map((e) => e.code),
      ['CONSUMER_LOST'],
    );
    assert.match(errors[0]?.message ?? '', /cancelled by the broker/);
    await consumer.stop();
  });

  it('reports a connection the broker closes through onError and ends', async () => {
    await using vhost = await createTestVhost();
    const errors: Error[] = [];
    const consumer = await consumeNotifications({
      ...consumerOptions(vhost, async () => {}),
      onError: (err) => errors.push(err),
    });
    assert.ok((await killConnections(vhost.name)) >= 1);
    await consumer.closed;
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /lost/);
    await consumer.stop();
  });

  it('fails to start with a clear error and no secret on wrong credentials, and refuses bad options', async () => {
    await using vhost = await createTestVhost();
    await assert.rejects(
      consumeNotifications({ ...consumerOptions(vhost, async () => {}), password: 'wrong-secret-xyz' }),
      (err: unknown) =>
        err instanceof AmqpTransportError &&
        err.code === 'CONSUMER_START_FAILED' &&
        /broker_auth/.test(err.message) &&
        !err.message.includes('wrong-secret-xyz'),
    );
    await assert.rejects(
      consumeNotifications({ ...consumerOptions(vhost, async () => {}), prefetch: 0 }),
      (err: unknown) => err instanceof AmqpTransportError && err.code === 'INVALID_CONFIG',
    );
    await assert.rejects(
      consumeNotifications({ ...consumerOptions(vhost, async () => {}), url: 'amqp://u:p@127.0.0.1/' }),
      (err: unknown) => err instanceof AmqpTransportError && err.code === 'INVALID_CONFIG',
    );
  });
});
