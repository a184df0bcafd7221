import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HERALD_MESSAGE_TYPES } from '@herald/schemas';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestUser, createTestVhost, getFreePort, rabbitManagement, uniqueName } from '@herald/testing';
import {
  AmqpTransportError,
  type AmqpPublisher,
  createAmqpPublisher,
  EXCHANGE_NAME,
  routingKeyFor,
} from '../src/index.ts';
import {
  destinationFor,
  drainQueue,
  killConnections,
  listConnections,
  localPolicy,
  openAdmin,
  startTcpServer,
  waitFor,
} from './helpers.ts';

function message(type = 'ImageGenerationProgress', extra: Record<string, unknown> = {}) {
  return {
    body: JSON.stringify({ MessageType: type, n: randomUUID() }),
    messageId: randomUUID(),
    messageType: type,
    ...extra,
  };
}

describe('createAmqpPublisher: configuration', () => {
  it('refuses bad options at construction', () => {
    for (const bad of [
      { confirmTimeoutMs: 0 },
      { connectTimeoutMs: -1 },
      { maxConnections: 1.5 },
      { reconnect: { baseMs: 1000, maxMs: 10 } },
    ]) {
      assert.throws(
        () => createAmqpPublisher({ policy: localPolicy, ...bad }),
        (err: unknown) => err instanceof AmqpTransportError && err.code === 'INVALID_CONFIG',
        JSON.stringify(bad),
      );
    }
  });
});

describe('publisher against RabbitMQ', () => {
  let publisher: AmqpPublisher;
  before(() => {
    publisher = createAmqpPublisher({ policy: localPolicy, connectTimeoutMs: 5000, confirmTimeoutMs: 10_000 });
  });
  after(async () => {
    await publisher.close();
  });

  it('routes every message type with the documented key and properties, confirmed', async () => {
    await using vhost = await createTestVhost();
    const dest = destinationFor(vhost, { queueName: 'client-queue' });
    const sent = new Map<string, { type: string; correlationId: string }>();
    const at = new Date('2026-01-02T03:04:05.678Z');
    for (const type of HERALD_MESSAGE_TYPES) {
      const m = message(type, { correlationId: `corr-${type}`, timestamp: at, headers: { 'x-trace': type } });
      const outcome = await publisher.publish(dest, m);
      assert.equal(outcome.code, 'delivered', `${type}: ${outcome.error}`);
      assert.equal(outcome.ok, true);
      sent.set(m.messageId, { type, correlationId: `corr-${type}` });
    }
    await using admin = await openAdmin(vhost);
    const got = await drainQueue(admin.ch, 'client-queue');
    assert.equal(got.length, HERALD_MESSAGE_TYPES.length);
    for (const m of got) {
      const id = m.properties.messageId as string;
      const expected = sent.get(id);
      assert.ok(expected, `unexpected message ${id}`);
      assert.equal(m.fields.exchange, EXCHANGE_NAME);
      assert.equal(m.fields.routingKey, routingKeyFor(expected.type));
      assert.equal(m.properties.deliveryMode, 2);
      assert.equal(m.properties.contentType, 'application/json');
      assert.equal(m.properties.type, expected.type);
      assert.equal(m.properties.correlationId, expected.correlationId);
      assert.equal(m.properties.timestamp, Math.floor(at.getTime() / 1000));
      assert.equal(m.properties.appId, 'herald');
      assert.equal(m.properties.headers?.['x-trace'], expected.type);
      assert.equal(JSON.parse(m.content.toString()).MessageType, expected.type);
    }
    const keys = new Set(got.map((m) => m.fields.routingKey));
    assert.deepEqual([...keys].sort(), ['image.checking', 'progress.update', 'task.completed']);
  });

  it('declares the exchange durable and topic, and the queue durable and bound to every key', async () => {
    await using vhost = await createTestVhost();
    const outcome = await publisher.publish(destinationFor(vhost, { queueName: 'q1' }), message());
    assert.equal(outcome.code, 'delivered');
    const ex = (await rabbitManagement(
      'GET',
      `/exchanges/${encodeURIComponent(vhost.name)}/${encodeURIComponent(EXCHANGE_NAME)}`,
    )) as { type: string; durable: boolean };
    assert.equal(ex.type, 'topic');
    assert.equal(ex.durable, true);
    const q = (await rabbitManagement('GET', `/queues/${encodeURIComponent(vhost.name)}/q1`)) as { durable: boolean };
    assert.equal(q.durable, true);
    const bindings = (await rabbitManagement('GET', `/queues/${encodeURIComponent(vhost.name)}/q1/bindings`)) as {
      source: string;
      routing_key: string;
    }[];
    const keys = bindings.filter((b) => b.source === EXCHANGE_NAME).map((b) => b.routing_key);
    assert.deepEqual(keys.sort(), ['image.checking', 'progress.update', 'task.completed']);
  });

  it('publishes to an existing quorum queue as it is (no redeclaration with other arguments)', async () => {
    await using vhost = await createTestVhost();
    await using admin = await openAdmin(vhost);
    await admin.ch.assertQueue('quorum-q', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const o = await publisher.publish(destinationFor(vhost, { queueName: 'quorum-q' }), message());
    assert.equal(o.code, 'delivered', o.error);
    assert.equal((await admin.ch.checkQueue('quorum-q')).messageCount, 1);
  });

  it('reports an unroutable message as broker_returned (retryable), then delivers once a queue is bound', async () => {
    await using vhost = await createTestVhost();
    const noQueue = await publisher.publish(destinationFor(vhost), message('ImageUpscalingTaskCompleted'));
    assert.equal(noQueue.ok, false);
    assert.equal(noQueue.code, 'broker_returned');
    assert.equal(noQueue.retryable, true);
    assert.equal(noQueue.brokerReply, 'NO_ROUTE');
    // Many concurrent unroutable publishes: each return is matched to its own publish.
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => publisher.publish(destinationFor(vhost), message('ImageUpscalingProgress'))),
    );
    assert.ok(burst.every((o) => o.code === 'broker_returned'));
    const bound = await publisher.publish(destinationFor(vhost, { queueName: 'late' }), message());
    assert.equal(bound.code, 'delivered');
  });

  it('declares its queue again after the queue was deleted under an open connection (one return, then delivered)', async () => {
    await using vhost = await createTestVhost();
    await using admin = await openAdmin(vhost);
    const dest = destinationFor(vhost, { queueName: 'client-inbox' });
    assert.equal((await publisher.publish(dest, message())).code, 'delivered');
    await admin.ch.deleteQueue('client-inbox');
    const returned = await publisher.publish(dest, message());
    assert.equal(returned.code, 'broker_returned');
    assert.equal(returned.retryable, true);
    const again = await publisher.publish(dest, message());
    assert.equal(again.code, 'delivered');
    assert.equal((await admin.ch.checkQueue('client-inbox')).messageCount, 1);
  });

  it('tells a returned publish from a routed one with the same message id in flight together', async () => {
    await using vhost = await createTestVhost();
    await using admin = await openAdmin(vhost);
    await admin.ch.assertExchange(EXCHANGE_NAME, 'topic', { durable: true });
    await admin.ch.assertQueue('only-progress', { durable: true });
    await admin.ch.bindQueue('only-progress', EXCHANGE_NAME, 'progress.update');
    const id = randomUUID();
    const [routed, returned] = await Promise.all([
      publisher.publish(destinationFor(vhost), { ...message('ImageGenerationProgress'), messageId: id }),
      publisher.publish(destinationFor(vhost), { ...message('ImageGenerationTaskCompleted'), messageId: id }),
    ]);
    assert.equal(routed.code, 'delivered');
    assert.equal(returned.code, 'broker_returned');
  });

  it('reports a broker nack as broker_nack (retryable)', async () => {
    await using vhost = await createTestVhost();
    await using admin = await openAdmin(vhost);
    await admin.ch.assertExchange(EXCHANGE_NAME, 'topic', { durable: true });
    await admin.ch.assertQueue('full', {
      durable: true,
      arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' },
    });
    await admin.ch.bindQueue('full', EXCHANGE_NAME, 'progress.update');
    const dest = destinationFor(vhost, { queueName: 'full' });
    const first = await publisher.publish(dest, message());
    assert.equal(first.code, 'delivered');
    const second = await publisher.publish(dest, message());
    assert.equal(second.ok, false);
    assert.equal(second.code, 'broker_nack');
    assert.equal(second.retryable, true);
    const q = await admin.ch.checkQueue('full');
    assert.equal(q.messageCount, 1);
  });

  it('loses nothing confirmed when the broker closes the connection mid-stream, then reconnects', async () => {
    await using vhost = await createTestVhost();
    const p = createAmqpPublisher({ policy: localPolicy, reconnect: { baseMs: 20, maxMs: 100 } });
    try {
      const dest = destinationFor(vhost, { queueName: 'stream' });
      assert.equal((await p.publish(dest, message())).code, 'delivered');
      // Know the connection before streaming, so the kill lands mid-stream.
      assert.ok(await waitFor(async () => (await listConnections(vhost.name)).length === 1, 15_000));
      const outcomes: { id: string; code: string; retryable: boolean }[] = [];
      let killed = false;
      const deadline = Date.now() + 30_000;
      const worker = async (): Promise<void> => {
        // Bounded in count and time; stops once the kill has surfaced as a failure.
        for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
          if (killed && outcomes.some((o) => o.code !== 'delivered')) return;
          const m = message();
          const o = await p.publish(dest, m);
          outcomes.push({ id: m.messageId, code: o.code, retryable: o.retryable });
        }
      };
      const workers = Array.from({ length: 32 }, worker);
      assert.ok(await waitFor(() => outcomes.length >= 100, 20_000), 'publishes are flowing');
      const someFailed = () => outcomes.some((o) => o.code !== 'delivered');
      // A kill can land when every publish sent so far is already confirmed (the broker confirms what it
      // has before it closes): nothing fails and the next publishes open a new connection. Kill that one
      // too, a bounded number of times, until the close meets publishes in flight.
      let closedByBroker = 0;
      for (let round = 0; round < 10 && !someFailed() && Date.now() < deadline; round++) {
        closedByBroker += await killConnections(vhost.name);
        killed = closedByBroker > 0;
        await waitFor(someFailed, 2_000);
      }
      assert.ok(closedByBroker >= 1, 'the broker closed the connection');
      await Promise.all(workers);
      const failed = outcomes.filter((o) => o.code !== 'delivered');
      assert.ok(failed.length > 0, 'the kill hit publishes in flight');
      for (const f of failed) {
        assert.equal(f.retryable, true, `failure ${f.code} must be retryable`);
        assert.ok(['broker_closed', 'timeout', 'refused', 'reset', 'network'].includes(f.code), f.code);
      }
      await using admin = await openAdmin(vhost);
      const inQueue = new Set((await drainQueue(admin.ch, 'stream')).map((m) => m.properties.messageId as string));
      const lost = outcomes.filter((o) => o.code === 'delivered' && !inQueue.has(o.id));
      assert.deepEqual(lost, [], 'every delivered message is in the queue');
      // A fresh connection is opened on next use (after a short backoff).
      let again = await p.publish(dest, message());
      for (let i = 0; i < 50 && again.code !== 'delivered'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        again = await p.publish(dest, message());
      }
      assert.equal(again.code, 'delivered');
    } finally {
      await p.close();
    }
  });

  it('delivers a burst larger than the socket buffer (waits for drain instead of piling up writes)', async () => {
    await using vhost = await createTestVhost();
    const dest = destinationFor(vhost, { queueName: 'big' });
    const big = 'x'.repeat(256 * 1024);
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, () =>
        publisher.publish(dest, {
          ...message(),
          body: JSON.stringify({ MessageType: 'ImageGenerationProgress', big }),
        }),
      ),
    );
    assert.deepEqual(
      outcomes.filter((o) => o.code !== 'delivered').map((o) => o.code),
      [],
    );
    await using admin = await openAdmin(vhost);
    assert.equal((await admin.ch.checkQueue('big')).messageCount, 64);
  });

  it('answers cancelled (retryable) after close, without throwing', async () => {
    await using vhost = await createTestVhost();
    const p = createAmqpPublisher({ policy: localPolicy });
    assert.equal((await p.publish(destinationFor(vhost), message())).code, 'broker_returned');
    assert.equal(p.connectionCount, 1);
    await p.close();
    assert.equal(p.connectionCount, 0);
    const o = await p.publish(destinationFor(vhost), message());
    assert.equal(o.code, 'cancelled');
    assert.equal(o.retryable, true);
  });

  it('declares the topology again after the broker closed the channel over a deleted exchange', async () => {
    await using vhost = await createTestVhost();
    const dest = destinationFor(vhost, { queueName: 'q' });
    assert.equal((await publisher.publish(dest, message())).code, 'delivered');
    await using admin = await openAdmin(vhost);
    await admin.ch.deleteExchange(EXCHANGE_NAME);
    const lost = await publisher.publish(dest, message());
    assert.equal(lost.code, 'broker_closed');
    assert.equal(lost.retryable, true);
    assert.match(lost.brokerReply ?? '', /NOT_FOUND/);
    const again = await publisher.publish(dest, message());
    assert.equal(again.code, 'delivered', again.error);
  });

  it('reports wrong credentials as broker_auth without echoing the password', async () => {
    await using vhost = await createTestVhost();
    const outcome = await publisher.publish(destinationFor(vhost, { password: 'definitely-wrong-pw-123' }), message());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, 'broker_auth');
    assert.equal(outcome.retryable, true);
    assert.ok(!JSON.stringify(outcome).includes('definitely-wrong-pw-123'));
  });

  it('reports a missing vhost as broker_auth', async () => {
    const outcome = await publisher.publish(
      { url: `amqp://127.0.0.1:5672/${uniqueName('missing')}`, username: 'guest', password: 'guest' },
      message(),
    );
    assert.equal(outcome.code, 'broker_auth');
  });

  it('works with a password full of URL-special characters', async () => {
    await using vhost = await createTestVhost();
    const user = uniqueName('herald_user');
    const password = 'p@ss:w/rd%?#&= ;"\'\\';
    const remove = await createTestUser(vhost.name, user, password);
    try {
      const outcome = await publisher.publish(
        destinationFor(vhost, { username: user, password, queueName: 'q' }),
        message(),
      );
      assert.equal(outcome.code, 'delivered', outcome.error);
      const seen = await waitFor(async () => (await listConnections(vhost.name)).some((c) => c.user === user), 15_000);
      assert.ok(seen, 'the broker lists a connection of that user');
    } finally {
      await remove();
    }
  });

  it('reports a broker that refuses to let the user declare the topology, and honours assertTopology: false', async () => {
    await using vhost = await createTestVhost();
    const user = uniqueName('herald_nocfg');
    const remove = await createTestUser(vhost.name, user, 'pw-nocfg');
    try {
      await rabbitManagement('PUT', `/permissions/${encodeURIComponent(vhost.name)}/${encodeURIComponent(user)}`, {
        configure: '^$',
        write: '.*',
        read: '.*',
      });
      const dest = destinationFor(vhost, { username: user, password: 'pw-nocfg', queueName: 'pre' });
      const denied = await publisher.publish(dest, message());
      assert.equal(denied.code, 'broker_auth');
      assert.match(denied.error ?? '', /assertTopology: false/);
      assert.match(denied.brokerReply ?? '', /ACCESS_REFUSED/);
      // The operator provisions the topology and grants write on the exchange only (docs/rabbitmq.md).
      await rabbitManagement('PUT', `/permissions/${encodeURIComponent(vhost.name)}/${encodeURIComponent(user)}`, {
        configure: '^$',
        write: '^image-render\\.notifications$',
        read: '^$',
      });
      await using admin = await openAdmin(vhost);
      await admin.ch.assertExchange(EXCHANGE_NAME, 'topic', { durable: true });
      await admin.ch.assertQueue('pre', { durable: true });
      await admin.ch.bindQueue('pre', EXCHANGE_NAME, 'progress.update');
      const ok = await publisher.publish({ ...dest, assertTopology: false }, message());
      assert.equal(ok.code, 'delivered', ok.error);
    } finally {
      await remove();
    }
  });

  it('needs no more than the documented least permissions to declare and publish', async () => {
    await using vhost = await createTestVhost();
    const user = uniqueName('herald_least');
    const remove = await createTestUser(vhost.name, user, 'pw-least');
    try {
      await rabbitManagement('PUT', `/permissions/${encodeURIComponent(vhost.name)}/${encodeURIComponent(user)}`, {
        configure: '^(image-render\\.notifications|TaskQueue)$',
        write: '^(image-render\\.notifications|TaskQueue)$',
        read: '^image-render\\.notifications$',
      });
      const o = await publisher.publish(
        destinationFor(vhost, { username: user, password: 'pw-least', queueName: 'TaskQueue' }),
        message('ImageGenerationTaskCompleted'),
      );
      assert.equal(o.code, 'delivered', o.error);
      const other = await publisher.publish(
        destinationFor(vhost, { username: user, password: 'pw-least', queueName: 'OtherQueue' }),
        message('ImageGenerationTaskCompleted'),
      );
      assert.equal(other.code, 'broker_auth', 'a queue outside the grant is refused');
    } finally {
      await remove();
    }
  });

  it('refuses credentials in the URL, other schemes, and half a client certificate', async () => {
    const withCreds = await publisher.publish(
      { url: 'amqp://u:leaky-secret@127.0.0.1:5672/', username: 'u', password: 'p' },
      message(),
    );
    assert.equal(withCreds.code, 'invalid_destination');
    assert.equal(withCreds.retryable, false);
    assert.ok(!JSON.stringify(withCreds).includes('leaky-secret'));
    const scheme = await publisher.publish({ url: 'http://127.0.0.1:5672/', username: 'u', password: 'p' }, message());
    assert.equal(scheme.code, 'invalid_destination');
    const half = await publisher.publish(
      { url: 'amqps://127.0.0.1:5671/', username: 'u', password: 'p', tls: { cert: 'x' } },
      message(),
    );
    assert.equal(half.code, 'invalid_destination');
  });

  it('reports an unknown message type as a non-retryable internal outcome', async () => {
    await using vhost = await createTestVhost();
    const o = await publisher.publish(destinationFor(vhost), message('SomethingElse'));
    assert.equal(o.code, 'internal');
    assert.equal(o.retryable, false);
  });

  it('reports a closed port as refused', async () => {
    const port = await getFreePort();
    const o = await publisher.publish({ url: `amqp://127.0.0.1:${port}/`, username: 'u', password: 'p' }, message());
    assert.equal(o.code, 'refused');
    assert.equal(o.retryable, true);
    assert.ok(!(o.error ?? '').includes('ECONNREFUSED 127'), 'no raw socket text');
  });
});

describe('publisher against misbehaving peers', () => {
  it('times out against a silent broker within connectTimeoutMs', async () => {
    await using silent = await startTcpServer(() => {
      // Accept and never answer.
    });
    const p = createAmqpPublisher({ policy: localPolicy, connectTimeoutMs: 300 });
    try {
      const o = await p.publish({ url: `amqp://127.0.0.1:${silent.port}/`, username: 'u', password: 'p' }, message());
      assert.equal(o.code, 'timeout');
      assert.equal(o.retryable, true);
      assert.equal(silent.connections(), 1);
    } finally {
      await p.close();
    }
  });

  it('backs off after a failure: fails fast without dialling, then dials again once the backoff has passed', async () => {
    await using resetter = await startTcpServer((s) => s.destroy());
    let clock = 1_000_000;
    const p = createAmqpPublisher({
      policy: localPolicy,
      reconnect: { baseMs: 1000, maxMs: 8000 },
      now: () => clock,
      random: () => 0.5,
    });
    try {
      const dest = { url: `amqp://127.0.0.1:${resetter.port}/`, username: 'u', password: 'p' };
      const first = await p.publish(dest, message());
      assert.ok(['reset', 'network'].includes(first.code), first.code);
      assert.equal(resetter.connections(), 1);
      const fast = await p.publish(dest, message());
      assert.equal(fast.code, first.code);
      assert.equal(fast.retryable, true);
      assert.match(fast.error ?? '', /backoff/);
      assert.equal(resetter.connections(), 1, 'no dial while in backoff');
      clock += 1000; // first step: 1000 ms with equal jitter → at most 1000 ms
      const third = await p.publish(dest, message());
      assert.equal(resetter.connections(), 2);
      assert.ok(!(third.error ?? '').includes('backoff'));
      // Second failure doubles the step: 750 ms later is still inside it (min 1000 ms).
      clock += 750;
      await p.publish(dest, message());
      assert.equal(resetter.connections(), 2);
    } finally {
      await p.close();
    }
  });

  it('reports a name that does not resolve as dns (resolver injected: no query leaves the host)', async () => {
    const policy = createDestinationPolicy({
      resolveHost: async (hostname) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      },
    });
    const p = createAmqpPublisher({ policy });
    try {
      const o = await p.publish({ url: 'amqp://broker.example.invalid/', username: 'u', password: 'p' }, message());
      assert.equal(o.code, 'dns');
      assert.equal(o.retryable, true);
    } finally {
      await p.close();
    }
  });

  it('resolves names through the policy, so a name pointing at an allowed address is dialled', async () => {
    await using vhost = await createTestVhost();
    const policy = createDestinationPolicy({
      allowCidrs: ['127.0.0.0/8'],
      resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    const p = createAmqpPublisher({ policy });
    try {
      const o = await p.publish(
        {
          ...destinationFor(vhost, { queueName: 'q' }),
          url: `amqp://broker.test:${vhost.port}/${encodeURIComponent(vhost.name)}`,
        },
        message(),
      );
      assert.equal(o.code, 'delivered', o.error);
    } finally {
      await p.close();
    }
  });

  it('blocks 127.0.0.1 and localhost under the default SSRF policy without dialling', async () => {
    await using listener = await startTcpServer((s) => s.destroy());
    const p = createAmqpPublisher();
    try {
      const byIp = await p.publish(
        { url: `amqp://127.0.0.1:${listener.port}/`, username: 'u', password: 'p' },
        message(),
      );
      assert.equal(byIp.code, 'blocked');
      assert.equal(byIp.retryable, false);
      const byName = await p.publish(
        { url: `amqp://localhost:${listener.port}/`, username: 'u', password: 'p' },
        message(),
      );
      assert.equal(byName.code, 'blocked');
      assert.equal(listener.connections(), 0);
    } finally {
      await p.close();
    }
  });

  it('fails a publish the broker never confirms with timeout (confirmTimeoutMs)', async () => {
    await using vhost = await createTestVhost();
    // A proxy that passes the handshake through, then swallows everything the broker sends.
    const net = await import('node:net');
    let mute = false;
    await using proxy = await startTcpServer((client) => {
      const upstream = net.connect(vhost.port, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!mute) client.write(chunk);
      });
    });
    const p = createAmqpPublisher({ policy: localPolicy, confirmTimeoutMs: 300, heartbeatSeconds: 60 });
    try {
      const dest = {
        url: `amqp://127.0.0.1:${proxy.port}/${encodeURIComponent(vhost.name)}`,
        username: vhost.username,
        password: vhost.password,
        queueName: 'q',
      };
      assert.equal((await p.publish(dest, message())).code, 'delivered');
      mute = true;
      const o = await p.publish(dest, message());
      assert.equal(o.code, 'timeout');
      assert.equal(o.retryable, true);
      assert.match(o.error ?? '', /confirm/);
    } finally {
      await p.close();
    }
  });

  it('closes idle connections and keeps at most maxConnections open', async () => {
    await using vhostA = await createTestVhost();
    await using vhostB = await createTestVhost();
    const p = createAmqpPublisher({ policy: localPolicy, maxConnections: 1, idleCloseMs: 200 });
    try {
      assert.equal((await p.publish(destinationFor(vhostA, { queueName: 'q' }), message())).code, 'delivered');
      assert.equal(p.connectionCount, 1);
      assert.equal((await p.publish(destinationFor(vhostB, { queueName: 'q' }), message())).code, 'delivered');
      assert.equal(p.connectionCount, 1, 'the idlest connection made room');
      assert.ok(
        await waitFor(async () => (await listConnections(vhostA.name)).length === 0),
        'A closed by the broker view',
      );
      assert.equal((await p.publish(destinationFor(vhostA, { queueName: 'q' }), message())).code, 'delivered');
      assert.ok(await waitFor(() => p.connectionCount === 0), 'idle connection closed');
    } finally {
      await p.close();
    }
  });
});
