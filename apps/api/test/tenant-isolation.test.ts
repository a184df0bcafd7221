import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listRoutes } from '../src/app.ts';
import type { Route } from '../src/route.ts';
import { imageCheckingMessage } from './fixtures.ts';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

const IMAGE_CHECKING = imageCheckingMessage();

// A valid body per operation, so that a refusal cannot come from validation instead of isolation.
const SAMPLE_BODIES: Record<string, unknown> = {
  createWebHookChannel: {
    isActive: true,
    retryCount: 1,
    webHookUrl: 'https://webhook.site/x',
    exponentialBackoffFactor: 2,
    includeImageData: false,
  },
  updateWebHookChannel: {
    isActive: true,
    retryCount: 1,
    webHookUrl: 'https://webhook.site/x',
    exponentialBackoffFactor: 2,
    includeImageData: false,
  },
  createRabbitMqChannel: {
    isActive: true,
    url: 'amqp://broker.example.org/',
    username: 'u',
    password: 'p',
    queueName: 'q',
    includeImageData: false,
  },
  updateRabbitMqChannel: {
    isActive: true,
    url: 'amqp://broker.example.org/',
    username: 'u',
    password: 'p',
    queueName: 'q',
    includeImageData: false,
  },
  publishMessage: IMAGE_CHECKING,
  recoverDeliveries: { since: '2020-01-01T00:00:00Z' },
  putRejectionCode: { description: 'blurry' },
  createApplication: { name: 'x' },
  createApiKey: {},
  setApiKeyCredits: { credits: 5 },
};

describe('authentication and tenant isolation on every route', () => {
  let h: Harness;
  let fixtures: Record<string, string>;
  let routes: { method: string; path: string; spec: Route }[];

  before(async () => {
    h = await createHarness();
    const appId = h.a.applicationId;
    const channel = await h.store.createChannel({
      applicationId: appId,
      kind: 0,
      isActive: true,
      includeImageData: false,
      config: { webHookUrl: 'https://webhook.site/a', retryCount: 1, exponentialBackoffFactor: 2 },
    });
    const rabbit = await h.store.createChannel({
      applicationId: appId,
      kind: 2,
      isActive: false,
      includeImageData: false,
      config: { url: 'amqp://broker.example.org/', username: 'u', queueName: 'q' },
      secrets: { password: 'p' },
    });
    const published = await h.engine.publish({
      applicationId: appId,
      body: IMAGE_CHECKING,
      type: 'ImageCheckingNotification',
    });
    assert.ok(published.ok);
    await h.store.upsertRejectionCode({ applicationId: appId, code: 'R1', description: 'one' });
    fixtures = {
      configurationId: channel.id,
      rabbitConfigurationId: rabbit.id,
      channelId: channel.id,
      messageId: published.message.id,
      deliveryId: published.deliveries[0]!.id,
      code: 'R1',
      applicationId: appId,
      keyId: h.a.keyId,
    };
    const specs = listRoutes();
    // Walk the app's own route table, so a route added later is covered without editing this test.
    routes = h.app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => {
        const spec = specs.find((s) => s.method === r.method && s.path === r.path);
        assert.ok(spec, `route ${r.method} ${r.path} has no spec`);
        return { method: r.method, path: r.path, spec };
      });
    assert.ok(routes.length >= 30, `expected the full route table, got ${routes.length}`);
  });
  after(() => h.close());

  function urlFor(path: string, withAppQuery: boolean): string {
    const filled = path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
      const value = fixtures[name];
      assert.ok(value !== undefined, `no fixture for path parameter :${name}; add one to this test`);
      return value;
    });
    const q = new URLSearchParams();
    if (withAppQuery) q.set('applicationId', h.a.applicationId);
    if (path.endsWith('/ChannelConfiguration') || /ChannelConfiguration\/(WebHook|RabbitMQ)$/.test(path)) {
      q.set('configurationId', fixtures[path.endsWith('/RabbitMQ') ? 'rabbitConfigurationId' : 'configurationId']!);
    }
    const qs = q.toString();
    return qs === '' ? filled : `${filled}?${qs}`;
  }

  function init(spec: Route, headers: Record<string, string>): RequestInit {
    if (spec.body === undefined) return { method: spec.method, headers };
    return jsonInit(spec.method, headers, SAMPLE_BODIES[spec.operationId] ?? {});
  }

  it('answers 401 with the documents’ body on every protected route without credentials', async () => {
    for (const { spec } of routes) {
      if (spec.auth === 'public') continue;
      const res = await h.app.request(urlFor(spec.path, true), init(spec, {}));
      assert.equal(res.status, 401, `${spec.method} ${spec.path}`);
      const body = await readJson(res);
      assert.deepEqual(body.errors, {
        'business:': ['Token is missing, invalid or ApplicationId is not found in the token.'],
      });
    }
  });

  it('answers 401 when the token and the key belong to different applications', async () => {
    for (const { spec } of routes) {
      if (spec.auth !== 'application') continue;
      const mixed = { ...h.b.headers, authorization: h.a.headers.authorization! };
      const res = await h.app.request(urlFor(spec.path, true), init(spec, mixed));
      assert.equal(res.status, 401, `${spec.method} ${spec.path}`);
    }
  });

  it('answers 401 for a wrong secret or a forged token', async () => {
    for (const { spec } of routes) {
      if (spec.auth === 'public') continue;
      // A fresh key per route: wrong secrets lock a key for a while after ten of them.
      const victim = await h.newCaller(h.a.applicationId);
      const wrongSecret = { ...victim.headers, 'x-api-secret': `${victim.secret}x` };
      assert.equal(
        (await h.app.request(urlFor(spec.path, true), init(spec, wrongSecret))).status,
        401,
        `${spec.method} ${spec.path}`,
      );
      if (spec.auth === 'key') continue;
      const forged = { ...h.a.headers, authorization: `Bearer ${h.a.token.slice(0, -2)}xx` };
      assert.equal(
        (await h.app.request(urlFor(spec.path, true), init(spec, forged))).status,
        401,
        `${spec.method} ${spec.path}`,
      );
    }
  });

  it('hides application A’s resources from application B (404), and operator routes from both (403)', async () => {
    let checked = 0;
    for (const { spec } of routes) {
      if (spec.auth === 'public' || spec.auth === 'key') continue;
      const expected = spec.auth === 'operator' ? 403 : 404;
      const res = await h.app.request(urlFor(spec.path, true), init(spec, h.b.headers));
      assert.equal(res.status, expected, `${spec.method} ${spec.path} with ?applicationId of A`);
      // Rejection codes are names inside the caller's own catalogue, not ids: checked below instead.
      if (spec.path.includes(':') && spec.auth === 'application' && !spec.path.endsWith(':code')) {
        const noQuery = await h.app.request(urlFor(spec.path, false), init(spec, h.b.headers));
        assert.equal(noQuery.status, 404, `${spec.method} ${spec.path} with A's ids in the path`);
      }
      checked++;
    }
    assert.ok(checked >= 25);
    const put = await h.app.request(
      '/api/v1/herald/rejection-codes/R1',
      jsonInit('PUT', h.b.headers, { description: 'B’s own' }),
    );
    assert.equal(put.status, 200);
    const aCodes = await h.store.listRejectionCodes(h.a.applicationId);
    assert.deepEqual(
      aCodes.map((r) => r.description),
      ['one'],
      'B writes only its own catalogue',
    );
  });

  it('lets A itself through on every application route (the control of the test above)', async () => {
    for (const { spec } of routes) {
      if (spec.auth !== 'application' || spec.method === 'DELETE') continue;
      const res = await h.app.request(urlFor(spec.path, true), init(spec, h.a.headers));
      assert.ok(
        ![401, 403, 404].includes(res.status),
        `${spec.method} ${spec.path} answered ${res.status}: ${await res.text()}`,
      );
    }
  });

  it('lets an operator act on any application', async () => {
    const res = await h.app.request(
      `/api/v1/Notification/ChannelConfiguration/All?applicationId=${h.a.applicationId}`,
      { headers: h.operator.headers },
    );
    assert.equal(res.status, 200);
    assert.ok((await readJson(res)).length >= 2);
    const missing = await h.app.request('/api/v1/herald/messages', { headers: h.operator.headers });
    assert.equal(missing.status, 400, 'an operator must name the application');
  });
});
