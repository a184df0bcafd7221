import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { createHeraldClient, HeraldApiError, type HeraldClient } from '@herald/client';
import { permanentOutcome } from '@herald/engine';
import { closeServer } from '@herald/testing';
import { imageCheckingMessage, taskCompletedMessage } from './fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

const WEBHOOK = {
  isActive: true,
  retryCount: 0,
  webHookUrl: 'https://webhook.site/c',
  exponentialBackoffFactor: 2,
  includeImageData: true,
};

describe('@herald/client against the running API', () => {
  let h: Harness;
  let server: Server;
  let baseUrl: string;
  let client: HeraldClient;
  let operator: HeraldClient;

  before(async () => {
    h = await createHarness();
    await new Promise<void>((resolve) => {
      server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        baseUrl = `http://127.0.0.1:${info.port}`;
        resolve();
      }) as Server;
    });
    client = createHeraldClient({ baseUrl, apiKey: h.a.key, apiSecret: h.a.secret });
    operator = createHeraldClient({ baseUrl, apiKey: h.operator.key, apiSecret: h.operator.secret });
  });
  after(async () => {
    await closeServer(server);
    await h.close();
  });

  it('manages channels through the documented endpoints', async () => {
    const appId = h.a.applicationId;
    assert.deepEqual(await client.listActiveChannels(appId), []);
    const webhook = await client.createWebHookChannel(appId, WEBHOOK);
    assert.equal(webhook.channel, 0);
    const rabbit = await client.createRabbitMqChannel(appId, {
      isActive: false,
      url: 'amqp://broker.example.org/',
      username: 'u',
      password: 'pw-123',
      queueName: 'q',
      includeImageData: false,
    });
    assert.match(rabbit.notificationChannelConfigurationJSON, /"Password":"\*\*\*\*\*\*\*\*"/);
    const updated = await client.updateRabbitMqChannel(appId, rabbit.id, {
      isActive: false,
      url: 'amqp://broker.example.org/',
      username: 'u2',
      password: 'pw-123',
      queueName: 'q',
      includeImageData: false,
    });
    assert.match(updated.notificationChannelConfigurationJSON, /"Username":"u2"/);
    await client.updateWebHookChannel(appId, webhook.id, { ...WEBHOOK, retryCount: 1 });
    assert.equal((await client.listChannels(appId)).length, 2);
    assert.deepEqual(
      (await client.listActiveChannels(appId)).map((c) => c.id),
      [webhook.id],
    );
    assert.equal((await client.getChannel(appId, webhook.id)).notificationChannelConfiguration?.notificationChannel, 0);
    assert.equal(await client.deleteChannel(appId, rabbit.id), true);
    const realtime = await client.createSignalRChannel(appId, { isActive: false, includeImageData: true });
    assert.equal(realtime.channel, 1);
    const realtimeUpdated = await client.updateSignalRChannel(appId, realtime.id, {
      isActive: false,
      includeImageData: false,
    });
    assert.equal(realtimeUpdated.includeImageData, false);
    assert.equal(await client.deleteChannel(appId, realtime.id), true);
    const details = await client.getChannelDetails(webhook.id);
    assert.equal(details.options.coalesceProgress, false);
    const rotated = await client.rotateSigningSecret(webhook.id);
    assert.match(rotated.signingSecret, /^whsec_/);
    const cert = await client.issueClientCertificate(webhook.id);
    assert.match(cert.certificatePem, /BEGIN CERTIFICATE/);
  });

  it('publishes, reads the delivery log with cursors, redelivers and recovers', async () => {
    h.transport.respond(() => permanentOutcome({ statusCode: 500 }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await client.publish(
        taskCompletedMessage(h.a.applicationId, { TaskId: `33333333-4444-4555-8666-00000000000${i}` }),
        {
          correlationId: `c-${i}`,
          idempotencyKey: `k-${i}`,
        },
      );
      assert.equal(res.deliveries, 1);
      ids.push(res.id);
    }
    const again = await client.publish(
      taskCompletedMessage(h.a.applicationId, { TaskId: '33333333-4444-4555-8666-000000000000' }),
      {
        idempotencyKey: 'k-0',
      },
    );
    assert.deepEqual(again, { id: ids[0], deliveries: 1, duplicate: true });
    await h.engine.drain({ timeoutMs: 10_000 });

    const seen: string[] = [];
    for await (const m of client.iterateMessages({ limit: 1 })) seen.push(m.id);
    assert.deepEqual(seen, [...ids].reverse());
    const message = await client.getMessage(ids[0]!);
    assert.equal(message.correlationId, 'c-0');
    const failed: string[] = [];
    for await (const d of client.iterateDeliveries({ state: 'failed', limit: 2 })) failed.push(d.id);
    assert.equal(failed.length, 3);
    const delivery = await client.getDelivery(failed[0]!);
    assert.equal(delivery.attemptLog[0]?.statusCode, 500);
    let attempts = 0;
    for await (const _ of client.iterateAttempts({ ok: false })) attempts++;
    assert.equal(attempts, 3);
    assert.equal((await client.redeliver(failed[0]!)).state, 'pending');
    assert.equal((await client.recover({ since: new Date(0) })).recovered, 2);
    assert.deepEqual((await client.listEvents()).items, []);
  });

  it('surfaces problems as HeraldApiError', async () => {
    await assert.rejects(client.publish(imageCheckingMessage({ Orientation: 'Sideways' })), (err: unknown) => {
      assert.ok(err instanceof HeraldApiError);
      assert.equal(err.status, 400);
      assert.ok(err.errors['Orientation']);
      assert.match(err.traceId ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      return true;
    });
    const stranger = createHeraldClient({ baseUrl, apiKey: h.a.key, apiSecret: 'wrong' });
    await assert.rejects(
      stranger.listChannels(h.a.applicationId),
      (err: unknown) => err instanceof HeraldApiError && err.status === 401,
    );
    await assert.rejects(
      client.getChannel(h.b.applicationId, '00000000-0000-4000-8000-000000000000'),
      (err: unknown) => err instanceof HeraldApiError && err.status === 404,
    );
  });

  it('covers rejection codes, usage, operators and operations', async () => {
    await client.putRejectionCode('R7', 'Too dark');
    assert.deepEqual(await client.listRejectionCodes(), [{ code: 'R7', description: 'Too dark' }]);
    assert.equal(await client.deleteRejectionCode('R7'), true);
    assert.equal((await client.getUsage()).credits, null);
    assert.equal((await client.mintToken()).role, 'application');

    const shop = await operator.createApplication({ name: 'shop' });
    assert.equal((await operator.getApplication(shop.id)).name, 'shop');
    assert.ok((await operator.listApplications()).some((a) => a.id === shop.id));
    const key = await operator.createApiKey(shop.id, { label: 'x', credits: 1 });
    assert.equal((await operator.listApiKeys(shop.id))[0]?.key, key.key);
    assert.equal((await operator.setCredits(shop.id, key.id, 5)).credits, 5);
    const rotated = await operator.rotateApiKey(shop.id, key.id);
    assert.equal(rotated.credits, 5);
    assert.equal(await operator.revokeApiKey(shop.id, rotated.id), true);
    const shopClient = createHeraldClient({ baseUrl, apiKey: rotated.key, apiSecret: rotated.secret });
    await assert.rejects(shopClient.mintToken(), (err: unknown) => err instanceof HeraldApiError && err.status === 401);
    assert.deepEqual(await operator.listChannels(h.a.applicationId).then((l) => l.length > 0), true);

    assert.deepEqual(await client.health(), { status: 'ok' });
    assert.equal((await client.ready()).status, 'ready');
    assert.equal((await client.openApi())['openapi'], '3.1.0');
  });
});
