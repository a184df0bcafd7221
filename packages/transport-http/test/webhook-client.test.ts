import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDestinationPolicy, type DestinationPolicy } from '@herald/ssrf';
import { createTestPki, getFreePort, type TestPki } from '@herald/testing';
import {
  buildWebhookHeaders,
  createWebhookClient,
  TransportConfigError,
  type WebhookClient,
  type WebhookClientOptions,
} from '@herald/transport-http';
import {
  startHttpServer,
  startHttpsServer,
  startRawTlsServer,
  startSilentTcpServer,
  type TestServer,
} from './servers.ts';

const LOOPBACK = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
const BODY = JSON.stringify({ hello: 'world' });

let pki: TestPki;
const clients: WebhookClient[] = [];
const servers: Array<{ close(): Promise<void> }> = [];

function client(opts: Partial<WebhookClientOptions> = {}): WebhookClient {
  const c = createWebhookClient({ policy: LOOPBACK, ...opts });
  clients.push(c);
  return c;
}

async function https(
  handler: Parameters<typeof startHttpsServer>[1],
  extra: Parameters<typeof startHttpsServer>[0] = {},
  host = '127.0.0.1',
): Promise<TestServer> {
  const s = await startHttpsServer({ cert: pki.server.cert, key: pki.server.key, ...extra }, handler, host);
  servers.push(s);
  return s;
}

before(async () => {
  pki = await createTestPki();
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
});

describe('deliver: success', () => {
  for (const status of [200, 201, 204]) {
    it(`HTTP ${status} is delivered`, async () => {
      const server = await https((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 204 ? undefined : '{"received":true}');
      });
      const outcome = await client().deliver({
        url: `${server.origin}/hook?x=1`,
        body: BODY,
        tls: { ca: pki.ca.cert },
      });
      assert.equal(outcome.ok, true);
      assert.equal(outcome.code, 'delivered');
      assert.equal(outcome.retryable, false);
      assert.equal(outcome.disableChannel, false);
      assert.equal(outcome.statusCode, status);
      assert.equal(outcome.responseExcerpt, status === 204 ? undefined : '{"received":true}');
      assert.ok(outcome.durationMs >= 0);
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0]?.url, '/hook?x=1');
    });
  }

  it('sends the standard headers, the caller headers and the body', async () => {
    const server = await https((_req, res) => res.end());
    const herald = buildWebhookHeaders({
      messageId: 'msg_123',
      timestampSeconds: 1_700_000_000,
      correlationId: 'corr-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      messageType: 'image.checked',
    });
    const outcome = await client({ userAgent: 'Herald-Test/9' }).deliver({
      url: `${server.origin}/`,
      body: new TextEncoder().encode(BODY),
      headers: { ...herald, 'X-Api-Key': 'k', Accept: 'text/html', 'content-type': 'text/plain', Host: 'evil' },
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'delivered');
    const seen = server.requests[0];
    assert.ok(seen);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, BODY);
    assert.equal(seen.headers.accept, 'application/json');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['user-agent'], 'Herald-Test/9');
    assert.equal(seen.headers.host, `127.0.0.1:${server.port}`);
    assert.equal(seen.headers['x-api-key'], 'k');
    assert.equal(seen.headers['webhook-id'], 'msg_123');
    assert.equal(seen.headers['webhook-timestamp'], '1700000000');
    assert.equal(seen.headers['x-correlation-id'], 'corr-1');
    assert.equal(seen.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(seen.headers['x-herald-message-type'], 'image.checked');
  });

  it('reuses a keep-alive connection across deliveries', async () => {
    const server = await https((_req, res) => res.end('ok'));
    const c = client();
    for (let i = 0; i < 6; i++) {
      const outcome = await c.deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
      assert.equal(outcome.code, 'delivered');
    }
    assert.equal(server.requests.length, 6);
    // undici may open a second socket while the first is being released; never one per request.
    assert.ok(server.connections() <= 2, `${server.connections()} connections for 6 requests`);
  });

  it('caps the excerpt at maxResponseBytes', async () => {
    const server = await https((_req, res) => res.end('x'.repeat(10_000)));
    const outcome = await client({ maxResponseBytes: 100 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'delivered');
    assert.equal(outcome.responseExcerpt, 'x'.repeat(100));
  });

  it('delivers over plain http only when allowHttp is set', async () => {
    const server = await startHttpServer((_req, res) => res.end());
    servers.push(server);
    const refused = await client().deliver({ url: server.origin, body: BODY });
    assert.equal(refused.code, 'invalid_destination');
    assert.equal(refused.retryable, false);
    assert.equal(server.requests.length, 0);
    const accepted = await client({ allowHttp: true }).deliver({ url: server.origin, body: BODY });
    assert.equal(accepted.code, 'delivered');
    assert.equal(server.requests.length, 1);
  });
});

describe('deliver: HTTP status outcomes', () => {
  const table: ReadonlyArray<{
    status: number;
    retryable: boolean;
    disableChannel?: boolean;
    headers?: Record<string, string>;
    retryAfterMs?: number;
  }> = [
    { status: 500, retryable: true },
    { status: 502, retryable: true },
    { status: 503, retryable: true, headers: { 'retry-after': '7' }, retryAfterMs: 7000 },
    { status: 429, retryable: true, headers: { 'retry-after': 'Tue, 14 Nov 2023 22:13:30 GMT' }, retryAfterMs: 10_000 },
    { status: 408, retryable: true },
    { status: 425, retryable: true },
    { status: 410, retryable: false, disableChannel: true },
    { status: 404, retryable: false },
    { status: 400, retryable: false },
    { status: 401, retryable: false },
    { status: 403, retryable: false },
    { status: 422, retryable: false },
  ];
  for (const row of table) {
    it(`HTTP ${row.status}: retryable ${row.retryable}${row.disableChannel ? ', disables the channel' : ''}`, async () => {
      const server = await https((_req, res) => {
        res.writeHead(row.status, row.headers ?? {});
        res.end(`{"status":${row.status}}`);
      });
      // 2023-11-14T22:13:20Z: ten seconds before the Retry-After date above.
      const outcome = await client({ wallClockMs: () => 1_700_000_000_000 }).deliver({
        url: server.origin,
        body: BODY,
        tls: { ca: pki.ca.cert },
      });
      assert.equal(outcome.ok, false);
      assert.equal(outcome.code, 'http_status');
      assert.equal(outcome.statusCode, row.status);
      assert.equal(outcome.retryable, row.retryable);
      assert.equal(outcome.disableChannel, row.disableChannel ?? false);
      assert.equal(outcome.retryAfterMs, row.retryAfterMs);
      assert.equal(outcome.responseExcerpt, `{"status":${row.status}}`);
    });
  }

  it('never follows a redirect (to a blocked address or anywhere else)', async () => {
    const target = await https((_req, res) => res.end('followed'), {}, '127.0.0.3');
    for (const location of ['http://169.254.169.254/latest/meta-data/', `${target.origin}/`]) {
      const server = await https((_req, res) => {
        res.writeHead(301, { location });
        res.end();
      });
      const outcome = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
      assert.equal(outcome.code, 'redirect');
      assert.equal(outcome.statusCode, 301);
      assert.equal(outcome.retryable, false);
      assert.equal(outcome.disableChannel, false);
      assert.doesNotMatch(outcome.error ?? '', /169\.254/);
    }
    assert.equal(target.requests.length, 0);
  });
});

describe('deliver: deadlines and bodies', () => {
  it('times out on a server that never answers', async () => {
    const server = await https(() => {
      /* never respond */
    });
    const outcome = await client({ timeoutMs: 300 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'timeout');
    assert.equal(outcome.retryable, true);
    assert.equal(server.requests.length, 1);
  });

  it('times out on a TCP peer that never starts the TLS handshake', async () => {
    const silent = await startSilentTcpServer();
    servers.push(silent);
    const outcome = await client({ timeoutMs: 300 }).deliver({
      url: `https://127.0.0.1:${silent.port}/`,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'timeout');
  });

  it('a per-request deadline also covers a TLS handshake that never completes', async () => {
    const silent = await startSilentTcpServer();
    servers.push(silent);
    const outcome = await client({ timeoutMs: 60_000 }).deliver({
      url: `https://127.0.0.1:${silent.port}/`,
      body: BODY,
      tls: { ca: pki.ca.cert },
      timeoutMs: 300,
    });
    assert.equal(outcome.code, 'timeout');
  });

  it('a request queued behind a busy pool still gets its deadline', async () => {
    const server = await https(() => {
      /* never respond: the only connection stays busy */
    });
    const c = client({ timeoutMs: 60_000, connectionsPerOrigin: 1 });
    const first = c.deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert }, timeoutMs: 2000 });
    for (let i = 0; i < 200 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const queued = await c.deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert }, timeoutMs: 300 });
    assert.equal(queued.code, 'timeout');
    assert.equal((await first).code, 'timeout');
    assert.equal(server.requests.length, 1);
  });

  it('per-request timeoutMs overrides the client default', async () => {
    const server = await https(() => {});
    const outcome = await client({ timeoutMs: 60_000 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
      timeoutMs: 200,
    });
    assert.equal(outcome.code, 'timeout');
  });

  it('times out on headers dripped a byte at a time', async () => {
    const timers: NodeJS.Timeout[] = [];
    const raw = await startRawTlsServer({ cert: pki.server.cert, key: pki.server.key }, (socket) => {
      socket.on('error', () => {});
      const bytes = Buffer.from(
        'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n',
      );
      let i = 0;
      const t = setInterval(() => {
        if (i >= bytes.length || socket.destroyed) return clearInterval(t);
        socket.write(bytes.subarray(i, i + 1));
        i++;
      }, 50);
      timers.push(t);
    });
    servers.push(raw);
    const outcome = await client({ timeoutMs: 600 }).deliver({
      url: `https://127.0.0.1:${raw.port}/`,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    for (const t of timers) clearInterval(t);
    assert.equal(outcome.code, 'timeout');
    assert.equal(outcome.retryable, true);
  });

  it('times out on a body dripped a byte at a time', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await https((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      let sent = 0;
      const t = setInterval(() => {
        if (sent >= 1000 || res.destroyed) return clearInterval(t);
        res.write('x');
        sent++;
      }, 50);
      timers.push(t);
    });
    const outcome = await client({ timeoutMs: 600 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    for (const t of timers) clearInterval(t);
    assert.equal(outcome.code, 'timeout');
    assert.equal(outcome.statusCode, 200);
  });

  it('discards an endless body after the excerpt without waiting for its end', async () => {
    let written = 0;
    const server = await https((_req, res) => {
      res.writeHead(500);
      const chunk = Buffer.alloc(16 * 1024, 'y');
      // Bounded: the server stops by itself after 256 MiB whatever the client does.
      const pump = (): void => {
        while (!res.destroyed && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('error', () => {});
      pump();
    });
    const outcome = await client({ timeoutMs: 20_000, maxResponseBytes: 64 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'http_status');
    assert.equal(outcome.statusCode, 500);
    assert.equal(outcome.responseExcerpt, 'y'.repeat(64));
    assert.ok(written < 256 * 1024 * 1024, 'the client stopped reading long before the server gave up');
  });
});

describe('deliver: network failures', () => {
  it('reports a closed port as refused', async () => {
    const port = await getFreePort();
    const outcome = await client().deliver({ url: `https://127.0.0.1:${port}/`, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(outcome.code, 'refused');
    assert.equal(outcome.retryable, true);
    assert.doesNotMatch(outcome.error ?? '', /127\.0\.0\.1/);
  });

  it('reports a socket destroyed mid-request as reset', async () => {
    const server = await https((req) => req.socket.destroy());
    const outcome = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(outcome.code, 'reset');
    assert.equal(outcome.retryable, true);
  });

  it('reports an unknown name as dns', async () => {
    const outcome = await client().deliver({ url: 'https://herald-nothing.invalid/hook', body: BODY });
    assert.equal(outcome.code, 'dns');
    assert.equal(outcome.retryable, true);
  });

  it('reports a caller abort as cancelled', async () => {
    const server = await https(() => {});
    const controller = new AbortController();
    const pending = client({ timeoutMs: 30_000 }).deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
      signal: controller.signal,
    });
    // Abort once the server has the request in hand (bounded wait).
    for (let i = 0; i < 200 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const outcome = await pending;
    assert.equal(outcome.code, 'cancelled');
    assert.equal(outcome.retryable, true);
  });
});

describe('deliver: TLS', () => {
  it('fails with tls against a server whose CA is not trusted', async () => {
    const other = await createTestPki({ caName: 'Untrusted CA' });
    const server = await startHttpsServer({ cert: other.server.cert, key: other.server.key }, (_q, res) => res.end());
    servers.push(server);
    const withOurCa = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(withOurCa.code, 'tls');
    assert.equal(withOurCa.retryable, true);
    const withSystemRoots = await client().deliver({ url: server.origin, body: BODY });
    assert.equal(withSystemRoots.code, 'tls');
    assert.equal(server.requests.length, 0);
  });

  it('fails with tls when the certificate does not name the host', async () => {
    const leaf = await pki.issue({ commonName: 'elsewhere', hosts: ['elsewhere.example'], usage: 'server' });
    const server = await startHttpsServer({ cert: leaf.cert, key: leaf.key }, (_q, res) => res.end());
    servers.push(server);
    const outcome = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(outcome.code, 'tls');
    assert.doesNotMatch(outcome.error ?? '', /127\.0\.0\.1/);
  });

  it('refuses a TLS 1.1-only server and accepts a TLS 1.2-only one', async () => {
    const old = await startRawTlsServer(
      {
        cert: pki.server.cert,
        key: pki.server.key,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
    );
    servers.push(old);
    const outcome = await client().deliver({
      url: `https://127.0.0.1:${old.port}/`,
      body: BODY,
      tls: { ca: pki.ca.cert },
    });
    assert.equal(outcome.code, 'tls');
    assert.match(outcome.error ?? '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS/);
    assert.equal(old.accepted(), 0);

    const v12 = await https((_q, res) => res.end(), { maxVersion: 'TLSv1.2' });
    const ok = await client().deliver({ url: v12.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(ok.code, 'delivered');
  });

  it('presents the client certificate to a server that requires one (mTLS)', async () => {
    const server = await https((_q, res) => res.end(), {
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
    });
    const outcome = await client().deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    assert.equal(outcome.code, 'delivered');
    assert.equal(server.requests[0]?.peerCommonName, 'herald-test-client');

    const without = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(without.ok, false);
    assert.ok(['tls', 'reset'].includes(without.code), `got ${without.code}`);
    assert.equal(server.requests.length, 1);
  });

  it('keeps identities apart: one client, with and without a client certificate', async () => {
    const server = await https((_q, res) => res.end(), {
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
    });
    const c = client();
    const withCert = await c.deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key },
    });
    const withoutCert = await c.deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(withCert.code, 'delivered');
    assert.equal(withoutCert.ok, false);
  });

  it('notices when the same tls object is reused with other material', async () => {
    const server = await https((_q, res) => res.end(), {
      requestCert: true,
      rejectUnauthorized: true,
      ca: pki.ca.cert,
    });
    const c = client();
    const material: { ca: string; cert?: string; key?: string } = {
      ca: pki.ca.cert,
      cert: pki.client.cert,
      key: pki.client.key,
    };
    assert.equal((await c.deliver({ url: server.origin, body: BODY, tls: material })).code, 'delivered');
    delete material.cert;
    delete material.key;
    assert.equal((await c.deliver({ url: server.origin, body: BODY, tls: material })).ok, false);
    assert.equal(server.requests.length, 1);
  });

  it('reports an unusable client key as invalid_destination without echoing it', async () => {
    const server = await https((_q, res) => res.end());
    const outcome = await client().deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: 'not-a-key-SECRET' },
    });
    assert.equal(outcome.code, 'invalid_destination');
    assert.equal(outcome.retryable, false);
    assert.doesNotMatch(outcome.error ?? '', /SECRET/);
    assert.equal(server.requests.length, 0);
  });
});

describe('deliver: source address', () => {
  it('binds to localAddress', async () => {
    const server = await https((_q, res) => res.end());
    const outcome = await client().deliver({
      url: server.origin,
      body: BODY,
      tls: { ca: pki.ca.cert },
      localAddress: '127.0.0.2',
    });
    assert.equal(outcome.code, 'delivered');
    assert.equal(server.requests[0]?.remoteAddress, '127.0.0.2');
    const other = await client().deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(other.code, 'delivered');
    assert.equal(server.requests[1]?.remoteAddress, '127.0.0.1');
  });

  it('refuses a localAddress that is not an IP', async () => {
    const outcome = await client().deliver({ url: 'https://127.0.0.1:1/', body: BODY, localAddress: 'eth0' });
    assert.equal(outcome.code, 'invalid_destination');
  });
});

describe('deliver: SSRF guard', () => {
  let server: TestServer;
  let guarded: WebhookClient;
  before(async () => {
    server = await https((_q, res) => res.end());
    guarded = createWebhookClient({ policy: createDestinationPolicy(), allowHttp: true });
    clients.push(guarded);
  });

  for (const make of [
    (p: number) => `https://127.0.0.1:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `https://localhost:${p}/`,
    (p: number) => `https://2130706433:${p}/`,
    (p: number) => `https://0x7f.1:${p}/`,
    (_p: number) => 'https://169.254.169.254/latest/meta-data/',
    (_p: number) => 'https://[fd00:ec2::254]/',
  ]) {
    it(`the default policy blocks ${make(0)}`, async () => {
      const outcome = await guarded.deliver({ url: make(server.port), body: BODY, tls: { ca: pki.ca.cert } });
      assert.equal(outcome.code, 'blocked');
      assert.equal(outcome.retryable, false);
      assert.equal(outcome.error, 'destination not allowed');
      assert.equal(server.requests.length, 0);
    });
  }

  it('checks the dialled address: a name resolving to loopback is blocked at connect time', async () => {
    const leaf = await pki.issue({ commonName: 'receiver.test', hosts: ['receiver.test'], usage: 'server' });
    const named = await startHttpsServer({ cert: leaf.cert, key: leaf.key }, (_q, res) => res.end());
    servers.push(named);
    const resolveHost = async () => [{ address: '127.0.0.1', family: 4 }];
    const url = `https://receiver.test:${named.port}/`;

    const blocking = client({ policy: createDestinationPolicy({ resolveHost }) });
    const blocked = await blocking.deliver({ url, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(blocked.code, 'blocked');
    assert.doesNotMatch(blocked.error ?? '', /127\.0\.0\.1/);
    assert.equal(named.requests.length, 0);

    const allowing = client({ policy: createDestinationPolicy({ resolveHost, allowCidrs: ['127.0.0.0/8'] }) });
    const delivered = await allowing.deliver({ url, body: BODY, tls: { ca: pki.ca.cert } });
    assert.equal(delivered.code, 'delivered');
    assert.equal(named.requests.length, 1);
  });

  it('checks IP-literal hosts again at dial time (Node skips lookup for them)', async () => {
    const strict = createDestinationPolicy();
    // A policy whose URL check waves everything through: only the connector stands in the way.
    const leaky: DestinationPolicy = { ...strict, checkUrl: (url) => ({ ok: true, url: new URL(url) }) };
    const c = client({ policy: leaky });
    for (const url of [`https://127.0.0.1:${server.port}/`, `https://[::ffff:127.0.0.1]:${server.port}/`]) {
      const outcome = await c.deliver({ url, body: BODY, tls: { ca: pki.ca.cert } });
      assert.equal(outcome.code, 'blocked', url);
    }
    assert.equal(server.connections(), 0);
  });

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ['https://user:pass@127.0.0.1/', 'credentials'],
    ['ftp://127.0.0.1/', 'non-http scheme'],
    ['file:///etc/passwd', 'file scheme'],
    ['not a url', 'unparseable'],
  ];
  for (const [url, what] of invalid) {
    it(`refuses a URL with ${what} as invalid_destination`, async () => {
      const outcome = await client().deliver({ url, body: BODY });
      assert.equal(outcome.code, 'invalid_destination');
      assert.equal(outcome.retryable, false);
      assert.doesNotMatch(outcome.error ?? '', /pass/);
    });
  }
});

describe('createWebhookClient configuration', () => {
  const bad: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ['no policy', { policy: undefined }],
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['timeoutMs 1.5', { timeoutMs: 1.5 }],
    ['maxResponseBytes -1', { maxResponseBytes: -1 }],
    ['connectionsPerOrigin 0', { connectionsPerOrigin: 0 }],
    ['allowHttp "yes"', { allowHttp: 'yes' }],
    ['userAgent with CRLF', { userAgent: 'a\r\nb' }],
  ];
  for (const [what, opts] of bad) {
    it(`throws TransportConfigError for ${what}`, () => {
      assert.throws(
        () => createWebhookClient({ policy: LOOPBACK as DestinationPolicy, ...opts } as WebhookClientOptions),
        (err: unknown) => err instanceof TransportConfigError && err.code === 'HERALD_HTTP_INVALID_CONFIG',
      );
    });
  }

  it('close() lets in-flight deliveries finish', async () => {
    let release: () => void = () => {};
    const server = await https((_q, res) => {
      release = () => res.end('late');
    });
    const c = createWebhookClient({ policy: LOOPBACK });
    const pending = c.deliver({ url: server.origin, body: BODY, tls: { ca: pki.ca.cert } });
    for (let i = 0; i < 200 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const closing = c.close();
    release();
    const outcome = await pending;
    await closing;
    assert.equal(outcome.code, 'delivered');
    assert.equal(outcome.responseExcerpt, 'late');
  });

  it('returns cancelled after close()', async () => {
    const c = createWebhookClient({ policy: LOOPBACK });
    await c.close();
    const outcome = await c.deliver({ url: 'https://127.0.0.1:1/', body: BODY });
    assert.equal(outcome.code, 'cancelled');
  });
});
