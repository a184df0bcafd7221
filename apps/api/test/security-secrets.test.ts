import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listRoutes } from '../src/app.ts';
import { taskCompletedMessage } from './fixtures.ts';
import { type LivePlatform, startLivePlatform } from './security-platform.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const RABBIT_PASSWORD = 'Rabbit-Pa55word-7f3a9c';
const HEADER_SECRET = 'Shared-Header-Secret-91b2c4';
const SIGNING_SECRET = `whsec_${Buffer.from('signing-secret-bytes-0123456789ab').toString('base64')}`;
const RABBIT_PASSWORD_2 = 'Second-Rabbit-Pw-4411';

describe('security probes: secrets never appear in answers or logs', () => {
  let lp: LivePlatform;
  const secrets: Record<string, string> = {};
  const ids: Record<string, string> = {};

  before(async () => {
    lp = await startLivePlatform();
    const { a, operator } = lp;
    const json = { ...a.headers, 'content-type': 'application/json' };
    const rabbit = await lp.call(`${BASE}/RabbitMQ?applicationId=${a.applicationId}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        isActive: true,
        url: 'amqps://93.184.215.14/vhost',
        username: 'broker-user',
        password: RABBIT_PASSWORD,
        queueName: 'TaskQueue',
        includeImageData: true,
      }),
    });
    assert.equal(rabbit.status, 200, rabbit.text);
    ids.rabbit = rabbit.body.id;
    // The same through form-data, then updated with another password.
    const form = new FormData();
    for (const [k, v] of Object.entries({
      isActive: 'true',
      url: 'amqp://93.184.215.14/other',
      username: 'u2',
      password: 'first-form-password-1',
      queueName: 'Q2',
      includeImageData: 'false',
    }))
      form.append(k, v);
    const formRabbit = await lp.call(`${BASE}/RabbitMQ?applicationId=${a.applicationId}`, {
      method: 'POST',
      headers: a.headers,
      body: form,
    });
    assert.equal(formRabbit.status, 200);
    const updated = await lp.call(
      `${BASE}/RabbitMQ?applicationId=${a.applicationId}&configurationId=${formRabbit.body.id}`,
      {
        method: 'PUT',
        headers: json,
        body: JSON.stringify({
          isActive: true,
          url: 'amqp://93.184.215.14/other',
          username: 'u2',
          password: RABBIT_PASSWORD_2,
          queueName: 'Q2',
          includeImageData: false,
        }),
      },
    );
    assert.equal(updated.status, 200);
    const hook = await lp.call(`${BASE}/WebHook?applicationId=${a.applicationId}`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        isActive: true,
        retryCount: 2,
        webHookUrl: 'https://93.184.215.14/hook',
        exponentialBackoffFactor: 2,
        includeImageData: false,
        secretHeaderName: 'X-Herald-Secret',
        secretHeaderValue: HEADER_SECRET,
        signingSecret: SIGNING_SECRET,
        clientCertificate: 'generate',
      }),
    });
    assert.equal(hook.status, 200, hook.text);
    ids.hook = hook.body.id;
    const rotated = await lp.call(`/api/v1/herald/channels/${ids.hook}/signing-secret`, {
      method: 'POST',
      headers: a.headers,
    });
    assert.equal(rotated.status, 200);
    secrets.generatedSigning = rotated.body.signingSecret;
    const published = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers: json,
      body: JSON.stringify(taskCompletedMessage(a.applicationId)),
    });
    assert.equal(published.status, 202);
    ids.message = published.body.id;
    const deliveries = await lp.call(`/api/v1/herald/deliveries?messageId=${ids.message}`, { headers: a.headers });
    ids.delivery = deliveries.body.items[0].id;
    const code = await lp.call('/api/v1/herald/rejection-codes/R1', {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ description: 'blurry' }),
    });
    assert.equal(code.status, 200);
    Object.assign(secrets, {
      rabbit: RABBIT_PASSWORD,
      rabbitForm: 'first-form-password-1',
      rabbit2: RABBIT_PASSWORD_2,
      header: HEADER_SECRET,
      signing: SIGNING_SECRET,
      signingBase64: SIGNING_SECRET.slice('whsec_'.length),
      aSecret: a.secret,
      bSecret: lp.b.secret,
      operatorSecret: operator.secret,
      aToken: a.token,
      bToken: lp.b.token,
      operatorToken: operator.token,
    });
    // Failed logins carry secrets and tokens too: they must not reach the logs either.
    await lp.call(`${BASE}/All?applicationId=${a.applicationId}`, {
      headers: { ...a.headers, 'x-api-secret': 'Wrong-Secret-Value-123' },
    });
    secrets.wrongSecret = 'Wrong-Secret-Value-123';
  });
  after(() => lp.close());

  function assertClean(text: string, where: string): void {
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(!text.includes(value), `${name} appears in ${where}`);
    }
    assert.doesNotMatch(text, /-----BEGIN (RSA |EC )?PRIVATE KEY-----/, `a private key appears in ${where}`);
  }

  it('keeps every GET route of the API free of secrets, for the application and for an operator', async () => {
    const values: Record<string, string> = {
      applicationId: lp.a.applicationId,
      channelId: ids.hook ?? '',
      messageId: ids.message ?? '',
      deliveryId: ids.delivery ?? '',
      keyId: lp.a.keyId,
      code: 'R1',
      asset: 'herald-initializer.js',
    };
    const gets = listRoutes().filter((r) => r.method === 'GET');
    assert.ok(gets.length >= 15, 'the route table is walked');
    let scanned = 0;
    for (const route of gets) {
      const path = route.path.replace(/:(\w+)/g, (_, name: string) => values[name] ?? name);
      for (const channelId of [ids.hook, ids.rabbit]) {
        const query = `?applicationId=${lp.a.applicationId}&configurationId=${channelId}`;
        const answers = [
          await lp.call(`${path}${query}`, { headers: lp.a.headers }),
          await lp.call(`${path}${query}`, { headers: lp.operator.headers }),
        ];
        for (const answer of answers) {
          assert.notEqual(answer.status, 500, `${route.path}: ${answer.text.slice(0, 200)}`);
          assertClean(answer.text, `GET ${route.path} (${answer.status})`);
          assertClean(JSON.stringify([...answer.headers]), `headers of GET ${route.path}`);
          scanned += 1;
        }
      }
    }
    assert.ok(scanned >= 60);
    const all = await lp.call(`${BASE}/All?applicationId=${lp.a.applicationId}`, { headers: lp.a.headers });
    assert.equal(all.body.length, 3, 'the channels holding the secrets were listed');
    for (const channel of all.body) {
      if (channel.channel === 2) assert.match(channel.notificationChannelConfigurationJSON, /"Password":"\*{8}"/);
    }
    const extras = await lp.call(`/api/v1/herald/channels/${ids.hook}`, { headers: lp.a.headers });
    assert.equal(extras.status, 200);
    assertClean(extras.text, 'the channel view');
  });

  it('keeps the OpenAPI document, the docs page and the metrics free of secrets', async () => {
    for (const path of ['/openapi.json', '/docs', '/metrics', '/healthz', '/readyz']) {
      const r = await lp.call(path);
      assert.equal(r.status, 200, path);
      assertClean(r.text, path);
    }
  });

  it('keeps secrets, API secrets and JWTs out of every log line', () => {
    assert.ok(lp.logLines.length > 20, 'requests were logged');
    assertClean(lp.logLines.join('\n'), 'the logs');
    for (const line of lp.logLines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.ok(!('headers' in entry) && !('body' in entry), 'no headers or bodies logged');
    }
  });
});
