import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { it } from 'node:test';
import { closeServer, listenEphemeral } from '@herald/testing';
import { WebSocket } from 'ws';
import { createSignalRHub, RECORD_SEPARATOR } from '../src/index.ts';

async function start(opts: { keepAliveIntervalMs?: number; clientTimeoutMs?: number } = {}) {
  const hub = createSignalRHub({ authenticate: async (t) => (t === 'ok' ? { applicationId: 'app' } : null), ...opts });
  const server = createServer((_req, res) => res.writeHead(404).end());
  hub.attach(server);
  const port = await listenEphemeral(server);
  return {
    hub,
    ws: (query = 'access_token=ok') => new WebSocket(`ws://127.0.0.1:${port}${hub.path}?${query}`),
    stop: async () => {
      await hub.close();
      await closeServer(server);
    },
  };
}

function records(ws: WebSocket): AsyncGenerator<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  ws.on('message', (data) => {
    for (const r of data.toString().split(RECORD_SEPARATOR))
      if (r) queue.push(JSON.parse(r) as Record<string, unknown>);
    wake?.();
  });
  ws.on('close', () => {
    ended = true;
    wake?.();
  });
  return (async function* () {
    while (true) {
      if (queue.length) {
        yield queue.shift()!;
        continue;
      }
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
    }
  })();
}

it('refuses the MessagePack protocol in the handshake with a readable error', async () => {
  const h = await start();
  try {
    const ws = h.ws();
    const it = records(ws);
    await once(ws, 'open');
    ws.send(JSON.stringify({ protocol: 'messagepack', version: 1 }) + RECORD_SEPARATOR);
    const first = (await it.next()).value;
    assert.match(String(first?.error), /'messagepack' is not available/);
  } finally {
    await h.stop();
  }
});

it('pings connected clients and drops a client that stays silent past the timeout', async () => {
  const h = await start({ keepAliveIntervalMs: 20, clientTimeoutMs: 200 });
  try {
    const ws = h.ws();
    const it = records(ws);
    await once(ws, 'open');
    ws.send(JSON.stringify({ protocol: 'json', version: 1 }) + RECORD_SEPARATOR);
    assert.deepEqual((await it.next()).value, {});
    const seen: unknown[] = [];
    for await (const r of it) seen.push(r.type);
    // Pings (6) came while the client was silent, then a close (7) when it timed out.
    assert.ok(seen.includes(6), `expected pings, got ${JSON.stringify(seen)}`);
    assert.equal(seen.at(-1), 7);
    assert.equal(h.hub.connectionCount(), 0);
  } finally {
    await h.stop();
  }
});

it('rejects an upgrade without a token with 401', async () => {
  const h = await start();
  try {
    const ws = h.ws('');
    const [err] = (await once(ws, 'error')) as [Error];
    assert.match(err.message, /401/);
  } finally {
    await h.stop();
  }
});
