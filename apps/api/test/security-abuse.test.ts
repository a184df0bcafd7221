import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import type { Store } from '@herald/store';
import { closeServer, listenEphemeral } from '@herald/testing';
import { createApp } from '../src/app.ts';
import { createHttpServer } from '../src/http-server.ts';
import { imageCheckingMessage, taskCompletedMessage } from './fixtures.ts';
import { createHarness } from './harness.ts';
import { type LivePlatform, rawBody, rawRequest, rawStatus, startLivePlatform } from './security-platform.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';

/** Opens a socket and sends the start of a request, one header byte every `everyMs`, until stopped. */
function dripHeaders(port: number, everyMs: number): { socket: Socket; stop: () => void; closed: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  socket.on('connect', () => {
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    timer = setInterval(() => {
      if (socket.writable) socket.write('a');
    }, everyMs);
  });
  socket.on('data', (c: Buffer) => received.push(c));
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Buffer.concat(received).toString('latin1'));
    }),
  );
  return {
    socket,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
    closed,
  };
}

describe('security probes: abuse of the running platform', () => {
  let lp: LivePlatform;
  before(async () => {
    lp = await startLivePlatform({ HERALD_RATE_LIMIT_PER_SECOND: '1000' });
    const channel = await lp.call(`${BASE}/WebHook?applicationId=${lp.a.applicationId}`, {
      method: 'POST',
      headers: { ...lp.a.headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        isActive: true,
        retryCount: 1,
        webHookUrl: 'https://93.184.215.14/hook',
        exponentialBackoffFactor: 2,
        includeImageData: false,
      }),
    });
    assert.equal(channel.status, 200);
  });
  after(() => lp.close());

  it('answers 429 with Retry-After over the application rate limit, per application', async () => {
    const slow = await lp.newApplication('slow', { rateLimitPerSecond: 3 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        lp.call(`${BASE}/All?applicationId=${slow.applicationId}`, { headers: slow.headers }),
      ),
    );
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length >= 5, `${limited.length} of 12 limited`);
    assert.ok(answers.every((r) => r.status === 200 || r.status === 429));
    for (const r of limited) {
      assert.match(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(r.body.status, 429);
    }
    const other = await lp.call(`${BASE}/All?applicationId=${lp.a.applicationId}`, { headers: lp.a.headers });
    assert.equal(other.status, 200, 'another application is not limited');
  });

  it('answers many concurrent requests of every kind without a 5xx, and stays healthy', async () => {
    const { a, b } = lp;
    const json = { ...a.headers, 'content-type': 'application/json' };
    // Wrong secrets go to a key of their own: ten of them throttle that key (see the next test).
    const guessed = await lp.newKey(a.applicationId);
    const jobs: Array<Promise<{ status: number }>> = [];
    for (let i = 0; i < 60; i++) {
      jobs.push(lp.call(`${BASE}/All?applicationId=${a.applicationId}`, { headers: a.headers }));
      jobs.push(
        lp.call(`${BASE}/All?applicationId=${a.applicationId}`, {
          headers: { ...guessed.headers, 'x-api-secret': 'wrong' },
        }),
      );
      jobs.push(lp.call(`${BASE}/All?applicationId=${b.applicationId}`, { headers: a.headers }));
      jobs.push(
        lp.call('/api/v1/herald/messages', {
          method: 'POST',
          headers: json,
          body: JSON.stringify(imageCheckingMessage()),
        }),
      );
      jobs.push(lp.call('/api/v1/herald/messages', { method: 'POST', headers: json, body: '{"broken":' }));
      jobs.push(lp.call('/healthz'));
    }
    const answers = await Promise.all(jobs);
    assert.ok(
      answers.every((r) => r.status < 500),
      answers
        .filter((r) => r.status >= 500)
        .map((r) => r.status)
        .join(','),
    );
    assert.equal((await lp.call('/readyz')).status, 200);
  });

  it("does not lock a key's recently verified owner out during a flood of wrong secrets for that key", async () => {
    const owner = await lp.newKey(lp.a.applicationId);
    const path = `${BASE}/All?applicationId=${owner.applicationId}`;
    assert.equal((await lp.call(path, { headers: owner.headers })).status, 200);
    const wrong = await Promise.all(
      Array.from({ length: 30 }, () =>
        lp.call(path, { headers: { ...owner.headers, 'x-api-secret': `hs_${'x'.repeat(43)}` } }),
      ),
    );
    assert.ok(wrong.every((r) => r.status === 401));
    assert.equal((await lp.call(path, { headers: owner.headers })).status, 200, 'the owner is still admitted');
    const stranger = await lp.call(path, { headers: { ...owner.headers, 'x-api-secret': 'still-wrong' } });
    assert.equal(stranger.status, 401);
  });

  it('keeps serving others while slow clients drip their headers (slowloris)', async () => {
    const drips = Array.from({ length: 40 }, () => dripHeaders(lp.port, 200));
    try {
      await new Promise((r) => setTimeout(r, 500));
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          lp.call(`${BASE}/All?applicationId=${lp.a.applicationId}`, { headers: lp.a.headers }),
        ),
      );
      assert.ok(answers.every((r) => r.status === 200));
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    } finally {
      for (const d of drips) d.stop();
    }
  });

  it('answers 409 to an Idempotency-Key reused with another body, and replays the same body', async () => {
    const { a } = lp;
    const headers = { ...a.headers, 'content-type': 'application/json', 'idempotency-key': 'order-42' };
    const first = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers,
      body: JSON.stringify(taskCompletedMessage(a.applicationId)),
    });
    assert.equal(first.status, 202);
    const again = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers,
      body: JSON.stringify(taskCompletedMessage(a.applicationId)),
    });
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.duplicate, true);
    const other = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers,
      body: JSON.stringify(taskCompletedMessage(a.applicationId, { IsSuccessful: false, ErrorMessage: 'changed' })),
    });
    assert.equal(other.status, 409);
    assert.equal(other.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    for (const bad of ['', ' ', 'a'.repeat(201), 'line\tbreak', 'clé']) {
      const r = await lp.call('/api/v1/herald/messages', {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': bad },
        body: JSON.stringify(taskCompletedMessage(a.applicationId)),
      });
      assert.ok(r.status === 400 || r.status === 202, `${JSON.stringify(bad)}: ${r.status}`);
    }
    // Another application using the same key is independent of A's.
    const channelB = await lp.call(`${BASE}/SignalR?applicationId=${lp.b.applicationId}`, {
      method: 'POST',
      headers: { ...lp.b.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ isActive: true, includeImageData: false }),
    });
    assert.equal(channelB.status, 200);
    const bSame = await lp.call('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...lp.b.headers, 'content-type': 'application/json', 'idempotency-key': 'order-42' },
      body: JSON.stringify(taskCompletedMessage(lp.b.applicationId)),
    });
    assert.equal(bSame.status, 202);
    assert.notEqual(bSame.body.id, first.body.id, "B never gets A's message id back");
    assert.equal(bSame.body.duplicate, false);
  });
});

describe('security probes: response hygiene', () => {
  let lp: LivePlatform;
  before(async () => {
    lp = await startLivePlatform();
  });
  after(() => lp.close());

  it('sends security headers on every answer, no x-powered-by, and no-store on API answers', async () => {
    const { a } = lp;
    const publish = (contentType: string, body: string): RequestInit => ({
      method: 'POST',
      headers: { ...a.headers, 'content-type': contentType },
      body,
    });
    for (const [path, init] of [
      ['/healthz', {}],
      ['/openapi.json', {}],
      ['/docs', {}],
      ['/nothing', {}],
      [`${BASE}/All?applicationId=${a.applicationId}`, { headers: a.headers }],
      [`${BASE}/All?applicationId=${a.applicationId}`, {}],
      // A publish answered by the handler (404: no active channel), and two refused before it runs.
      ['/api/v1/herald/messages', publish('application/json', JSON.stringify({ ApplicationId: a.applicationId }))],
      ['/api/v1/herald/messages', publish('text/plain', 'x')],
      ['/api/v1/herald/messages', publish('application/json', '{')],
    ] as const) {
      const r = await lp.call(path, init);
      // Each exactly once (a repeated header would be joined with ", ").
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('x-powered-by'), null, path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(
        r.headers.get('content-security-policy'),
        path === '/docs'
          ? "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
          : "default-src 'none'; frame-ancestors 'none'",
        path,
      );
      assert.match(r.headers.get('x-correlation-id') ?? '', /^[0-9a-f-]{36}$/, path);
      assert.equal(r.headers.get('server'), null, path);
    }
    const sent = await lp.call('/healthz', { headers: { 'x-correlation-id': 'corr-123' } });
    assert.equal(sent.headers.get('x-correlation-id'), 'corr-123');
    const api = await lp.call(`${BASE}/All?applicationId=${a.applicationId}`, { headers: a.headers });
    assert.equal(api.headers.get('cache-control'), 'no-store');
    const asset = await lp.call('/docs/swagger-ui.css');
    assert.match(asset.headers.get('cache-control') ?? '', /max-age/, 'static assets stay cacheable');
  });

  it('answers every problem as application/problem+json, without stack traces or internals', async () => {
    const { a } = lp;
    const probes: Array<[string, RequestInit]> = [
      ['/nothing', {}],
      [`${BASE}/All?applicationId=${a.applicationId}`, {}],
      [`${BASE}/All?applicationId=not-a-uuid`, { headers: a.headers }],
      ['/api/v1/herald/applications', { headers: a.headers }],
      [
        '/api/v1/herald/messages',
        { method: 'POST', headers: { ...a.headers, 'content-type': 'text/plain' }, body: 'x' },
      ],
      [
        '/api/v1/herald/messages',
        { method: 'POST', headers: { ...a.headers, 'content-type': 'application/json' }, body: '{' },
      ],
      [
        '/api/v1/herald/messages',
        {
          method: 'POST',
          headers: { ...a.headers, 'content-type': 'application/json' },
          body: JSON.stringify(imageCheckingMessage()),
        },
      ],
      ['/api/v1/herald/messages?cursor=zzz', { headers: a.headers }],
      [`${BASE}/All?applicationId=${a.applicationId}`, { method: 'PATCH', headers: a.headers }],
    ];
    for (const [path, init] of probes) {
      const r = await lp.call(path, init);
      assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', path);
      assert.deepEqual(
        Object.keys(r.body),
        ['errors', 'type', 'title', 'status', 'detail', 'instance', 'extensions'],
        path,
      );
      assert.doesNotMatch(r.text, /at \w+ \(|\.ts:\d+|node_modules|node:internal|SQLITE|sqlite|postgres/i, path);
    }
    for (const raw of [
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
      'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      'GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n',
    ]) {
      const answer = await rawRequest(lp.port, raw);
      assert.ok(rawStatus(answer) >= 400, raw.slice(0, 30));
      assert.match(answer, /content-type: application\/problem\+json/i, raw.slice(0, 30));
      assert.equal(JSON.parse(rawBody(answer)).status, rawStatus(answer));
    }
  });

  it('answers 405 with Allow to a known path with another method, 404 to an unknown path', async () => {
    const { a } = lp;
    for (const method of ['PATCH', 'OPTIONS', 'POST']) {
      const r = await lp.call(`${BASE}/all?applicationId=${a.applicationId}`, { method, headers: a.headers });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    }
    const keys = await lp.call(`/api/v1/herald/applications/${a.applicationId}/keys`, { method: 'DELETE' });
    assert.equal(keys.status, 405);
    assert.equal(keys.headers.get('allow'), 'POST, GET, HEAD');
    assert.equal((await lp.call('/api/v1/herald/nothing', { method: 'PATCH' })).status, 404);
  });

  it('is not open to other origins (no CORS allowance by default)', async () => {
    const { a } = lp;
    const preflight = await lp.call(`${BASE}/All?applicationId=${a.applicationId}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization,x-api-key,x-api-secret',
      },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
    const get = await lp.call(`${BASE}/All?applicationId=${a.applicationId}`, {
      headers: { ...a.headers, origin: 'https://evil.example' },
    });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });
});

describe('security probes: unexpected failures and server time limits', () => {
  it('answers an unexpected error with a generic 500 problem; the log has no request data', async () => {
    const h = await createHarness();
    try {
      const failing = new Proxy(h.store, {
        get(target, prop, receiver) {
          if (prop === 'listChannels') {
            return async () => {
              throw new Error(`connection to 10.0.0.5:5432 failed for ${h.a.secret} at /srv/herald/store.ts:42`);
            };
          }
          return Reflect.get(target, prop, receiver);
        },
      }) as Store;
      const app = createApp({ ...h.deps, store: failing });
      const res = await app.request(`${BASE}/All?applicationId=${h.a.applicationId}`, { headers: h.a.headers });
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const text = await res.text();
      assert.doesNotMatch(text, /10\.0\.0\.5|store\.ts|connection|Error/);
      assert.deepEqual(JSON.parse(text).errors, { 'business:': ['An unexpected error occurred.'] });
      assert.ok(!h.logLines.join('\n').includes(h.a.secret), 'request credentials never logged');
    } finally {
      await h.close();
    }
  });

  it('cuts off clients that send headers or bodies too slowly (408 problem), others are served', async () => {
    const app = new Hono();
    app.get('/ok', (c) => c.text('ok'));
    app.post('/ok', async (c) => c.text(await c.req.text()));
    const server: Server = createHttpServer({
      fetch: app.fetch,
      hostname: '127.0.0.1',
      timeouts: { headersTimeoutMs: 600, requestTimeoutMs: 1200, checkIntervalMs: 100 },
    });
    const port = await listenEphemeral(server);
    try {
      const drip = dripHeaders(port, 100);
      const started = Date.now();
      const fast = await fetch(`http://127.0.0.1:${port}/ok`);
      assert.equal(await fast.text(), 'ok');
      const answer = await drip.closed;
      const elapsed = Date.now() - started;
      assert.equal(rawStatus(answer), 408, answer.slice(0, 100));
      assert.match(answer, /application\/problem\+json/);
      assert.ok(elapsed < 3000, `closed after ${elapsed} ms`);

      // Headers on time, the body dripping: cut off by the request timeout.
      const body = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      body.on('data', (c: Buffer) => got.push(c));
      body.on('error', () => {});
      body.write('POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
      const timer = setInterval(() => body.writable && body.write('a'), 100);
      await new Promise<void>((resolve) => body.on('close', () => resolve()));
      clearInterval(timer);
      const text = Buffer.concat(got).toString('latin1');
      assert.equal(rawStatus(text), 408, text.slice(0, 100));
    } finally {
      await closeServer(server);
    }
  });
});
