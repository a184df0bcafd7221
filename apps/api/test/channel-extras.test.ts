import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createHarness, formData, type Harness, jsonInit, readJson } from './harness.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const WEBHOOK = {
  isActive: true,
  retryCount: 5,
  webHookUrl: 'https://hooks.example.org/in',
  exponentialBackoffFactor: 2,
  includeImageData: false,
};

describe('webhook auth options, delivery options and destination checks', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  const create = (body: Record<string, unknown>) =>
    h.app.request(`${BASE}/WebHook?applicationId=${h.a.applicationId}`, jsonInit('POST', h.a.headers, body));

  it('stores secret header, signing secret, source address and delivery options, and never returns the secrets', async () => {
    const signingSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const res = await h.app.request(`${BASE}/WebHook?applicationId=${h.a.applicationId}`, {
      method: 'POST',
      headers: h.a.headers,
      body: formData({
        ...WEBHOOK,
        secretHeaderName: 'X-Herald-Secret',
        secretHeaderValue: 'super-secret-value-123',
        signingSecret,
        sourceAddress: '203.0.113.7',
        orderingKey: 'ImageId',
        coalesceProgress: true,
        maxInFlight: 4,
      }),
    });
    assert.equal(res.status, 200);
    const created = await res.text();
    assert.ok(!created.includes('super-secret-value-123') && !created.includes(signingSecret));
    const { id } = JSON.parse(created);
    const stored = await h.store.getChannel(h.a.applicationId, id);
    assert.equal(stored?.secrets.secretHeaderValue, 'super-secret-value-123');
    assert.deepEqual(stored?.secrets.signingSecrets, [signingSecret]);
    assert.deepEqual(stored?.options, { orderingKey: 'ImageId', coalesceProgress: true, maxInFlight: 4 });

    const view = await h.app.request(`/api/v1/herald/channels/${id}`, { headers: h.a.headers });
    const text = await view.text();
    assert.ok(!text.includes('super-secret-value-123') && !text.includes(signingSecret));
    const body = JSON.parse(text);
    assert.deepEqual(body.auth, {
      secretHeaderName: 'X-Herald-Secret',
      secretHeaderValueSet: true,
      signatures: true,
      signingSecretCount: 1,
      sourceAddress: '203.0.113.7',
      clientCertificatePem: null,
    });
    assert.deepEqual(body.options, { orderingKey: 'ImageId', coalesceProgress: true, maxInFlight: 4 });

    // An update without the optional fields keeps them.
    const put = await h.app.request(
      `${BASE}/WebHook?applicationId=${h.a.applicationId}&configurationId=${id}`,
      jsonInit('PUT', h.a.headers, WEBHOOK),
    );
    assert.equal(put.status, 200);
    const after = await h.store.getChannel(h.a.applicationId, id);
    assert.equal(after?.secrets.secretHeaderValue, 'super-secret-value-123');
    assert.equal(after?.options.orderingKey, 'ImageId');
  });

  it('rotates the signing secret, showing the new one once and keeping the previous one during the rotation', async () => {
    const { id } = await readJson(create(WEBHOOK));
    const first = await readJson(
      h.app.request(`/api/v1/herald/channels/${id}/signing-secret`, { method: 'POST', headers: h.a.headers }),
    );
    assert.match(first.signingSecret, /^whsec_/);
    assert.equal(first.activeSecrets, 1);
    const second = await readJson(
      h.app.request(`/api/v1/herald/channels/${id}/signing-secret`, { method: 'POST', headers: h.a.headers }),
    );
    assert.equal(second.activeSecrets, 2);
    const stored = await h.store.getChannel(h.a.applicationId, id);
    assert.deepEqual(stored?.secrets.signingSecrets, [second.signingSecret, first.signingSecret]);
    const done = await readJson(
      h.app.request(`/api/v1/herald/channels/${id}/signing-secret?keepPrevious=false`, {
        method: 'POST',
        headers: h.a.headers,
      }),
    );
    assert.equal(done.activeSecrets, 1);
  });

  it('issues a client certificate: the receiver gets the certificate and CA, Herald keeps the key', async () => {
    const { id } = await readJson(create(WEBHOOK));
    const res = await h.app.request(`/api/v1/herald/channels/${id}/client-certificate`, {
      method: 'POST',
      headers: h.a.headers,
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes('PRIVATE KEY'));
    const body = JSON.parse(text);
    const cert = new X509Certificate(body.certificatePem);
    const ca = new X509Certificate(body.caCertificatePem);
    assert.ok(cert.verify(ca.publicKey));
    const stored = await h.store.getChannel(h.a.applicationId, id);
    assert.match(stored?.secrets.clientKeyPem ?? '', /PRIVATE KEY/);
    const view = await (await h.app.request(`/api/v1/herald/channels/${id}`, { headers: h.a.headers })).text();
    assert.ok(!view.includes('PRIVATE KEY'));
  });

  it('refuses http, internal hosts, unresolvable hosts and credentials in URLs with 422, without naming addresses', async () => {
    const cases = [
      'http://hooks.example.org/in',
      'https://internal.example.org/in',
      'https://10.0.0.1/in',
      'https://169.254.169.254/latest',
      'https://unknown.invalid/in',
    ];
    for (const url of cases) {
      const res = await create({ ...WEBHOOK, webHookUrl: url });
      assert.equal(res.status, 422, url);
      const text = await res.text();
      assert.ok(!text.includes('10.1.2.3'), 'the resolved address is never revealed');
      assert.ok(JSON.parse(text).errors.webHookUrl, url);
    }
    const creds = await create({ ...WEBHOOK, webHookUrl: 'https://user:pw@hooks.example.org/' });
    assert.ok([400, 422].includes(creds.status));
    assert.ok(!(await creds.text()).includes('pw@'));
    const rabbit = await h.app.request(
      `${BASE}/RabbitMQ?applicationId=${h.a.applicationId}`,
      jsonInit('POST', h.a.headers, {
        isActive: true,
        url: 'amqp://internal.example.org/',
        username: 'u',
        password: 'p',
        queueName: 'q',
        includeImageData: true,
      }),
    );
    assert.equal(rabbit.status, 422);
    assert.ok((await readJson(rabbit)).errors.url);
  });

  it('accepts http:// webhooks when the operator allows them', async () => {
    const dev = await createHarness({ overrides: { allowHttp: true } });
    try {
      const res = await dev.app.request(
        `${BASE}/WebHook?applicationId=${dev.a.applicationId}`,
        jsonInit('POST', dev.a.headers, { ...WEBHOOK, webHookUrl: 'http://localhost:9999/in' }),
      );
      assert.equal(res.status, 200);
    } finally {
      await dev.close();
    }
  });
});
