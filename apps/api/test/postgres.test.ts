import assert from 'node:assert/strict';
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
