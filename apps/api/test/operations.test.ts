import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApiMetrics } from '../src/metrics.ts';
import { toOpenApiPath } from '../src/openapi.ts';
import { imageCheckingMessage } from './fixtures.ts';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

describe('operations: health, metrics, OpenAPI, docs, logs', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness({ overrides: { readiness: [{ name: 'broker', check: async () => true }] } });
  });
  after(() => h.close());

  it('answers /healthz and /readyz without credentials', async () => {
    const live = await h.app.request('/healthz');
    assert.equal(live.status, 200);
    assert.deepEqual(await readJson(live), { status: 'ok' });
    const ready = await h.app.request('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(await readJson(ready), { status: 'ready', checks: { database: true, broker: true } });
  });

  it('answers 503 on /readyz when a dependency is down', async () => {
    const down = await createHarness({ overrides: { readiness: [{ name: 'broker', check: async () => false }] } });
    try {
      const res = await down.app.request('/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual((await readJson(res)).checks, { database: true, broker: false });
    } finally {
      await down.close();
    }
  });

  it('serves Prometheus metrics: requests by route and status, deliveries by state, attempts by outcome', async () => {
    const metrics = createApiMetrics();
    const m = await createHarness({ overrides: { metrics } });
    try {
      await m.store.createChannel({
        applicationId: m.a.applicationId,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: { webHookUrl: 'https://webhook.site/m', retryCount: 1, exponentialBackoffFactor: 2 },
      });
      const pub = await m.app.request('/api/v1/herald/messages', jsonInit('POST', m.a.headers, imageCheckingMessage()));
      assert.equal(pub.status, 202);
      metrics.recordAttempt('delivered', true, 12);
      const res = await m.app.request('/metrics');
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(
        text,
        /herald_http_requests_total\{method="POST",route="\/api\/v1\/herald\/messages",status="202"\} 1/,
      );
      assert.match(text, /herald_deliveries\{state="pending"\} 1/);
      assert.match(text, /herald_delivery_attempts_total\{outcome="delivered",ok="true"\} 1/);
      assert.match(text, /herald_delivery_attempt_duration_seconds_count 1/);
    } finally {
      await m.close();
    }
  });

  it('protects /metrics with the metrics token when one is set', async () => {
    const token = 'metrics-token-0123456789';
    const m = await createHarness({ overrides: { metricsToken: token } });
    try {
      assert.equal((await m.app.request('/metrics')).status, 401);
      assert.equal(
        (await m.app.request('/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
        401,
      );
      assert.equal((await m.app.request('/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    } finally {
      await m.close();
    }
  });

  it('serves an OpenAPI 3.1 document covering every route of the app', async () => {
    const res = await h.app.request('/openapi.json');
    assert.equal(res.status, 200);
    const doc = await readJson(res);
    assert.equal(doc.openapi, '3.1.0');
    const routes = h.app.routes.filter((r) => r.method !== 'ALL');
    assert.ok(routes.length >= 30);
    for (const r of routes) {
      const op = doc.paths[toOpenApiPath(r.path)]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.path} is missing from the OpenAPI document`);
      assert.ok(op.operationId && op.summary && op.responses);
    }
    const create = doc.paths['/api/v1/Notification/ChannelConfiguration/WebHook'].post;
    assert.ok(create.requestBody.content['multipart/form-data']);
    assert.ok(create.requestBody.content['application/json'].schema.properties.webHookUrl);
    assert.match(create.description, /never returns secrets/);
    assert.ok(
      doc.paths['/api/v1/herald/messages'].post.requestBody.content['application/json'].schema.oneOf.length >= 11,
    );
  });

  it('serves the docs page and its assets from the API itself (no CDN)', async () => {
    const page = await h.app.request('/docs');
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, 'no external URL in the page');
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 4);
    for (const asset of assets) {
      const res = await h.app.request(asset);
      assert.equal(res.status, 200, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
    }
    const js = await h.app.request('/docs/swagger-ui-bundle.js');
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await h.app.request('/docs/..%2Fpackage.json')).status, 404);
  });

  it('logs requests as JSON lines without any secret the request carried', async () => {
    h.logLines.length = 0;
    const secret = 'my-broker-password-XYZ';
    await h.app.request(
      `/api/v1/Notification/ChannelConfiguration/RabbitMQ?applicationId=${h.a.applicationId}`,
      jsonInit(
        'POST',
        { ...h.a.headers, 'x-correlation-id': 'log-test' },
        {
          isActive: true,
          url: 'amqp://broker.example.org/',
          username: 'u',
          password: secret,
          queueName: 'q',
          includeImageData: true,
        },
      ),
    );
    await h.app.request('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...h.a.headers, authorization: 'Bearer broken.token.here' },
    });
    const logs = h.logLines.join('');
    assert.ok(h.logLines.length >= 2);
    for (const line of h.logLines) JSON.parse(line);
    assert.match(logs, /"correlationId":"log-test"/);
    for (const s of [secret, h.a.secret, h.a.token, 'broken.token.here'])
      assert.ok(!logs.includes(s), 'a secret reached the logs');
  });
});
