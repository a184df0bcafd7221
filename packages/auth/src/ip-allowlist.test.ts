import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { AuthConfigError } from './auth-config-error.ts';
import { createIpAllowlist, ipAllowlistAuth } from './ip-allowlist.ts';
import { createSourceAddressBinding } from './source-address-binding.ts';

describe('createIpAllowlist', () => {
  const list = createIpAllowlist({ allow: ['127.0.0.2', '10.0.0.0/8', '2001:db8::/32', '::1'] });

  it('allows listed IPs and CIDR members, IPv4 and IPv6', () => {
    assert.deepEqual(list.check('127.0.0.2'), { ok: true, clientIp: '127.0.0.2' });
    assert.deepEqual(list.check('10.200.3.4'), { ok: true, clientIp: '10.200.3.4' });
    assert.deepEqual(list.check('2001:db8:0:0::7'), { ok: true, clientIp: '2001:db8::7' });
    assert.deepEqual(list.check('::1'), { ok: true, clientIp: '::1' });
  });

  it('normalises IPv4-mapped IPv6 peers', () => {
    assert.deepEqual(list.check('::ffff:127.0.0.2'), { ok: true, clientIp: '127.0.0.2' });
    assert.deepEqual(list.check('::ffff:10.1.1.1'), { ok: true, clientIp: '10.1.1.1' });
    assert.deepEqual(list.check('::ffff:127.0.0.3'), { ok: false, reason: 'not_allowed' });
    const mappedRule = createIpAllowlist({ allow: ['::ffff:192.168.0.0/112'] });
    assert.equal(mappedRule.check('192.168.4.5').ok, true);
    assert.equal(mappedRule.check('192.169.0.1').ok, false);
  });

  it('refuses other and malformed addresses', () => {
    assert.deepEqual(list.check('127.0.0.3'), { ok: false, reason: 'not_allowed' });
    assert.deepEqual(list.check('11.0.0.1'), { ok: false, reason: 'not_allowed' });
    assert.deepEqual(list.check('2001:db9::1'), { ok: false, reason: 'not_allowed' });
    assert.deepEqual(list.check(''), { ok: false, reason: 'invalid_address' });
    assert.deepEqual(list.check('localhost'), { ok: false, reason: 'invalid_address' });
    // Legacy shorthand forms are not addresses here (127.1 would otherwise read as 127.0.0.1).
    assert.deepEqual(list.check('127.2'), { ok: false, reason: 'invalid_address' });
    assert.deepEqual(list.check('0x7f.0.0.2'), { ok: false, reason: 'invalid_address' });
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    assert.deepEqual(list.check('11.0.0.1', '127.0.0.2'), { ok: false, reason: 'not_allowed' });
    assert.deepEqual(list.check('127.0.0.2', '11.0.0.1'), { ok: true, clientIp: '127.0.0.2' });
  });

  it('walks X-Forwarded-For right to left behind trusted proxies', () => {
    const proxied = createIpAllowlist({ allow: ['203.0.113.7'], trustedProxies: ['192.168.1.0/24', '172.16.0.1'] });
    // client, then two trusted hops; the direct peer is a trusted proxy.
    assert.deepEqual(proxied.check('192.168.1.10', '203.0.113.7, 172.16.0.1'), { ok: true, clientIp: '203.0.113.7' });
    // A spoofed leftmost entry does not help: the rightmost untrusted hop is the client.
    assert.deepEqual(proxied.check('192.168.1.10', '203.0.113.7, 198.51.100.9'), { ok: false, reason: 'not_allowed' });
    assert.deepEqual(proxied.check('192.168.1.10', '198.51.100.9, 203.0.113.7'), { ok: true, clientIp: '203.0.113.7' });
    // Port and bracket decorations.
    assert.deepEqual(proxied.check('::ffff:192.168.1.10', '203.0.113.7:4711'), { ok: true, clientIp: '203.0.113.7' });
    // Garbage in the chain is refused rather than skipped.
    assert.deepEqual(proxied.check('192.168.1.10', '203.0.113.7, nonsense'), { ok: false, reason: 'invalid_address' });
    const many = Array.from({ length: 40 }, () => '172.16.0.1').join(', ');
    assert.deepEqual(proxied.check('192.168.1.10', many), { ok: false, reason: 'invalid_address' });
    // Without X-Forwarded-For the proxy itself is the client.
    assert.deepEqual(proxied.check('192.168.1.10'), { ok: false, reason: 'not_allowed' });
  });

  it('refuses bad rules at construction', () => {
    for (const allow of [
      [],
      ['10.0.0.0/33'],
      ['10.0.0.0/'],
      ['300.1.1.1'],
      ['example.com'],
      ['::/129'],
      ['::ffff:1.2.3.4/64'],
    ]) {
      assert.throws(
        () => createIpAllowlist({ allow }),
        (e: unknown) => e instanceof AuthConfigError && e.code === 'invalid_cidr',
        JSON.stringify(allow),
      );
    }
    assert.throws(() => createIpAllowlist({ allow: ['10.0.0.1'], trustedProxies: ['nope'] }), AuthConfigError);
  });
});

describe('ipAllowlistAuth (in memory)', () => {
  it('uses the injected address reader and X-Forwarded-For header', async () => {
    let peer = '127.0.0.1';
    const app = new Hono();
    app.use(ipAllowlistAuth({ allow: ['198.51.100.1'], trustedProxies: ['127.0.0.1'], getRemoteAddress: () => peer }));
    app.get('/', (c) => c.text('ok'));
    assert.equal((await app.request('/', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 200);
    assert.equal((await app.request('/', { headers: { 'x-forwarded-for': '198.51.100.2' } })).status, 401);
    peer = '127.0.0.9';
    assert.equal((await app.request('/', { headers: { 'x-forwarded-for': '198.51.100.1' } })).status, 401);
  });

  it('refuses when no peer address can be read', async () => {
    const app = new Hono();
    app.use(ipAllowlistAuth({ allow: ['0.0.0.0/0'] }));
    app.get('/', (c) => c.text('ok'));
    const res = await app.request('/');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { status: number }).status, 401);
  });
});

describe('createSourceAddressBinding', () => {
  const interfaces = () => ({
    eth0: [{ address: '192.0.2.10' }, { address: 'fe80::1' }],
    lo: [{ address: '127.0.0.1' }],
  });

  it('accepts an address a local interface holds, in canonical form', () => {
    assert.deepEqual(createSourceAddressBinding({ localAddress: '192.0.2.10', networkInterfaces: interfaces }), {
      localAddress: '192.0.2.10',
    });
    assert.deepEqual(createSourceAddressBinding({ localAddress: 'fe80:0::1', networkInterfaces: interfaces }), {
      localAddress: 'fe80::1',
    });
  });

  it('counts all of 127.0.0.0/8 as local on Linux only', () => {
    assert.equal(
      createSourceAddressBinding({ localAddress: '127.0.0.2', networkInterfaces: interfaces, platform: 'linux' })
        .localAddress,
      '127.0.0.2',
    );
    assert.throws(
      () =>
        createSourceAddressBinding({ localAddress: '127.0.0.2', networkInterfaces: interfaces, platform: 'darwin' }),
      (e: unknown) => e instanceof AuthConfigError && e.code === 'local_address_not_assigned',
    );
  });

  it('refuses a non-address, and an unassigned address unless the check is off', () => {
    assert.throws(
      () => createSourceAddressBinding({ localAddress: 'eth0' }),
      (e: unknown) => e instanceof AuthConfigError && e.code === 'invalid_address',
    );
    assert.throws(
      () => createSourceAddressBinding({ localAddress: '198.51.100.1', networkInterfaces: interfaces }),
      (e: unknown) => e instanceof AuthConfigError && e.code === 'local_address_not_assigned',
    );
    assert.deepEqual(createSourceAddressBinding({ localAddress: '198.51.100.1', requireLocalInterface: false }), {
      localAddress: '198.51.100.1',
    });
  });

  it('checks the real interfaces by default', () => {
    assert.equal(createSourceAddressBinding({ localAddress: '127.0.0.1' }).localAddress, '127.0.0.1');
  });
});
