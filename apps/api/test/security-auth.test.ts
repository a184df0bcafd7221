import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UNAUTHORIZED_MESSAGE } from '../src/authenticate.ts';
import { imageCheckingMessage, taskCompletedMessage } from './fixtures.ts';
import {
  type LivePlatform,
  type LiveResponse,
  rawBody,
  rawRequest,
  rawStatus,
  startLivePlatform,
} from './security-platform.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The documents' 401, exactly, with nothing that says which check failed. */
function assertUnauthorized(r: LiveResponse, label: string): void {
  assert.equal(r.status, 401, `${label}: ${r.text}`);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', label);
  assert.deepEqual(
    Object.keys(r.body),
    ['errors', 'type', 'title', 'status', 'detail', 'instance', 'extensions'],
    label,
  );
  assert.deepEqual(r.body.errors, { 'business:': [UNAUTHORIZED_MESSAGE] }, label);
  assert.equal(r.body.detail, null, label);
  assert.equal(r.body.instance, null, label);
  assert.match(r.body.extensions.traceId, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, label);
  assert.doesNotMatch(r.text, /stack|at \w+ \(|\.ts:\d+|expired|signature|issuer|audience|revoked|secret/i, label);
}

describe('security probes: authentication on the running platform', () => {
  let lp: LivePlatform;
  let jwtSecret: string;
  let claims: Record<string, unknown>;
  const allOf = (id: string) => `${BASE}/All?applicationId=${id}`;

  before(async () => {
    lp = await startLivePlatform();
    jwtSecret = readFileSync(join(lp.platform.dataDir, 'jwt-secret'), 'utf8').trim();
    claims = JSON.parse(Buffer.from(lp.a.token.split('.')[1] ?? '', 'base64url').toString());
  });
  after(() => lp.close());

  const sign = (header: object, payload: object, key = jwtSecret, alg: 'sha256' | 'sha512' = 'sha256') => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac(alg, key).update(input).digest('base64url')}`;
  };

  it('accepts the control: a token re-signed with the platform key and unchanged claims', async () => {
    const token = sign({ alg: 'HS256', typ: 'JWT' }, claims);
    const r = await lp.call(allOf(lp.a.applicationId), {
      headers: { ...lp.a.headers, authorization: `Bearer ${token}` },
    });
    assert.equal(r.status, 200);
  });

  it('refuses forged, expired, not-yet-valid and foreign tokens with the same 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { exp: _exp, ...noExp } = claims;
    const tokens: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      'alg none, no signature part': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}`,
      'alg NONE': `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims)}.`,
      'HS256 with a wrong key': sign({ alg: 'HS256', typ: 'JWT' }, claims, 'x'.repeat(48)),
      'HS512 with the right key': sign({ alg: 'HS512', typ: 'JWT' }, claims, jwtSecret, 'sha512'),
      expired: sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
      'not yet valid': sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, nbf: now + 3600 }),
      'wrong issuer': sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'someone-else' }),
      'wrong audience': sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'another-api' }),
      'no expiry': sign({ alg: 'HS256', typ: 'JWT' }, noExp),
      'role raised to operator': sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, role: 'operator' }),
      "another application's id": sign(
        { alg: 'HS256', typ: 'JWT' },
        { ...claims, ApplicationId: lp.b.applicationId, sub: lp.b.applicationId },
      ),
      'signature of another token': `${lp.a.token.split('.').slice(0, 2).join('.')}.${lp.b.token.split('.')[2]}`,
      'three garbage parts': 'a.b.c',
      'not a JWT': 'hello',
      'huge token': 'a'.repeat(8000),
      'token with spaces': `${lp.a.token.slice(0, 10)} ${lp.a.token.slice(10)}`,
    };
    for (const [label, token] of Object.entries(tokens)) {
      const r = await lp.call(allOf(lp.a.applicationId), {
        headers: { ...lp.a.headers, authorization: `Bearer ${token}` },
      });
      assertUnauthorized(r, label);
    }
  });

  it('refuses missing, partial and malformed credential headers with the same 401', async () => {
    const { a, b, operator } = lp;
    const auth = a.headers.authorization ?? '';
    const cases: Record<string, Record<string, string>> = {
      nothing: {},
      'no Authorization': { 'x-api-key': a.key, 'x-api-secret': a.secret },
      'no x-api-key': { authorization: auth, 'x-api-secret': a.secret },
      'no x-api-secret': { authorization: auth, 'x-api-key': a.key },
      'empty x-api-key': { ...a.headers, 'x-api-key': '' },
      'empty x-api-secret': { ...a.headers, 'x-api-secret': '' },
      'empty Authorization': { ...a.headers, authorization: '' },
      'Bearer without token': { ...a.headers, authorization: 'Bearer' },
      'Bearer and blanks': { ...a.headers, authorization: 'Bearer    ' },
      'Basic scheme': {
        ...a.headers,
        authorization: `Basic ${Buffer.from(`${a.key}:${a.secret}`).toString('base64')}`,
      },
      'token without scheme': { ...a.headers, authorization: a.token },
      'wrong secret': { ...a.headers, 'x-api-secret': `${a.secret.slice(0, -1)}x` },
      'secret of another key': { ...a.headers, 'x-api-secret': b.secret },
      'huge secret': { ...a.headers, 'x-api-secret': 's'.repeat(12_000) },
      'huge key': { ...a.headers, 'x-api-key': 'k'.repeat(12_000) },
      'token of A, key of B': { ...b.headers, authorization: auth },
      'operator token, application key': { ...a.headers, authorization: operator.headers.authorization ?? '' },
      'application token, operator key': { ...operator.headers, authorization: auth },
    };
    for (const [label, headers] of Object.entries(cases)) {
      assertUnauthorized(await lp.call(allOf(a.applicationId), { headers }), label);
    }
  });

  it('refuses duplicated and non-ASCII credential headers over a raw socket (never a 500)', async () => {
    const { a, b, port } = lp;
    const path = allOf(a.applicationId);
    const head = (lines: string[]) =>
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${lines.join('\r\n')}\r\n\r\n`;
    const cases: Record<string, string | Buffer> = {
      'x-api-key twice': head([
        `Authorization: ${a.headers.authorization}`,
        `x-api-key: ${a.key}`,
        `x-api-key: ${b.key}`,
        `x-api-secret: ${a.secret}`,
      ]),
      'x-api-secret twice': head([
        `Authorization: ${a.headers.authorization}`,
        `x-api-key: ${a.key}`,
        `x-api-secret: ${b.secret}`,
        `x-api-secret: ${a.secret}`,
      ]),
      'Authorization twice, forged first': head([
        'Authorization: Bearer forged',
        `Authorization: ${a.headers.authorization}`,
        `x-api-key: ${a.key}`,
        `x-api-secret: ${a.secret}`,
      ]),
      'latin-1 bytes in the secret': Buffer.concat([
        Buffer.from(head([`Authorization: ${a.headers.authorization}`, `x-api-key: ${a.key}`]).slice(0, -2)),
        Buffer.from('x-api-secret: '),
        Buffer.from([0xe9, 0xff, 0x80, 0x41]),
        Buffer.from('\r\n\r\n'),
      ]),
      'UTF-8 in the key': Buffer.concat([
        Buffer.from(head([`Authorization: ${a.headers.authorization}`, `x-api-secret: ${a.secret}`]).slice(0, -2)),
        Buffer.from('x-api-key: ключ-🔑\r\n\r\n', 'utf8'),
      ]),
    };
    for (const [label, data] of Object.entries(cases)) {
      const answer = await rawRequest(port, data);
      const status = rawStatus(answer);
      assert.ok(status === 401 || status === 400, `${label}: ${status}`);
      assert.doesNotMatch(rawBody(answer), /stack|Error:|\.ts:\d+/, label);
      if (status === 401)
        assert.match(rawBody(answer), /Token is missing, invalid or ApplicationId is not found/, label);
    }
    const huge = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nx-api-key: ${'k'.repeat(20_000)}\r\n\r\n`);
    assert.equal(rawStatus(huge), 431, 'headers over 16 KiB');
    assert.match(huge, /application\/problem\+json/);
  });

  it('refuses a revoked key and the old key of a rotation, also for minting tokens', async () => {
    const { a, operator } = lp;
    const rotated = await lp.newKey(a.applicationId);
    assert.equal((await lp.call(allOf(a.applicationId), { headers: rotated.headers })).status, 200);
    const rot = await lp.call(`/api/v1/herald/applications/${a.applicationId}/keys/${rotated.keyId}/rotate`, {
      method: 'POST',
      headers: operator.headers,
    });
    assert.equal(rot.status, 201);
    assertUnauthorized(await lp.call(allOf(a.applicationId), { headers: rotated.headers }), 'old key after rotation');
    assertUnauthorized(
      await lp.call('/api/v1/herald/tokens', {
        method: 'POST',
        headers: { 'x-api-key': rotated.key, 'x-api-secret': rotated.secret },
      }),
      'minting with the rotated key',
    );
    const fresh = { 'x-api-key': rot.body.key as string, 'x-api-secret': rot.body.secret as string };
    assert.equal(
      (
        await lp.call(allOf(a.applicationId), {
          headers: { ...fresh, authorization: rotated.headers.authorization ?? '' },
        })
      ).status,
      200,
      'the new key works with a token of the same application',
    );

    const revoked = await lp.newKey(a.applicationId);
    const del = await lp.call(`/api/v1/herald/applications/${a.applicationId}/keys/${revoked.keyId}`, {
      method: 'DELETE',
      headers: operator.headers,
    });
    assert.equal(del.status, 200);
    assertUnauthorized(await lp.call(allOf(a.applicationId), { headers: revoked.headers }), 'revoked key');
    assertUnauthorized(
      await lp.call('/api/v1/herald/tokens', {
        method: 'POST',
        headers: { 'x-api-key': revoked.key, 'x-api-secret': revoked.secret },
      }),
      'minting with a revoked key',
    );
  });

  it("answers the SignalR negotiate with the documents' 401 for missing, forged and operator tokens", async () => {
    const forged = sign({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'elsewhere' });
    for (const [label, init] of [
      ['no token', {}],
      ['forged', { headers: { authorization: `Bearer ${forged}` } }],
      ['alg none', { headers: { authorization: `Bearer ${b64({ alg: 'none' })}.${b64(claims)}.` } }],
      ['operator token', { headers: { authorization: `Bearer ${lp.operator.token}` } }],
    ] as const) {
      const r = await lp.call('/hubs/notifications/negotiate?negotiateVersion=1', { method: 'POST', ...init });
      assertUnauthorized(r, label);
    }
    const ok = await lp.call('/hubs/notifications/negotiate?negotiateVersion=1', {
      method: 'POST',
      headers: { authorization: `Bearer ${lp.a.token}` },
    });
    assert.equal(ok.status, 200);
  });

  it('answers 403 (not 401, not 200) to an application on operator routes', async () => {
    const r = await lp.call('/api/v1/herald/applications', { headers: lp.a.headers });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });
});

describe('security probes: tenant isolation on the running platform', () => {
  let lp: LivePlatform;
  let bChannel: string;
  let bMessage: string;
  let bDelivery: string;

  before(async () => {
    lp = await startLivePlatform();
    const created = await lp.call(`${BASE}/WebHook?applicationId=${lp.b.applicationId}`, {
      method: 'POST',
      headers: { ...lp.b.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        isActive: true,
        retryCount: 1,
        webHookUrl: 'https://93.184.215.14/b',
        exponentialBackoffFactor: 2,
        includeImageData: false,
      }),
    });
    assert.equal(created.status, 200, created.text);
    bChannel = created.body.id;
    const published = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...lp.b.headers, 'content-type': 'application/json' },
      body: JSON.stringify(taskCompletedMessage(lp.b.applicationId)),
    });
    assert.equal(published.status, 202, published.text);
    bMessage = published.body.id;
    const deliveries = await lp.call(`/api/v1/herald/deliveries?messageId=${bMessage}`, { headers: lp.b.headers });
    bDelivery = deliveries.body.items[0].id;
  });
  after(() => lp.close());

  /** Every spelling of B's ids that A might try; none may answer 200 with B's data. */
  function spellings(id: string): string[] {
    return [id, id.toUpperCase(), `{${id}}`, `%7B${id}%7D`, ` ${id}`, `${id}%00`, id.replaceAll('-', ''), `${id}/`];
  }

  function assertNoLeak(r: LiveResponse, label: string): void {
    assert.notEqual(r.status, 200, `${label}: ${r.text.slice(0, 200)}`);
    assert.ok(r.status === 400 || r.status === 404, `${label}: ${r.status}`);
    assert.ok(!r.text.includes('93.184.215.14/b'), `${label}: B's configuration leaked`);
    // A 400 may quote the caller's own (malformed) input back; a 404 says nothing about the resource.
    if (r.status === 404) for (const id of [bChannel, bMessage, bDelivery]) assert.ok(!r.text.includes(id), label);
  }

  it("never answers another application's id in the query, in any casing, spelling or repetition", async () => {
    const { a, b } = lp;
    const queries: string[] = [];
    for (const id of spellings(b.applicationId)) {
      queries.push(`applicationId=${id}`, `ApplicationId=${id}`, `APPLICATIONID=${id}`);
    }
    queries.push(
      `applicationId=${a.applicationId}&applicationId=${b.applicationId}`,
      `applicationId=${b.applicationId}&applicationId=${a.applicationId}`,
      `applicationid=${b.applicationId}&ApplicationId=${a.applicationId}`,
      `applicationId=${a.applicationId}&APPLICATIONID=${b.applicationId}`,
    );
    const paths = [
      `${BASE}/All`,
      `${BASE}/Active`,
      '/api/v1/herald/messages',
      '/api/v1/herald/deliveries',
      '/api/v1/herald/attempts',
      '/api/v1/herald/rejection-codes',
      '/api/v1/herald/events',
      `/api/v1/herald/channels/${bChannel}`,
      `/api/v1/herald/messages/${bMessage}`,
      `/api/v1/herald/deliveries/${bDelivery}`,
    ];
    for (const path of paths) {
      for (const q of queries) assertNoLeak(await lp.call(`${path}?${q}`, { headers: a.headers }), `${path}?${q}`);
    }
    for (const q of queries) {
      assertNoLeak(
        await lp.call(`${BASE}?${q}&configurationId=${bChannel}`, { headers: a.headers }),
        `get configuration ?${q}`,
      );
    }
  });

  it("never answers another application's resource ids in the path or query, in any spelling", async () => {
    const { a } = lp;
    for (const id of spellings(bChannel)) {
      assertNoLeak(await lp.call(`/api/v1/herald/channels/${id}`, { headers: a.headers }), `channel ${id}`);
      assertNoLeak(
        await lp.call(`${BASE}?applicationId=${a.applicationId}&configurationId=${id}`, { headers: a.headers }),
        `configuration ${id}`,
      );
      const del = await lp.call(`${BASE}?applicationId=${a.applicationId}&configurationId=${id}`, {
        method: 'DELETE',
        headers: a.headers,
      });
      assertNoLeak(del, `delete ${id}`);
    }
    for (const id of spellings(bMessage)) {
      assertNoLeak(await lp.call(`/api/v1/herald/messages/${id}`, { headers: a.headers }), `message ${id}`);
    }
    for (const id of spellings(bDelivery)) {
      assertNoLeak(await lp.call(`/api/v1/herald/deliveries/${id}`, { headers: a.headers }), `delivery ${id}`);
      const redeliver = await lp.call(`/api/v1/herald/deliveries/${id}/redeliver?force=true`, {
        method: 'POST',
        headers: a.headers,
      });
      assertNoLeak(redeliver, `redeliver ${id}`);
    }
    const filtered = await lp.call(`/api/v1/herald/deliveries?messageId=${bMessage}`, { headers: a.headers });
    assert.equal(filtered.status, 200);
    assert.deepEqual(filtered.body.items, [], "a filter on B's message finds nothing for A");
    const byChannel = await lp.call(`/api/v1/herald/attempts?channelId=${bChannel}`, { headers: a.headers });
    assert.ok(byChannel.status === 200 || byChannel.status === 404);
    if (byChannel.status === 200) assert.deepEqual(byChannel.body.items, []);
    // B's channel still exists after A's attempts to delete it.
    const still = await lp.call(`/api/v1/herald/channels/${bChannel}`, { headers: lp.b.headers });
    assert.equal(still.status, 200);
  });

  it("refuses a publish whose body carries another application's ApplicationId, and bodies that name B", async () => {
    const { a, b } = lp;
    const ownChannel = await lp.call(`${BASE}/WebHook?applicationId=${a.applicationId}`, {
      method: 'POST',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        isActive: true,
        retryCount: 1,
        webHookUrl: 'https://93.184.215.14/a',
        exponentialBackoffFactor: 2,
        includeImageData: false,
      }),
    });
    assert.equal(ownChannel.status, 200);
    for (const appId of [b.applicationId, b.applicationId.toUpperCase()]) {
      const r = await lp.call('/api/v1/herald/messages', {
        method: 'POST',
        headers: { ...a.headers, 'content-type': 'application/json' },
        body: JSON.stringify(taskCompletedMessage(appId)),
      });
      assert.equal(r.status, 400, r.text);
      assert.ok(r.body.errors.ApplicationId);
    }
    const viaQuery = await lp.call(`/api/v1/herald/messages?applicationId=${b.applicationId}`, {
      method: 'POST',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify(imageCheckingMessage()),
    });
    assert.equal(viaQuery.status, 404);
    const bMessages = await lp.call('/api/v1/herald/messages', { headers: b.headers });
    assert.equal(bMessages.body.items.length, 1, 'nothing was published into B');
    const recover = await lp.call(`/api/v1/herald/deliveries/recover?applicationId=${b.applicationId}`, {
      method: 'POST',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ since: '2000-01-01T00:00:00Z', channelId: bChannel }),
    });
    assert.equal(recover.status, 404);
    const recoverBody = await lp.call('/api/v1/herald/deliveries/recover', {
      method: 'POST',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ since: '2000-01-01T00:00:00Z', channelId: bChannel }),
    });
    assert.ok(
      recoverBody.status === 404 || (recoverBody.status === 200 && recoverBody.body.recovered === 0),
      `recover with B's channel in the body: ${recoverBody.status} ${recoverBody.text}`,
    );
    const bodyApp = await lp.call(`${BASE}/WebHook?applicationId=${a.applicationId}`, {
      method: 'POST',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        applicationId: b.applicationId,
        isActive: true,
        retryCount: 1,
        webHookUrl: 'https://93.184.215.14/a',
        exponentialBackoffFactor: 2,
        includeImageData: false,
      }),
    });
    assert.equal(bodyApp.status, 400, 'an applicationId in the body is an unknown field, never a scope');
    const updateB = await lp.call(`${BASE}/WebHook?applicationId=${a.applicationId}&configurationId=${bChannel}`, {
      method: 'PUT',
      headers: { ...a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        isActive: false,
        retryCount: 1,
        webHookUrl: 'https://93.184.215.14/hijack',
        exponentialBackoffFactor: 2,
        includeImageData: false,
      }),
    });
    assert.equal(updateB.status, 404);
    const stillB = await lp.call(`${BASE}?applicationId=${b.applicationId}&configurationId=${bChannel}`, {
      headers: b.headers,
    });
    assert.match(stillB.body.notificationChannelConfigurationJSON, /93\.184\.215\.14\/b"/);
    assert.equal(stillB.body.isActive, true);
  });
});
