import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { taskCompletedMessage } from './fixtures.ts';
import {
  type LivePlatform,
  type LiveResponse,
  rawBody,
  rawRequest,
  rawStatus,
  startLivePlatform,
} from './security-platform.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const LIMIT = 64 * 1024;

function webhook(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    isActive: true,
    retryCount: 3,
    webHookUrl: 'https://93.184.215.14/hook',
    exponentialBackoffFactor: 2,
    includeImageData: false,
    ...extra,
  };
}

function assertProblem(r: LiveResponse, status: number, label: string): void {
  assert.equal(r.status, status, `${label}: ${r.text.slice(0, 300)}`);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', label);
  assert.equal(r.body.status, status, label);
  assert.doesNotMatch(r.text, /at \w+ \(|\.ts:\d+|node:internal|TypeError|SyntaxError|Unexpected token/, label);
}

async function assertHealthy(lp: LivePlatform): Promise<void> {
  const r = await lp.call('/healthz');
  assert.equal(r.status, 200);
}

describe('security probes: bad input on the running platform', () => {
  let lp: LivePlatform;
  let webhookPath: string;
  let authLines: string;
  before(async () => {
    lp = await startLivePlatform({ HERALD_BODY_LIMIT_BYTES: String(LIMIT) });
    webhookPath = `${BASE}/WebHook?applicationId=${lp.a.applicationId}`;
    authLines = `Authorization: ${lp.a.headers.authorization}\r\nx-api-key: ${lp.a.key}\r\nx-api-secret: ${lp.a.secret}\r\n`;
  });
  after(() => lp.close());

  const postJson = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
    lp.call(webhookPath, {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/json', ...headers },
      body,
    });

  it('answers 413 to bodies over the limit: declared, chunked, unauthenticated, and keeps serving', async () => {
    assertProblem(await postJson(JSON.stringify(webhook({ pad: 'x'.repeat(LIMIT) }))), 413, 'content-length');
    const declared = await rawRequest(
      lp.port,
      `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\n${authLines}Content-Type: application/json\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(rawStatus(declared), 413, 'a declared length over the limit is refused before any byte is read');
    const anonymous = await rawRequest(
      lp.port,
      `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(rawStatus(anonymous), 413);
    const chunk = `${(8192).toString(16)}\r\n${' '.repeat(8192)}\r\n`;
    const chunked = await rawRequest(lp.port, [
      `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\n${authLines}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ...Array.from({ length: 16 }, () => chunk),
    ]);
    assert.equal(rawStatus(chunked), 413, 'chunked bodies are counted too');
    assert.match(rawBody(chunked), /at most 65536 bytes/);
    await assertHealthy(lp);
  });

  it('survives wrong Content-Length values and framing tricks (problem answers, no hang, no crash)', async () => {
    const body = JSON.stringify(webhook());
    const short = await rawRequest(
      lp.port,
      `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\n${authLines}Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.equal(rawStatus(short), 400, 'the first 5 bytes are malformed JSON');
    for (const [label, headers] of [
      ['negative', 'Content-Length: -1'],
      ['not a number', 'Content-Length: abc'],
      ['two different', 'Content-Length: 10\r\nContent-Length: 20'],
      ['with chunked', 'Content-Length: 10\r\nTransfer-Encoding: chunked'],
      ['bad chunk size', 'Transfer-Encoding: chunked'],
    ] as const) {
      const answer = await rawRequest(
        lp.port,
        `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\n${authLines}Content-Type: application/json\r\n${headers}\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      );
      assert.equal(rawStatus(answer), 400, label);
      assert.match(answer, /application\/problem\+json/, label);
    }
    // Declared longer than sent, then the client gives up: the server must not crash.
    const long = await rawRequest(
      lp.port,
      `POST ${webhookPath} HTTP/1.1\r\nHost: x\r\n${authLines}Content-Type: application/json\r\nContent-Length: ${body.length + 50}\r\n\r\n${body}`,
      300,
    );
    assert.equal(long, '', 'still waiting for the rest of the body when the client leaves');
    await assertHealthy(lp);
  });

  it('answers 415 to content types the route does not take, 400 to multipart without a boundary', async () => {
    for (const type of [
      'text/plain',
      'application/xml',
      'text/jsonx',
      'application/jsonx',
      'application/octet-stream',
      '',
    ]) {
      assertProblem(await postJson(JSON.stringify(webhook()), { 'content-type': type }), 415, type);
    }
    assertProblem(
      await postJson(JSON.stringify(webhook()), { 'content-type': 'multipart/form-data' }),
      400,
      'multipart',
    );
    const publish = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--\r\n',
    });
    assertProblem(publish, 415, 'publishing takes JSON only');
  });

  it('answers 400 to malformed JSON, invalid UTF-8 and NaN literals', async () => {
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"isActive":true,"retryCount":3,"webHookUrl":"https://93.184.215.14/'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('","exponentialBackoffFactor":2,"includeImageData":false}'),
    ]);
    const bad = await postJson(invalidUtf8);
    assertProblem(bad, 400, 'invalid UTF-8');
    assert.match(bad.text, /not valid UTF-8/);
    const overlong = Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]); // {"<overlong />":1}
    assertProblem(await postJson(overlong), 400, 'overlong UTF-8');
    const lone = Buffer.from('{"a":"\xed\xa0\x80"}', 'latin1'); // an encoded lone surrogate
    assertProblem(await postJson(lone), 400, 'encoded surrogate');
    for (const text of [
      '{',
      '{"a":}',
      "{'a':1}",
      '{"a":1,}',
      'NaN',
      '[1,2',
      '\u0000',
      'tru',
      '{"a":1}{"b":2}',
      '   ',
    ]) {
      assertProblem(await postJson(text), 400, JSON.stringify(text));
    }
  });

  it('answers 400 to deep nesting, without a stack overflow, in bounded time', async () => {
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ] as const) {
      const depth = Math.floor(LIMIT / (open.length + close.length)) - 1;
      const started = Date.now();
      const r = await postJson(`${open.repeat(depth)}1${close.repeat(depth)}`);
      assertProblem(r, 400, `${open} x ${depth}`);
      assert.match(r.text, /nested at most 64/);
      assert.ok(Date.now() - started < 5000);
    }
    await assertHealthy(lp);
  });

  it('never lets __proto__ or constructor keys pollute prototypes (JSON and forms)', async () => {
    const bodies = [
      '{"__proto__":{"polluted":"yes"},"isActive":true,"retryCount":3,"webHookUrl":"https://93.184.215.14/x","exponentialBackoffFactor":2,"includeImageData":false}',
      '{"constructor":{"prototype":{"polluted":"yes"}},"isActive":true,"retryCount":3,"webHookUrl":"https://93.184.215.14/x","exponentialBackoffFactor":2,"includeImageData":false}',
      '{"isActive":true,"retryCount":3,"webHookUrl":"https://93.184.215.14/x","exponentialBackoffFactor":2,"includeImageData":false,"orderingKey":{"__proto__":{"polluted":"yes"}}}',
      '{"toString":1,"valueOf":2,"hasOwnProperty":3}',
    ];
    for (const body of bodies) {
      const r = await postJson(body);
      assertProblem(r, 400, body.slice(0, 40));
    }
    const proto = await postJson(bodies[0] ?? '');
    assert.deepEqual(Object.keys(proto.body.errors), ['__proto__'], 'named as an unknown field');
    const form = new FormData();
    for (const [k, v] of Object.entries(webhook())) form.append(k, String(v));
    form.append('__proto__', 'polluted');
    form.append('constructor', 'polluted');
    form.append('__proto__[polluted]', 'yes');
    const formAnswer = await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: form });
    assertProblem(formAnswer, 400, 'form');
    const urlencoded = `${new URLSearchParams(Object.entries(webhook()).map(([k, v]): [string, string] => [k, String(v)])).toString()}&__proto__.polluted=yes&constructor.prototype.polluted=yes`;
    const encoded = await lp.call(webhookPath, {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: urlencoded,
    });
    assertProblem(encoded, 400, 'urlencoded');
    const publish = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/json' },
      body: JSON.stringify(taskCompletedMessage(lp.a.applicationId)).replace('{', '{"__proto__":{"polluted":"yes"},'),
    });
    assert.ok(publish.status === 400 || publish.status === 404, `publish: ${publish.status}`);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    await assertHealthy(lp);
  });

  it('refuses a file part and a field repeated with different values in forms', async () => {
    const withFile = new FormData();
    for (const [k, v] of Object.entries(webhook())) if (k !== 'webHookUrl') withFile.append(k, String(v));
    withFile.append('webHookUrl', new Blob(['https://93.184.215.14/x']), 'url.txt');
    const file = await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: withFile });
    assertProblem(file, 400, 'file part');
    assert.ok(file.body.errors.webHookUrl);
    const repeated = new FormData();
    for (const [k, v] of Object.entries(webhook())) repeated.append(k, String(v));
    repeated.append('webHookUrl', 'https://127.0.0.1/');
    const twice = await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: repeated });
    assertProblem(twice, 400, 'repeated field');
    assert.match(twice.body.errors.webHookUrl[0], /more than once/);
    const same = new FormData();
    for (const [k, v] of Object.entries(webhook())) same.append(k, String(v));
    same.append('retryCount', '3');
    assert.equal((await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: same })).status, 200);
  });

  it('refuses CR/LF, NUL and other control characters in values that become headers, URLs or broker fields', async () => {
    const webhookCases: Array<[string, Record<string, unknown>]> = [
      ['CRLF in secretHeaderValue', { secretHeaderName: 'X-Secret', secretHeaderValue: 'abc\r\nX-Injected: 1' }],
      ['LF in secretHeaderValue', { secretHeaderName: 'X-Secret', secretHeaderValue: 'abc\nX-Injected: 1' }],
      ['NUL in secretHeaderValue', { secretHeaderName: 'X-Secret', secretHeaderValue: 'abc\u0000def' }],
      ['DEL in secretHeaderValue', { secretHeaderName: 'X-Secret', secretHeaderValue: 'abc\u007fdef' }],
      ['non-ASCII secretHeaderValue', { secretHeaderName: 'X-Secret', secretHeaderValue: 'pässwörd' }],
      ['CRLF in secretHeaderName', { secretHeaderName: 'X-Secret\r\nX-Injected', secretHeaderValue: 'abc' }],
      ['reserved secretHeaderName', { secretHeaderName: 'Host', secretHeaderValue: 'abc' }],
      ['CRLF in the URL', { webHookUrl: 'https://93.184.215.14/x\r\nX-Injected: 1' }],
      ['NUL in the URL', { webHookUrl: 'https://93.184.215.14/x\u0000' }],
      ['tab in the URL', { webHookUrl: 'https://93.184.215.14/\tx' }],
    ];
    for (const [label, extra] of webhookCases) {
      const r = await postJson(JSON.stringify(webhook(extra)));
      assertProblem(r, 400, label);
      assert.ok(!r.text.includes('abc\\r\\n') && !r.text.includes('pässwörd'), `${label}: secret echoed`);
    }
    const form = new FormData();
    for (const [k, v] of Object.entries(webhook({ secretHeaderName: 'X-Secret', secretHeaderValue: 'a\r\nb' })))
      form.append(k, String(v));
    assertProblem(await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: form }), 400, 'form CRLF');
    for (const [field, value] of [
      ['username', 'guest\u0007'],
      ['password', 'pw\r\nx'],
      ['queueName', 'q\u001b'],
      ['url', 'amqp://93.184.215.14/\r\nvhost'],
    ] as const) {
      const r = await lp.call(`${BASE}/RabbitMQ?applicationId=${lp.a.applicationId}`, {
        method: 'POST',
        headers: { ...lp.a.headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          isActive: true,
          url: 'amqp://93.184.215.14/',
          username: 'guest',
          password: 'pw',
          queueName: 'q',
          includeImageData: false,
          [field]: value,
        }),
      });
      assertProblem(r, 400, field);
      assert.ok(r.body.errors[field], field);
    }
  });

  it('refuses numeric overflow, NaN and Infinity; reads negative zero as zero', async () => {
    for (const value of [
      '1e309',
      '-1e309',
      '1e400',
      '"NaN"',
      '"Infinity"',
      '"-Infinity"',
      '99999999999999999999',
      '"1e3"',
      '"0x10"',
      '3.5',
      '-1',
      'true',
      'null',
      '[]',
      '{}',
    ]) {
      const text = JSON.stringify(webhook()).replace('"retryCount":3', `"retryCount":${value}`);
      assertProblem(await postJson(text), 400, `retryCount ${value}`);
    }
    for (const value of ['1e309', '"NaN"', '"Infinity"', '0', '-0', '11', '"2,5"']) {
      const text = JSON.stringify(webhook()).replace(
        '"exponentialBackoffFactor":2',
        `"exponentialBackoffFactor":${value}`,
      );
      assertProblem(await postJson(text), 400, `factor ${value}`);
    }
    const zero = await postJson(JSON.stringify(webhook()).replace('"retryCount":3', '"retryCount":-0'));
    assert.equal(zero.status, 200);
    assert.match(zero.body.notificationChannelConfigurationJSON, /"RetryCount":0,/);
    const credits = await lp.call(`/api/v1/herald/applications/${lp.a.applicationId}/keys`, {
      method: 'POST',
      headers: { ...lp.operator.headers, 'content-type': 'application/json' },
      body: '{"credits":1e309}',
    });
    assertProblem(credits, 400, 'credits');
  });

  it('refuses NUL characters in any JSON string or key, form field or query value (400, never stored)', async () => {
    const op = { ...lp.operator.headers, 'content-type': 'application/json' };
    const cases: Array<[string, string, string, Record<string, string>]> = [
      ['POST', '/api/v1/herald/applications', '{"name":"a\\u0000b"}', op],
      ['POST', `/api/v1/herald/applications/${lp.a.applicationId}/keys`, '{"label":"x\\u0000"}', op],
      [
        'PUT',
        '/api/v1/herald/rejection-codes/R1',
        '{"description":"bad\\u0000code"}',
        { ...lp.a.headers, 'content-type': 'application/json' },
      ],
      [
        'POST',
        webhookPath,
        JSON.stringify(webhook()).replace('"isActive"', '"a\\u0000b":1,"isActive"'),
        { ...lp.a.headers, 'content-type': 'application/json' },
      ],
      [
        'POST',
        '/api/v1/herald/messages',
        JSON.stringify(taskCompletedMessage(lp.a.applicationId, { IsSuccessful: false, ErrorMessage: 'x\u0000y' })),
        { ...lp.a.headers, 'content-type': 'application/json' },
      ],
    ];
    for (const [method, path, body, headers] of cases) {
      const r = await lp.call(path, { method, headers, body });
      assertProblem(r, 400, `${method} ${path}`);
      assert.match(r.text, /NUL/);
    }
    const form = new FormData();
    for (const [k, v] of Object.entries(webhook())) form.append(k, String(v));
    form.set('retryCount', '3\u0000');
    assertProblem(await lp.call(webhookPath, { method: 'POST', headers: lp.a.headers, body: form }), 400, 'form NUL');
    const query = await lp.call('/api/v1/herald/messages?correlationId=%00', { headers: lp.a.headers });
    assertProblem(query, 400, 'query NUL');
    assert.ok(query.body.errors.correlationId);
  });

  it('answers 400 (not 500) to a page cursor the API did not issue', async () => {
    for (const cursor of ['abc', '%00%00', 'W10', 'WyJ4Il0', 'a'.repeat(500), 'eyJ4IjoxfQ']) {
      for (const list of ['messages', 'deliveries', 'attempts', 'events']) {
        const r = await lp.call(`/api/v1/herald/${list}?cursor=${cursor}`, { headers: lp.a.headers });
        assertProblem(r, 400, `${list} cursor=${cursor}`);
        assert.ok(r.body.errors.cursor, list);
      }
    }
  });

  it('answers 400 (not 500) to NUL bytes and odd strings in query parameters and paths', async () => {
    const { a } = lp;
    for (const path of [
      `/api/v1/herald/messages?since=%00&applicationId=${a.applicationId}`,
      '/api/v1/herald/messages?limit=1e309',
      '/api/v1/herald/messages?limit=-0',
      '/api/v1/herald/messages?limit=NaN',
      `/api/v1/herald/messages?cursor=${'%00'.repeat(100)}`,
      `/api/v1/herald/messages?cursor=${'a'.repeat(4000)}`,
      '/api/v1/herald/messages?cursor=%ZZ',
      '/api/v1/herald/deliveries?state=%00',
      '/api/v1/herald/messages/%00',
      '/api/v1/herald/messages/%ZZ',
      `${BASE}?applicationId=${a.applicationId}&configurationId=%00`,
    ]) {
      const r = await lp.call(path, { headers: a.headers });
      assert.ok([400, 404].includes(r.status), `${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
    }
  });
});

describe('security probes: large bodies inside a large limit', () => {
  let lp: LivePlatform;
  before(async () => {
    lp = await startLivePlatform({ HERALD_BODY_LIMIT_BYTES: String(24 * 1024 * 1024) });
  });
  after(() => lp.close());

  const post = (path: string, body: string) =>
    lp.call(path, { method: 'POST', headers: { ...lp.a.headers, 'content-type': 'application/json' }, body });

  it('refuses 100,000-deep JSON with 400, without a stack overflow', async () => {
    const r = await post(
      `${BASE}/WebHook?applicationId=${lp.a.applicationId}`,
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    );
    assertProblem(r, 400, 'deep');
  });

  it('refuses an object of 1,000,000 keys with 400 in bounded time', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`"k${i}":0`);
    const started = Date.now();
    const r = await post(`${BASE}/WebHook?applicationId=${lp.a.applicationId}`, `{${parts.join(',')}}`);
    assertProblem(r, 400, 'many keys');
    assert.ok(r.text.length < 10_000, 'the answer does not list a million fields');
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });

  it('answers a 5 MB string in bounded time without echoing it back', async () => {
    const big = 'a'.repeat(5 * 1024 * 1024);
    for (const body of [
      JSON.stringify(webhook({ webHookUrl: `https://93.184.215.14/${big}` })),
      JSON.stringify(webhook({ secretHeaderName: 'X-S', secretHeaderValue: big })),
      JSON.stringify(webhook({ [big]: 1 })),
    ]) {
      const started = Date.now();
      const r = await post(`${BASE}/WebHook?applicationId=${lp.a.applicationId}`, body);
      assertProblem(r, 400, '5 MB string');
      assert.ok(r.text.length < 10_000, 'not echoed');
      assert.ok(Date.now() - started < 10_000);
    }
    const message = taskCompletedMessage(lp.a.applicationId, { ErrorMessage: 'e'.repeat(5 * 1024 * 1024) });
    const started = Date.now();
    const r = await post('/api/v1/herald/messages', JSON.stringify(message));
    assert.ok([400, 404].includes(r.status), `publish: ${r.status}`);
    assert.ok(r.text.length < 10_000);
    assert.ok(Date.now() - started < 10_000);
    assert.equal((await lp.call('/healthz')).status, 200);
  });
});
