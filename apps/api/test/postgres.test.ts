import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { imageCheckingMessage } from './fixtures.ts';
import { createHarness, formData, type Harness, jsonInit, readJson } from './harness.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';

describe('the API on PostgreSQL', () => {
  let db: TestDatabase;
  let h: Harness;
  before(async () => {
    db = await createTestDatabase();
    h = await createHarness({ storeUrl: db.url });
  });
  after(async () => {
    await h?.close();
    await db?.drop();
  });

  it('serves the documented channel API, publishing and the delivery log', async () => {
    const appId = h.a.applicationId;
    const created = await h.app.request(`${BASE}/RabbitMQ?applicationId=${appId}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({
        isActive: true,
        password: 'securePassword123',
        queueName: 'TaskQueue',
        username: 'admin',
        url: 'amqp://localhost/Test',
        includeImageData: true,
      }),
    });
    assert.equal(created.status, 200);
    const channel = await readJson(created);
    assert.equal(
      channel.notificationChannelConfigurationJSON,
      '{"Url":"amqp://localhost/Test","Username":"admin","Password":"********","QueueName":"TaskQueue"}',
    );
    assert.match(channel.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const active = await readJson(h.app.request(`${BASE}/Active?applicationId=${appId}`, { headers: h.a.headers }));
    assert.equal(active.$values.length, 1);

    const headers = { ...h.a.headers, 'idempotency-key': 'pg-1' };
    const first = await readJson(
      h.app.request('/api/v1/herald/messages', jsonInit('POST', headers, imageCheckingMessage())),
    );
    const again = await readJson(
      h.app.request('/api/v1/herald/messages', jsonInit('POST', headers, imageCheckingMessage())),
    );
    assert.equal(again.id, first.id);
    assert.equal(again.duplicate, true);
    const deliveries = await readJson(
      h.app.request(`/api/v1/herald/deliveries?messageId=${first.id}`, { headers: h.a.headers }),
    );
    assert.equal(deliveries.items.length, 1);
    assert.equal(deliveries.items[0].state, 'pending');

    // Another application sees none of it.
    assert.equal((await h.app.request(`/api/v1/herald/messages/${first.id}`, { headers: h.b.headers })).status, 404);
    assert.equal(
      (
        await h.app.request(`${BASE}?applicationId=${h.b.applicationId}&configurationId=${channel.id}`, {
          headers: h.b.headers,
        })
      ).status,
      404,
    );
    assert.equal((await h.app.request('/readyz')).status, 200);
  });
});

/** A TCP relay to PostgreSQL that a test can cut (every connection reset, new ones refused) and restore. */
async function createCuttableRelay(
  target: URL,
): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const forget = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async cut() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async restore() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

describe('the API when PostgreSQL becomes unreachable', () => {
  let db: TestDatabase;
  let h: Harness;
  let relay: Awaited<ReturnType<typeof createCuttableRelay>>;
  before(async () => {
    db = await createTestDatabase();
    relay = await createCuttableRelay(new URL(db.url));
    h = await createHarness({ storeUrl: relay.url });
  });
  after(async () => {
    await h?.close();
    await relay?.cut();
    await db?.drop();
  });

  it('answers 503 with Retry-After (not 500) while the database is away, and 202 again once it is back', async () => {
    const appId = h.a.applicationId;
    const created = await h.app.request(`${BASE}/WebHook?applicationId=${appId}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({
        isActive: true,
        retryCount: 3,
        webHookUrl: 'https://webhook.site/example',
        exponentialBackoffFactor: 2,
        includeImageData: true,
      }),
    });
    assert.equal(created.status, 200);
    const publish = () =>
      h.app.request('/api/v1/herald/messages', jsonInit('POST', h.a.headers, imageCheckingMessage()));
    assert.equal((await publish()).status, 202);

    await relay.cut();
    for (const res of [
      await publish(),
      await h.app.request(`${BASE}/All?applicationId=${appId}`, { headers: h.a.headers }),
    ]) {
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const body = await readJson(res);
      assert.equal(body.status, 503);
      assert.match(JSON.stringify(body.errors), /database is unavailable/);
    }
    assert.ok(!h.logLines.some((l) => l.includes('unhandled error')), 'no 500 was logged');
    assert.ok(h.logLines.some((l) => l.includes('database unavailable; answered 503')));

    await relay.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 202; i++) {
      status = (await publish()).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 202);
  });
});
