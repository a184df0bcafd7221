import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LivePlatform, type LiveResponse, startLivePlatform } from './security-platform.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const PUBLIC_IP = '93.184.215.14';

/** Internal destinations in the spellings the WHATWG URL parser (and inet_aton for amqp) accepts. */
const INTERNAL_HOSTS = [
  '2130706433',
  '0x7f000001',
  '0x7f.1',
  '0177.0.0.1',
  '127.1',
  '127.0.0.1.',
  '%31%32%37.0.0.1',
  '１２７.０.０.１',
  '[::1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[0:0:0:0:0:ffff:127.0.0.1]',
  '0.0.0.0',
  '0',
  '[::]',
  'localhost',
  'localhost.',
  'LOCALHOST',
  'foo.localhost',
  '169.254.169.254',
  '0xa9fea9fe',
  '[fd00:ec2::254]',
  '100.100.100.200',
  '10.0.0.1',
  '172.16.0.1',
  '192.168.1.1',
  '100.64.0.1',
  '[fe80::1]',
  '[fc00::1]',
  '[64:ff9b::a00:1]',
  '[2002:a00:1::]',
  '224.0.0.1',
  '255.255.255.255',
];

function webhook(url: string): Record<string, unknown> {
  return { isActive: true, retryCount: 1, webHookUrl: url, exponentialBackoffFactor: 2, includeImageData: false };
}

function rabbit(url: string): Record<string, unknown> {
  return { isActive: true, url, username: 'u', password: 'broker-pw', queueName: 'q', includeImageData: false };
}

/** A refusal: 400 (syntax) or 422 (policy), a problem naming the field, and no address in the reason. */
function assertRefused(r: LiveResponse, field: string, label: string, expected: 400 | 422 | 'either' = 422): void {
  if (expected === 'either') assert.ok(r.status === 400 || r.status === 422, `${label}: ${r.status} ${r.text}`);
  else assert.equal(r.status, expected, `${label}: ${r.text}`);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', label);
  const messages: string[] = r.body.errors[field];
  assert.ok(Array.isArray(messages) && messages.length > 0, `${label}: errors.${field}`);
  const text = messages.join(' ');
  // Never the address a spelling normalises or resolves to.
  assert.doesNotMatch(text, /127\.0\.0\.1|::1|169\.254|10\.0\.0\.1|192\.168|fd00|7f00|\d+\.\d+\.\d+\.\d+/, label);
}

describe('security probes: SSRF checks at configuration time', () => {
  let lp: LivePlatform;
  before(async () => {
    lp = await startLivePlatform();
  });
  after(() => lp.close());

  const post = (kind: 'WebHook' | 'RabbitMQ', body: Record<string, unknown>) =>
    lp.call(`${BASE}/${kind}?applicationId=${lp.a.applicationId}`, {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('accepts the control: a public address', async () => {
    assert.equal((await post('WebHook', webhook(`https://${PUBLIC_IP}/hook`))).status, 200);
    assert.equal((await post('RabbitMQ', rabbit(`amqps://${PUBLIC_IP}/vhost`))).status, 200);
  });

  it('refuses loopback, private, link-local and metadata webhooks in every spelling (422)', async () => {
    for (const host of INTERNAL_HOSTS) {
      for (const url of [`https://${host}/`, `https://${host}:8443/path?q=1`]) {
        assertRefused(await post('WebHook', webhook(url)), 'webHookUrl', url);
      }
    }
  });

  it('refuses the same hosts as RabbitMQ URLs (422)', async () => {
    for (const host of INTERNAL_HOSTS) {
      const url = `amqp://${host}:5672/vhost`;
      const r = await post('RabbitMQ', rabbit(url));
      // %-escapes and full-width digits stay opaque in amqp: URLs: refused as unresolvable or as a non-URL.
      assertRefused(r, 'url', url, host.includes('%') || host.includes('１') ? 'either' : 422);
    }
  });

  it('refuses credentials in URLs, plain http, odd schemes and over-long URLs', async () => {
    const cases: Array<[string, 400 | 422]> = [
      [`https://user:pass@${PUBLIC_IP}/`, 400],
      [`https://user@${PUBLIC_IP}/`, 400],
      [`http://${PUBLIC_IP}/`, 422],
      ['file:///etc/passwd', 400],
      [`gopher://${PUBLIC_IP}:70/_x`, 400],
      [`ftp://${PUBLIC_IP}/`, 400],
      [`ws://${PUBLIC_IP}/`, 400],
      ['javascript:alert(1)', 400],
      ['data:text/plain,hi', 400],
      [`//${PUBLIC_IP}/`, 400],
      [`https://${PUBLIC_IP}/${'a'.repeat(4096)}`, 400],
      [`https://${PUBLIC_IP}/x\r\nHost: internal`, 400],
      [`https://${PUBLIC_IP}/x\u0001`, 400],
      [`https://${PUBLIC_IP}#@127.0.0.1/`, 400],
      ['https://', 400],
      ['', 400],
    ];
    for (const [url, status] of cases)
      assertRefused(await post('WebHook', webhook(url)), 'webHookUrl', JSON.stringify(url), status);
    for (const [url, status] of [
      [`amqp://user:pass@${PUBLIC_IP}/`, 400],
      [`https://${PUBLIC_IP}/`, 400],
      [`amqp://${PUBLIC_IP}/${'a'.repeat(4096)}`, 400],
    ] as const) {
      assertRefused(await post('RabbitMQ', rabbit(url)), 'url', url, status);
    }
    const hidden = await post('WebHook', webhook(`https://admin:hunter2@${PUBLIC_IP}/`));
    assert.ok(!hidden.text.includes('hunter2'), 'a URL with credentials is never echoed');
  });

  it('applies the check on update (PUT) too', async () => {
    const created = await post('WebHook', webhook(`https://${PUBLIC_IP}/hook`));
    const r = await lp.call(`${BASE}/WebHook?applicationId=${lp.a.applicationId}&configurationId=${created.body.id}`, {
      method: 'PUT',
      headers: { ...lp.a.headers, 'content-type': 'application/json' },
      body: JSON.stringify(webhook('https://0x7f.1/')),
    });
    assertRefused(r, 'webHookUrl', 'PUT');
    const form = new FormData();
    for (const [k, v] of Object.entries(webhook('https://[::ffff:a9fe:a9fe]/'))) form.append(k, String(v));
    assertRefused(
      await lp.call(`${BASE}/WebHook?applicationId=${lp.a.applicationId}`, {
        method: 'POST',
        headers: lp.a.headers,
        body: form,
      }),
      'webHookUrl',
      'form body',
    );
  });
});

describe('security probes: HERALD_ALLOW_CIDRS and HERALD_ALLOW_HTTP', () => {
  let lp: LivePlatform;
  before(async () => {
    lp = await startLivePlatform({ HERALD_ALLOW_CIDRS: '127.0.0.0/8, 10.20.0.0/16', HERALD_ALLOW_HTTP: 'true' });
  });
  after(() => lp.close());

  const post = (url: string) =>
    lp.call(`${BASE}/WebHook?applicationId=${lp.a.applicationId}`, {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/json' },
      body: JSON.stringify(webhook(url)),
    });

  it('lets the allowed ranges through, in any spelling, and nothing else', async () => {
    for (const url of [
      'https://127.0.0.1:9/',
      'https://127.1/',
      'https://0x7f000001/',
      'http://10.20.3.4/',
      'https://[::ffff:127.0.0.1]/',
    ]) {
      assert.equal((await post(url)).status, 200, url);
    }
    for (const url of ['https://10.21.0.1/', 'https://[::1]/', 'https://169.254.169.254/', 'https://192.168.0.1/']) {
      assertRefused(await post(url), 'webHookUrl', url);
    }
  });

  it('accepts http: only because HERALD_ALLOW_HTTP is set; other schemes stay refused', async () => {
    assert.equal((await post(`http://${PUBLIC_IP}/`)).status, 200);
    assertRefused(await post(`ftp://${PUBLIC_IP}/`), 'webHookUrl', 'ftp', 400);
  });
});
