import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createEngine, createRabbitMqTransport } from '@herald/engine';
import { createDestinationPolicy } from '@herald/ssrf';
import { createTestVhost, rabbitManagement } from '@herald/testing';
import { createAmqpPublisher } from '@herald/transport-amqp';
import { completedMessage, createApp, openTestStore } from './helpers.ts';

describe('RabbitMQ transport through the engine (real broker)', () => {
  it('publishes the stripped body to the channel queue with the message id; a wrong password is a recorded failure', async () => {
    await using vhost = await createTestVhost('herald_engine');
    await using t = await openTestStore('sqlite');
    const publisher = createAmqpPublisher({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] }) });
    try {
      const appId = await createApp(t.store);
      const url = `amqp://${vhost.hostname}:${vhost.port}/${encodeURIComponent(vhost.name)}`;
      const good = await t.store.createChannel({
        applicationId: appId,
        kind: 2,
        isActive: true,
        includeImageData: false,
        config: { url, username: vhost.username, queueName: 'client-queue' },
        secrets: { password: vhost.password },
      });
      const bad = await t.store.createChannel({
        applicationId: appId,
        kind: 2,
        isActive: true,
        includeImageData: true,
        config: { url, username: vhost.username, queueName: 'other-queue' },
        secrets: { password: 'not-the-password' },
      });
      const engine = createEngine({
        store: t.store,
        transports: { rabbitmq: createRabbitMqTransport({ publisher }) },
        retention: null,
      });
      const published = await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) });
      assert.ok(published.ok);
      assert.equal(await engine.runOnce(), 2);

      const byChannel = new Map(published.deliveries.map((d) => [d.channelId, d.id]));
      const delivered = await t.store.getDelivery(appId, byChannel.get(good.id)!);
      assert.equal(delivered?.state, 'delivered');
      const refused = await t.store.getDelivery(appId, byChannel.get(bad.id)!);
      assert.notEqual(refused?.state, 'delivered');
      assert.equal(refused?.lastOutcome, 'broker_auth');
      assert.equal((refused?.lastError ?? '').includes('not-the-password'), false);

      const got = (await rabbitManagement('POST', `/queues/${encodeURIComponent(vhost.name)}/client-queue/get`, {
        count: 5,
        ackmode: 'ack_requeue_false',
        encoding: 'auto',
      })) as { payload: string; properties: { message_id?: string }; routing_key: string }[];
      assert.equal(got.length, 1);
      assert.equal(got[0]?.properties.message_id, published.message.id);
      assert.equal(got[0]?.routing_key, 'task.completed');
      assert.equal(got[0]?.payload.includes('ImageContentBytes'), false);
      assert.equal(JSON.parse(got[0]?.payload ?? '{}').TaskId, JSON.parse(published.message.body).TaskId);
    } finally {
      await publisher.close();
    }
  });
});
