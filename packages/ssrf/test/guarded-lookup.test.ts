import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { createDestinationPolicy, type ResolveHost } from '@herald/ssrf';
import { closeServer, createTestPki, listenEphemeral } from '@herald/testing';

type Outcome = { ok: true; remote: string | undefined } | { ok: false; code: string | undefined; message: string };

function dial(socket: net.Socket, readyEvent: 'connect' | 'secureConnect'): Promise<Outcome> {
  return new Promise((resolve) => {
    socket.once(readyEvent, () => {
      const remote = socket.remoteAddress;
      socket.destroy();
      resolve({ ok: true, remote });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code, message: err.message }));
  });
}

async function withTcpServer<T>(fn: (port: number, accepted: () => number) => Promise<T>): Promise<T> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  const port = await listenEphemeral(server);
  try {
    return await fn(port, () => count);
  } finally {
    await closeServer(server);
  }
}

/** Answers a public address on the first query and loopback afterwards: DNS rebinding. */
function rebindingResolver(): ResolveHost {
  let calls = 0;
  return async () => {
    calls++;
    return calls === 1 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
  };
}

describe('guarded lookup on real sockets', () => {
  it('lets net.connect reach an allowed name', async () => {
    await withTcpServer(async (port) => {
      const policy = createDestinationPolicy({
        allowCidrs: ['127.0.0.0/8'],
        resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
      });
      const r = await dial(net.connect({ host: 'receiver.test', port, lookup: policy.lookup }), 'connect');
      assert.deepEqual(r, { ok: true, remote: '127.0.0.1' });
    });
  });

  it('refuses localhost with the default policy before any connection is made', async () => {
    await withTcpServer(async (port, accepted) => {
      const policy = createDestinationPolicy();
      const r = await dial(net.connect({ host: 'localhost', port, lookup: policy.lookup }), 'connect');
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, 'HERALD_BLOCKED_DESTINATION');
      assert.equal(!r.ok && /127\.0\.0\.1|::1/.test(r.message), false);
      assert.equal(accepted(), 0);
    });
  });

  it('connects to localhost when loopback (v4 and v6) is allowed', async () => {
    await withTcpServer(async (port) => {
      const policy = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });
      const r = await dial(net.connect({ host: 'localhost', port, lookup: policy.lookup }), 'connect');
      assert.deepEqual(r, { ok: true, remote: '127.0.0.1' });
    });
  });

  it('closes the DNS rebinding window: the check runs on the address actually dialled', async () => {
    await withTcpServer(async (port, accepted) => {
      const policy = createDestinationPolicy({ resolveHost: rebindingResolver() });
      // Configuration-time check sees the public answer...
      assert.deepEqual(await policy.checkHost('rebind.test'), { ok: true, address: '93.184.216.34', family: 4 });
      // ...the dial-time lookup sees loopback and refuses.
      const r = await dial(net.connect({ host: 'rebind.test', port, lookup: policy.lookup }), 'connect');
      assert.equal(!r.ok && r.code, 'HERALD_BLOCKED_DESTINATION');
      assert.equal(accepted(), 0);
    });
  });

  it('guards tls.connect the same way', async () => {
    const pki = await createTestPki();
    const server = tls.createServer({ cert: pki.server.cert, key: pki.server.key }, (s) => s.end());
    const port = await listenEphemeral(server);
    try {
      const allowed = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });
      const ok = await dial(
        tls.connect({ host: 'localhost', port, ca: pki.ca.cert, lookup: allowed.lookup }),
        'secureConnect',
      );
      assert.equal(ok.ok, true);
      const blocked = await dial(
        tls.connect({ host: 'localhost', port, ca: pki.ca.cert, lookup: createDestinationPolicy().lookup }),
        'secureConnect',
      );
      assert.equal(!blocked.ok && blocked.code, 'HERALD_BLOCKED_DESTINATION');
    } finally {
      await closeServer(server);
    }
  });

  it('catches inet_aton spellings of loopback that reach the lookup', async () => {
    await withTcpServer(async (port, accepted) => {
      const policy = createDestinationPolicy();
      for (const host of ['0x7f.1', '2130706433', '127.1']) {
        const r = await dial(net.connect({ host, port, lookup: policy.lookup }), 'connect');
        assert.equal(!r.ok && r.code, 'HERALD_BLOCKED_DESTINATION', host);
      }
      assert.equal(accepted(), 0);
    });
  });
});
