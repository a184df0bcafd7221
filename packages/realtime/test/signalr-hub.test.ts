import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as signalR from '@microsoft/signalr';
import { closeServer, listenEphemeral } from '@herald/testing';
import { createSignalRHub, createSignalRTransport, type SignalRHub } from '../src/index.ts';

const TOKENS: Record<string, string> = { 'token-app-a': 'app-a', 'token-app-b': 'app-b' };

async function startHub(opts: Partial<Parameters<typeof createSignalRHub>[0]> = {}) {
  const hub = createSignalRHub({
    authenticate: async (token) => (token && TOKENS[token] ? { applicationId: TOKENS[token] } : null),
    ...opts,
  });
  const server: Server = createServer(async (req, res) => {
    const url = `http://${req.headers.host}${req.url}`;
    if (new URL(url).pathname === `${hub.path}/negotiate`) {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const response = await hub.handleNegotiate(new Request(url, { method: req.method ?? 'GET', headers }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(await response.text());
      return;
    }
    res.writeHead(404).end();
  });
  hub.attach(server);
  const port = await listenEphemeral(server);
  return { hub, server, url: `http://127.0.0.1:${port}${hub.path}` };
}

function connect(url: string, token: string, options: Partial<signalR.IHttpConnectionOptions> = {}) {
  return new signalR.HubConnectionBuilder()
    .withUrl(url, { accessTokenFactory: () => token, ...options })
    .configureLogging(signalR.LogLevel.None)
    .build();
}

function nextCall(conn: signalR.HubConnection, target: string): Promise<unknown[]> {
  return new Promise((resolve) => {
    const handler = (...args: unknown[]) => {
      conn.off(target, handler);
      resolve(args);
    };
    conn.on(target, handler);
  });
}

/** Polls every 10 ms for up to 10 s: generous, so a machine busy with other test suites does not fail it. */
async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 10_000; i++) {
    if (predicate()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('SignalR hub with the official @microsoft/signalr client', () => {
  let hub: SignalRHub;
  let server: Server;
  let url: string;
  before(async () => {
    ({ hub, server, url } = await startHub());
  });
  after(async () => {
    await hub.close();
    await closeServer(server);
  });

  it('negotiates, connects over WebSockets and receives pushes for its application only', async () => {
    const a = connect(url, 'token-app-a');
    const b = connect(url, 'token-app-b');
    await a.start();
    await b.start();
    try {
      assert.equal(a.state, signalR.HubConnectionState.Connected);
      await waitFor(() => hub.connectionCount('app-a') === 1 && hub.connectionCount('app-b') === 1, 'connections');
      let bGotSomething = false;
      b.on('ReceiveNotification', () => {
        bGotSomething = true;
      });
      const got = nextCall(a, 'ReceiveNotification');
      const n = await hub.sendToApplication('app-a', 'ReceiveNotification', [{ ImageId: 'x' }, { messageId: 'm1' }]);
      assert.equal(n, 1);
      assert.deepEqual(await got, [{ ImageId: 'x' }, { messageId: 'm1' }]);
      // b is a different application: a round trip on b proves nothing was queued for it before.
      const bProbe = nextCall(b, 'probe');
      await hub.sendToApplication('app-b', 'probe', []);
      await bProbe;
      assert.equal(bGotSomething, false);
    } finally {
      await a.stop();
      await b.stop();
    }
    await waitFor(() => hub.connectionCount() === 0, 'disconnects');
  });

  it('works with skipNegotiation (WebSockets straight away)', async () => {
    const c = connect(url, 'token-app-a', { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets });
    await c.start();
    try {
      const got = nextCall(c, 'ReceiveNotification');
      assert.equal(await hub.sendToApplication('app-a', 'ReceiveNotification', ['hello']), 1);
      assert.deepEqual(await got, ['hello']);
    } finally {
      await c.stop();
    }
  });

  it('refuses a client without a valid token', async () => {
    const c = connect(url, 'wrong-token');
    await assert.rejects(() => c.start());
    assert.equal(hub.connectionCount(), 0);
  });

  it('answers a client-to-server invocation with an error instead of hanging', async () => {
    const c = connect(url, 'token-app-a');
    await c.start();
    try {
      await assert.rejects(() => c.invoke('DoSomething', 1), /Unknown hub method 'DoSomething'/);
    } finally {
      await c.stop();
    }
  });

  it('refuses a negotiated connection token used by another application', async () => {
    const res = await fetch(`${url}/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-app-a' },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      connectionToken: string;
      negotiateVersion: number;
      availableTransports: unknown[];
    };
    assert.equal(body.negotiateVersion, 1);
    assert.deepEqual(body.availableTransports, [{ transport: 'WebSockets', transferFormats: ['Text'] }]);
    const c = new signalR.HubConnectionBuilder()
      .withUrl(`${url}?id=${body.connectionToken}`, {
        accessTokenFactory: () => 'token-app-b',
        skipNegotiation: true,
        transport: signalR.HttpTransportType.WebSockets,
      })
      .configureLogging(signalR.LogLevel.None)
      .build();
    await assert.rejects(() => c.start());
  });

  it('negotiate without a token is 401', async () => {
    const res = await fetch(`${url}/negotiate?negotiateVersion=1`, { method: 'POST' });
    assert.equal(res.status, 401);
  });
});

describe('SignalR transport', () => {
  it('is delivered when a client is connected and retryable when none is', async () => {
    const { hub, server, url } = await startHub();
    const transport = createSignalRTransport({ hub });
    const job = {
      message: {
        id: 'msg-1',
        type: 'ImageGenerationProgress',
        correlationId: 'corr-1',
        createdAt: Date.UTC(2026, 0, 1),
      },
      channel: { applicationId: 'app-a' },
      body: '{"MessageType":"ImageGenerationProgress","Progress":80}',
    };
    try {
      const none = await transport.deliver(job);
      assert.equal(none.ok, false);
      assert.equal(none.retryable, true);

      const c = connect(url, 'token-app-a');
      await c.start();
      try {
        const got = nextCall(c, 'ReceiveNotification');
        const outcome = await transport.deliver(job);
        assert.equal(outcome.ok, true);
        assert.equal(outcome.code, 'delivered');
        const [message, meta] = (await got) as [unknown, Record<string, unknown>];
        assert.deepEqual(message, { MessageType: 'ImageGenerationProgress', Progress: 80 });
        assert.equal(meta.messageId, 'msg-1');
        assert.equal(meta.correlationId, 'corr-1');
        assert.equal(meta.publishedAt, '2026-01-01T00:00:00.000Z');
      } finally {
        await c.stop();
      }
    } finally {
      await hub.close();
      await closeServer(server);
    }
  });
});

describe('hub configuration', () => {
  it('rejects a bad path or interval at construction', () => {
    assert.throws(() => createSignalRHub({ authenticate: async () => null, path: 'no-slash' }), /must start with/);
    assert.throws(() => createSignalRHub({ authenticate: async () => null, keepAliveIntervalMs: 0 }), /positive/);
  });
});
