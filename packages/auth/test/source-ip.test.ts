// Fixed source IP end to end on loopback: a real HTTP server on 127.0.0.1 and undici clients
// bound to 127.0.0.2 (allowed) and 127.0.0.3 (not allowed). undici 8 takes `localAddress` as an Agent
// option; `connect.localAddress` is overridden by it, so the binding must go at the top level.
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSourceAddressBinding, ipAllowlistAuth } from '@herald/auth';
import { createAdaptorServer } from '@hono/node-server';
import { closeServer, listenEphemeral } from '@herald/testing';
import { Hono } from 'hono';
import { Agent, request } from 'undici';

describe('fixed source IP over real sockets', () => {
  let server: Server;
  let port: number;
  const seen: string[] = [];

  before(async () => {
    const app = new Hono<{ Variables: { clientIp: string } }>();
    app.use('/hook', ipAllowlistAuth({ allow: ['127.0.0.2', '10.9.0.0/16'], onRejected: (r) => seen.push(r) }));
    app.post('/hook', (c) => c.json({ clientIp: c.var.clientIp }));
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    port = await listenEphemeral(server, '127.0.0.1');
  });
  after(async () => {
    await closeServer(server);
  });

  async function postFrom(localAddress: string, headers: Record<string, string> = {}) {
    const binding = createSourceAddressBinding({ localAddress });
    const dispatcher = new Agent({ localAddress: binding.localAddress });
    try {
      const res = await request(`http://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}', headers, dispatcher });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    } finally {
      await dispatcher.close();
    }
  }

  it('lets a push bound to the allowed address through and reports the client IP', async () => {
    const res = await postFrom('127.0.0.2');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { clientIp: '127.0.0.2' });
  });

  it('refuses a push from another address with a 401 problem body', async () => {
    const res = await postFrom('127.0.0.3');
    assert.equal(res.status, 401);
    assert.equal(res.body['status'], 401);
    assert.ok(seen.includes('not_allowed'));
  });

  it('does not believe X-Forwarded-For from an untrusted peer', async () => {
    const res = await postFrom('127.0.0.3', { 'x-forwarded-for': '127.0.0.2' });
    assert.equal(res.status, 401);
  });
});

describe('X-Forwarded-For behind a trusted proxy, over real sockets', () => {
  let server: Server;
  let port: number;

  before(async () => {
    const app = new Hono<{ Variables: { clientIp: string } }>();
    app.use('/hook', ipAllowlistAuth({ allow: ['10.9.0.0/16'], trustedProxies: ['127.0.0.4'] }));
    app.post('/hook', (c) => c.json({ clientIp: c.var.clientIp }));
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    port = await listenEphemeral(server, '127.0.0.1');
  });
  after(async () => {
    await closeServer(server);
  });

  async function postFrom(localAddress: string, forwardedFor: string) {
    const dispatcher = new Agent({ localAddress });
    try {
      const res = await request(`http://127.0.0.1:${port}/hook`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-forwarded-for': forwardedFor },
        dispatcher,
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    } finally {
      await dispatcher.close();
    }
  }

  it('takes the client from X-Forwarded-For when the peer is the trusted proxy', async () => {
    const res = await postFrom('127.0.0.4', '10.9.1.2');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { clientIp: '10.9.1.2' });
  });

  it('refuses when the forwarded client is outside the allowlist', async () => {
    assert.equal((await postFrom('127.0.0.4', '10.8.1.2')).status, 401);
  });

  it('ignores the same header from a peer that is not the proxy', async () => {
    assert.equal((await postFrom('127.0.0.5', '10.9.1.2')).status, 401);
  });
});
