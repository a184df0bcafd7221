import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiTimestamp } from '@herald/schemas';
import { createHarness, formData, type Harness, jsonInit, readJson } from './harness.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const APP = 'd5eabbb8-c0f6-4640-94fd-3566edad499f';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACE_ID = /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/;

// The document's example requests, verbatim.
const RABBIT_BODY = {
  isActive: true,
  password: 'securePassword123',
  queueName: 'TaskQueue',
  username: 'admin',
  url: 'amqp://localhost/Test',
  includeImageData: true,
};
const WEBHOOK_BODY = {
  isActive: true,
  retryCount: 5,
  webHookUrl: 'https://webhook.site/example',
  exponentialBackoffFactor: 2.0,
  includeImageData: true,
};
const CREATE_KEYS = [
  'id',
  'applicationId',
  'channel',
  'notificationChannelConfigurationJSON',
  'isActive',
  'includeImageData',
  'createdAt',
  'updatedAt',
];
const LIST_KEYS = [
  'id',
  'applicationId',
  'channel',
  'notificationChannelConfigurationJSON',
  'notificationChannelConfiguration',
  'isActive',
  'includeImageData',
  'createdAt',
  'updatedAt',
];

function assertTimestamps(body: Record<string, unknown>) {
  for (const field of ['createdAt', 'updatedAt']) {
    assert.ok(ApiTimestamp.safeParse(body[field]).success, `${field} ${String(body[field])}`);
    assert.match(String(body[field]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
}

describe('the documented channel configuration API', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('answers the 401 of the document, with a traceId from traceparent, when credentials are missing', async () => {
    const res = await h.app.request(`${BASE}/All?applicationId=${APP}`, {
      headers: { traceparent: '00-fc878634896257c5991ac5399ab6c46c-416e4be3606fdbaa-01' },
    });
    assert.equal(res.status, 401);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body), ['errors', 'type', 'title', 'status', 'detail', 'instance', 'extensions']);
    assert.deepEqual(body.errors, {
      'business:': ['Token is missing, invalid or ApplicationId is not found in the token.'],
    });
    assert.equal(body.type, 'https://tools.ietf.org/html/rfc7231#section-6.5.1');
    assert.equal(body.title, 'One or more errors occurred.');
    assert.equal(body.status, 401);
    assert.equal(body.detail, null);
    assert.equal(body.instance, null);
    assert.match(body.extensions.traceId, /^00-fc878634896257c5991ac5399ab6c46c-[0-9a-f]{16}-00$/);
  });

  it('answers the 404 of the document for Active when no channel is active', async () => {
    const res = await h.app.request(`${BASE}/Active?applicationId=${APP}`, { headers: h.a.headers });
    assert.equal(res.status, 404);
    const body = await readJson(res);
    assert.deepEqual(body.errors, {
      'engine: Active': [`No active notification channel configurations found for Application ${APP}.`],
      'business: Active': [`Error getting active notification channel configurations for Application: ${APP}`],
    });
    assert.equal(body.type, 'https://tools.ietf.org/html/rfc7231#section-6.5.1');
    assert.equal(body.title, 'One or more errors occurred.');
    assert.equal(body.status, 404);
    assert.match(body.extensions.traceId, TRACE_ID);
  });

  let rabbitId = '';
  let webhookId = '';

  it('creates a RabbitMQ channel from the document’s form-data request, answering the document’s shape with the password masked', async () => {
    const res = await h.app.request(`${BASE}/RabbitMQ?applicationId=${APP}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData(RABBIT_BODY),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes('securePassword123'), 'the password is never echoed');
    const body = JSON.parse(text);
    assert.deepEqual(Object.keys(body), CREATE_KEYS);
    assert.match(body.id, UUID);
    assert.equal(body.applicationId, APP);
    assert.equal(body.channel, 2);
    assert.equal(
      body.notificationChannelConfigurationJSON,
      '{"Url":"amqp://localhost/Test","Username":"admin","Password":"********","QueueName":"TaskQueue"}',
    );
    assert.equal(body.isActive, true);
    assert.equal(body.includeImageData, true);
    assertTimestamps(body);
    rabbitId = body.id;
  });

  it('creates a WebHook channel from the document’s request (urlencoded), JSON exactly as the document prints it', async () => {
    const res = await h.app.request(`${BASE}/WebHook?applicationId=${APP}`, {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(
        Object.entries(WEBHOOK_BODY).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString(),
    });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body), CREATE_KEYS);
    assert.equal(body.channel, 0);
    assert.equal(
      body.notificationChannelConfigurationJSON,
      '{"WebHookUrl":"https://webhook.site/example","RetryCount":5,"ExponentialBackoffFactor":2.0}',
    );
    assertTimestamps(body);
    webhookId = body.id;
  });

  it('accepts JSON bodies too', async () => {
    const res = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}`,
      jsonInit('POST', h.a.headers, { ...WEBHOOK_BODY, isActive: false }),
    );
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.equal(body.isActive, false);
    const del = await h.app.request(`${BASE}?applicationId=${APP}&configurationId=${body.id}`, {
      method: 'DELETE',
      headers: h.a.headers,
    });
    assert.equal(await del.text(), 'true');
  });

  it('lists all as a plain array with the nested notificationChannelConfiguration', async () => {
    const res = await h.app.request(`${BASE}/All?applicationId=${APP}`, { headers: h.a.headers });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.ok(Array.isArray(body));
    assert.equal(body.length, 2);
    for (const item of body) {
      assert.deepEqual(Object.keys(item), LIST_KEYS);
      assert.deepEqual(item.notificationChannelConfiguration, {
        isActive: item.isActive,
        includeImageData: item.includeImageData,
        notificationChannel: item.channel,
      });
      assertTimestamps(item);
    }
    assert.deepEqual(body.map((i: { id: string }) => i.id).sort(), [rabbitId, webhookId].sort());
  });

  it('lists active ones in the {"$id":"1","$values":[...]} wrapper', async () => {
    const res = await h.app.request(`${BASE}/Active?applicationId=${APP}`, { headers: h.a.headers });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body), ['$id', '$values']);
    assert.equal(body.$id, '1');
    assert.equal(body.$values.length, 2);
    assert.deepEqual(Object.keys(body.$values[0]), LIST_KEYS);
  });

  it('gets one configuration (path and query names matched case-insensitively)', async () => {
    const res = await h.app.request(
      `/API/V1/notification/channelconfiguration?ApplicationID=${APP.toUpperCase()}&CONFIGURATIONID=${webhookId}`,
      { headers: h.a.headers },
    );
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body), LIST_KEYS);
    assert.equal(body.id, webhookId);
    assert.equal(body.notificationChannelConfiguration.notificationChannel, 0);
  });

  it('updates a RabbitMQ channel with PUT and keeps createdAt', async () => {
    const before = await readJson(
      h.app.request(`${BASE}?applicationId=${APP}&configurationId=${rabbitId}`, { headers: h.a.headers }),
    );
    const res = await h.app.request(`${BASE}/RabbitMQ?applicationId=${APP}&configurationId=${rabbitId}`, {
      method: 'PUT',
      headers: h.a.headers,
      body: formData({ ...RABBIT_BODY, queueName: 'OtherQueue', isActive: false }),
    });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body), CREATE_KEYS);
    assert.equal(body.id, rabbitId);
    assert.equal(body.isActive, false);
    assert.equal(
      body.notificationChannelConfigurationJSON,
      '{"Url":"amqp://localhost/Test","Username":"admin","Password":"********","QueueName":"OtherQueue"}',
    );
    assert.equal(body.createdAt, before.createdAt);
    const stored = await h.store.getChannel(APP, rabbitId);
    assert.equal(stored?.secrets.password, 'securePassword123', 'the password is kept, encrypted, for delivery');
  });

  it('keeps the stored password when an update writes back the mask it read, and replaces it with a real one', async () => {
    const put = (password: string) =>
      h.app.request(`${BASE}/RabbitMQ?applicationId=${APP}&configurationId=${rabbitId}`, {
        method: 'PUT',
        headers: h.a.headers,
        body: formData({ ...RABBIT_BODY, password, isActive: false }),
      });
    const masked = await put('********');
    assert.equal(masked.status, 200);
    assert.equal((await h.store.getChannel(APP, rabbitId))?.secrets.password, 'securePassword123');
    const replaced = await put('anotherPassword456');
    assert.equal(replaced.status, 200);
    assert.equal((await h.store.getChannel(APP, rabbitId))?.secrets.password, 'anotherPassword456');
    const back = await put('securePassword123');
    assert.equal(back.status, 200);
  });

  it('updates a WebHook channel with PUT', async () => {
    const res = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}&configurationId=${webhookId}`,
      jsonInit('PUT', h.a.headers, { ...WEBHOOK_BODY, retryCount: 3 }),
    );
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.equal(
      body.notificationChannelConfigurationJSON,
      '{"WebHookUrl":"https://webhook.site/example","RetryCount":3,"ExponentialBackoffFactor":2.0}',
    );
  });

  it('refuses PUT of a configuration of the other kind as not found', async () => {
    const res = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}&configurationId=${rabbitId}`,
      jsonInit('PUT', h.a.headers, WEBHOOK_BODY),
    );
    assert.equal(res.status, 404);
  });

  it('answers 404 for an unknown configuration id, and 400 with the field path for a non-UUID one', async () => {
    const unknown = await h.app.request(
      `${BASE}?applicationId=${APP}&configurationId=00000000-0000-4000-8000-000000000000`,
      {
        headers: h.a.headers,
      },
    );
    assert.equal(unknown.status, 404);
    const bad = await h.app.request(`${BASE}?applicationId=${APP}&configurationId=nope`, { headers: h.a.headers });
    assert.equal(bad.status, 400);
    assert.ok(Object.keys((await readJson(bad)).errors).includes('configurationId'));
  });

  it('refuses validation errors with 400 and field paths', async () => {
    const res = await h.app.request(`${BASE}/WebHook?applicationId=${APP}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({ ...WEBHOOK_BODY, retryCount: 'many', includeImageData: 'maybe' }),
    });
    assert.equal(res.status, 400);
    const body = await readJson(res);
    assert.equal(body.status, 400);
    assert.ok(body.errors.retryCount);
    assert.ok(body.errors.includeImageData);
  });

  it('deletes with `true`, and the configuration is gone', async () => {
    const res = await h.app.request(`${BASE}?applicationId=${APP}&configurationId=${webhookId}`, {
      method: 'DELETE',
      headers: h.a.headers,
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'true');
    const again = await h.app.request(`${BASE}?applicationId=${APP}&configurationId=${webhookId}`, {
      method: 'DELETE',
      headers: h.a.headers,
    });
    assert.equal(again.status, 404);
  });
});

describe('binding request bodies and paths as the documented (ASP.NET) server does', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  const del = (id: string) =>
    h.app.request(`${BASE}?applicationId=${APP}&configurationId=${id}`, { method: 'DELETE', headers: h.a.headers });

  it('takes field names in any letter case, text/json, a trailing slash, and a missing includeImageData (false)', async () => {
    const res = await h.app.request(`${BASE.toLowerCase()}/webhook/?applicationId=${APP}`, {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'text/json; charset=utf-8' },
      body: JSON.stringify({
        IsActive: true,
        RetryCount: 3,
        WebHookUrl: 'https://webhook.site/example',
        exponentialbackofffactor: 2,
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = await readJson(res);
    assert.equal(body.isActive, true);
    assert.equal(body.includeImageData, false);
    assert.equal(
      body.notificationChannelConfigurationJSON,
      '{"WebHookUrl":"https://webhook.site/example","RetryCount":3,"ExponentialBackoffFactor":2.0}',
    );
    assert.equal((await del(body.id)).status, 200);
  });

  it('reads empty or null optional fields as absent, in forms and JSON; an update without includeImageData keeps it', async () => {
    const form = await h.app.request(`${BASE}/WebHook?applicationId=${APP}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({
        ...WEBHOOK_BODY,
        orderingKey: '',
        secretHeaderName: '',
        secretHeaderValue: '',
        maxInFlight: '',
      }),
    });
    assert.equal(form.status, 200);
    const created = await readJson(form);
    assert.equal(created.includeImageData, true);
    const put = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}&configurationId=${created.id}`,
      jsonInit('PUT', h.a.headers, {
        isActive: false,
        retryCount: 4,
        webHookUrl: 'https://webhook.site/example',
        exponentialBackoffFactor: 2,
        orderingKey: null,
        signingSecret: null,
      }),
    );
    assert.equal(put.status, 200);
    const updated = await readJson(put);
    assert.equal(updated.isActive, false);
    assert.equal(updated.includeImageData, true, 'omitted on update: kept');
    // A documented (required) field sent empty is still an error naming it.
    const empty = await h.app.request(`${BASE}/WebHook?applicationId=${APP}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({ ...WEBHOOK_BODY, webHookUrl: '' }),
    });
    assert.equal(empty.status, 400);
    assert.ok((await readJson(empty)).errors.webHookUrl);
    assert.equal((await del(created.id)).status, 200);
  });

  it('refuses one field sent in two letter cases with different values (400 naming it), and unknown names', async () => {
    const twice = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}`,
      jsonInit('POST', h.a.headers, { ...WEBHOOK_BODY, IsActive: false }),
    );
    assert.equal(twice.status, 400);
    assert.ok((await readJson(twice)).errors.isActive);
    const unknown = await h.app.request(
      `${BASE}/WebHook?applicationId=${APP}`,
      jsonInit('POST', h.a.headers, { ...WEBHOOK_BODY, webHookUri: 'https://webhook.site/x' }),
    );
    assert.equal(unknown.status, 400);
    assert.ok((await readJson(unknown)).errors.webHookUri);
    const list = await readJson(await h.app.request(`${BASE}/All?applicationId=${APP}`, { headers: h.a.headers }));
    assert.equal(list.length, 0, 'nothing was created by the refused requests');
  });

  it('answers 400 naming applicationId when it is not a UUID, 404 for another well-formed one', async () => {
    const bad = await h.app.request(`${BASE}/All?applicationId=not-a-uuid`, { headers: h.a.headers });
    assert.equal(bad.status, 400);
    assert.ok((await readJson(bad)).errors.applicationId);
    const other = await h.app.request(`${BASE}/All?applicationId=00000000-0000-4000-8000-000000000000`, {
      headers: h.a.headers,
    });
    assert.equal(other.status, 404);
    const log = await h.app.request('/api/v1/herald/deliveries?applicationId=nope', { headers: h.a.headers });
    assert.equal(log.status, 400);
  });

  it('refuses "__proto__" anywhere in a JSON body', async () => {
    const res = await h.app.request(`${BASE}/WebHook?applicationId=${APP}`, {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: `{"isActive":true,"retryCount":5,"webHookUrl":"https://webhook.site/example","exponentialBackoffFactor":2,"__proto__":{"includeImageData":true}}`,
    });
    assert.equal(res.status, 400);
    const message = await h.app.request('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: '{"a":{"b":{"__proto__":{"polluted":true}}}}',
    });
    assert.equal(message.status, 400);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});
