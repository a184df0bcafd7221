import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOCKED_DESTINATION_CODE, isBlockedDestinationError } from './blocked-destination-error.ts';
import { createDestinationPolicy, type ResolvedAddress, type ResolveHost } from './destination-policy.ts';
import { SsrfConfigError } from './ssrf-config-error.ts';

function fixedResolver(table: Record<string, ResolvedAddress[]>): ResolveHost {
  return async (hostname) => {
    const answer = table[hostname];
    if (answer === undefined) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      throw err;
    }
    return answer;
  };
}

function lookupAsync(
  lookup: ReturnType<typeof createDestinationPolicy>['lookup'],
  hostname: string,
  options: { all?: boolean; family?: number },
): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family: unknown }> {
  return new Promise((resolve) => {
    lookup(hostname, options, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('createDestinationPolicy configuration', () => {
  const bad: ReadonlyArray<unknown> = [
    'not-a-cidr',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '127.1/8',
    '0x7f.0.0.1/8',
    'fd00::/129',
    'localhost',
    '',
    42,
  ];
  for (const cidr of bad) {
    it(`rejects allowCidrs entry ${JSON.stringify(cidr)} with HERALD_SSRF_INVALID_CIDR`, () => {
      assert.throws(
        () => createDestinationPolicy({ allowCidrs: [cidr as string] }),
        (err: unknown) => err instanceof SsrfConfigError && err.code === 'HERALD_SSRF_INVALID_CIDR',
      );
    });
  }

  it('rejects a non-array allowCidrs and a non-boolean allowAll', () => {
    assert.throws(
      () => createDestinationPolicy({ allowCidrs: '127.0.0.0/8' as unknown as string[] }),
      (err: unknown) => err instanceof SsrfConfigError && err.code === 'HERALD_SSRF_INVALID_CONFIG',
    );
    assert.throws(
      () => createDestinationPolicy({ allowAll: 'yes' as unknown as boolean }),
      (err: unknown) => err instanceof SsrfConfigError && err.code === 'HERALD_SSRF_INVALID_CONFIG',
    );
  });

  it('accepts IPv4, IPv6, single addresses and mapped ranges', () => {
    const p = createDestinationPolicy({
      allowCidrs: ['10.1.0.0/16', 'fd12::/64', '192.168.1.7', '::ffff:172.16.0.0/116'],
    });
    assert.equal(p.isAllowedAddress('10.1.2.3'), true);
    assert.equal(p.isAllowedAddress('10.2.0.1'), false);
    assert.equal(p.isAllowedAddress('fd12::5'), true);
    assert.equal(p.isAllowedAddress('fd13::5'), false);
    assert.equal(p.isAllowedAddress('192.168.1.7'), true);
    assert.equal(p.isAllowedAddress('192.168.1.8'), false);
    assert.equal(p.isAllowedAddress('172.16.9.9'), true);
    assert.equal(p.isAllowedAddress('172.16.16.1'), false);
  });
});

describe('isAllowedAddress', () => {
  const strict = createDestinationPolicy();
  const loopback = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
  const open = createDestinationPolicy({ allowAll: true });
  const rows: ReadonlyArray<readonly [string, boolean, boolean, boolean]> = [
    // ip, default, allow 127/8, allowAll
    ['8.8.8.8', true, true, true],
    ['2606:4700:4700::1111', true, true, true],
    ['127.0.0.1', false, true, true],
    ['127.0.0.2', false, true, true],
    ['::ffff:127.0.0.1', false, true, true],
    ['::ffff:7f00:1', false, true, true],
    ['::1', false, false, true],
    ['10.0.0.1', false, false, true],
    ['169.254.169.254', false, false, true],
    ['fd00:ec2::254', false, false, true],
    ['100.64.0.1', false, false, true],
    ['0.0.0.0', false, false, true],
    ['224.0.0.1', false, false, true],
    ['not-an-ip', false, false, false],
  ];
  for (const [ip, byDefault, withLoopback, withAll] of rows) {
    it(`${ip}: default ${byDefault}, 127/8 ${withLoopback}, allowAll ${withAll}`, () => {
      assert.equal(strict.isAllowedAddress(ip), byDefault);
      assert.equal(loopback.isAllowedAddress(ip), withLoopback);
      assert.equal(open.isAllowedAddress(ip), withAll);
    });
  }
});

describe('isAllowedDialHost', () => {
  it('checks IP literals and leaves names to the guarded lookup', () => {
    const p = createDestinationPolicy({ allowCidrs: ['127.0.0.2/32'] });
    assert.equal(p.isAllowedDialHost('127.0.0.1'), false);
    assert.equal(p.isAllowedDialHost('127.0.0.2'), true);
    assert.equal(p.isAllowedDialHost('[::1]'), false);
    assert.equal(p.isAllowedDialHost('::ffff:127.0.0.1'), false);
    assert.equal(p.isAllowedDialHost('localhost'), false);
    assert.equal(p.isAllowedDialHost('LOCALHOST.'), false);
    assert.equal(p.isAllowedDialHost('example.com'), true);
    assert.equal(createDestinationPolicy({ allowAll: true }).isAllowedDialHost('localhost'), true);
  });
});

describe('checkUrl', () => {
  const p = createDestinationPolicy();
  const rows: ReadonlyArray<readonly [string, string]> = [
    ['https://example.com/hook', 'ok'],
    ['https://example.com:8443/hook?x=1', 'ok'],
    ['https://8.8.8.8/', 'ok'],
    ['https://[2606:4700:4700::1111]/', 'ok'],
    ['HTTPS://EXAMPLE.COM/', 'ok'],
    ['http://example.com/', 'scheme_not_allowed'],
    ['ftp://example.com/', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['gopher://example.com/', 'scheme_not_allowed'],
    ['javascript:alert(1)', 'scheme_not_allowed'],
    ['data:text/plain,hi', 'scheme_not_allowed'],
    ['not a url', 'invalid_url'],
    ['', 'invalid_url'],
    ['//example.com/', 'invalid_url'],
    ['https://user:pass@example.com/', 'credentials_in_url'],
    ['https://user@example.com/', 'credentials_in_url'],
    ['https://:pass@example.com/', 'credentials_in_url'],
    ['https://127.0.0.1/', 'blocked_address'],
    ['https://127.0.0.1./', 'blocked_address'],
    ['https://127.1/', 'blocked_address'],
    ['https://2130706433/', 'blocked_address'],
    ['https://0x7f000001/', 'blocked_address'],
    ['https://0x7f.1/', 'blocked_address'],
    ['https://0177.0.0.1/', 'blocked_address'],
    ['https://%31%32%37.0.0.1/', 'blocked_address'],
    ['https://\uff11\uff12\uff17.0.0.1/', 'blocked_address'], // full-width digits
    ['https://0/', 'blocked_address'],
    ['https://0.0.0.0/', 'blocked_address'],
    ['https://[::1]/', 'blocked_address'],
    ['https://[::]/', 'blocked_address'],
    ['https://[::ffff:127.0.0.1]/', 'blocked_address'],
    ['https://[::ffff:7f00:1]/', 'blocked_address'],
    ['https://[0:0:0:0:0:ffff:a00:1]/', 'blocked_address'],
    ['https://[64:ff9b::10.0.0.1]/', 'blocked_address'],
    ['https://[2002:a9fe:a9fe::]/', 'blocked_address'],
    ['https://[fd00:ec2::254]/', 'blocked_address'],
    ['https://[fe80::1]/', 'blocked_address'],
    ['https://169.254.169.254/latest/meta-data/', 'blocked_address'],
    ['https://2852039166/', 'blocked_address'],
    ['https://10.0.0.1/', 'blocked_address'],
    ['https://192.168.0.1/', 'blocked_address'],
    ['https://100.64.0.1/', 'blocked_address'],
    ['https://100.100.100.200/', 'blocked_address'],
    ['https://localhost/', 'blocked_address'],
    ['https://LOCALHOST./', 'blocked_address'],
    ['https://api.localhost/', 'blocked_address'],
  ];
  for (const [url, expected] of rows) {
    it(`${JSON.stringify(url)} → ${expected}`, () => {
      const r = p.checkUrl(url);
      assert.equal(r.ok ? 'ok' : r.reason, expected);
    });
  }

  it('returns the parsed URL when accepted', () => {
    const r = p.checkUrl('https://example.com/a?b=c');
    assert.ok(r.ok);
    assert.equal(r.url.href, 'https://example.com/a?b=c');
  });

  it('accepts http: only with allowHttp, and custom schemes with or without the colon', () => {
    assert.equal(p.checkUrl('http://example.com/', { allowHttp: true }).ok, true);
    assert.equal(p.checkUrl('amqps://broker.example.com/', { schemes: ['amqps'] }).ok, true);
    assert.equal(p.checkUrl('amqp://broker.example.com/', { schemes: ['amqps:'] }).ok, false);
    assert.equal(p.checkUrl('https://example.com/', { schemes: ['amqps:'] }).ok, false);
  });

  it('checks opaque hosts of non-special schemes in their inet_aton forms', () => {
    for (const url of ['amqp://0x7f.1/', 'amqp://2130706433/', 'amqp://127.1:5672/', 'amqps://[::1]/']) {
      const r = p.checkUrl(url, { schemes: ['amqp:', 'amqps:'] });
      assert.deepEqual(r.ok ? 'ok' : r.reason, 'blocked_address', url);
    }
  });

  it('lets allowCidrs and allowAll through', () => {
    const lo = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
    assert.equal(lo.checkUrl('https://127.0.0.1:8443/').ok, true);
    assert.equal(lo.checkUrl('https://[::ffff:127.0.0.1]/').ok, true);
    assert.equal(lo.checkUrl('https://10.0.0.1/').ok, false);
    assert.equal(lo.checkUrl('https://localhost/').ok, false);
    const both = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });
    assert.equal(both.checkUrl('https://localhost/').ok, true);
    assert.equal(both.isAllowedDialHost('localhost'), true);
    const all = createDestinationPolicy({ allowAll: true });
    assert.equal(all.checkUrl('https://localhost/').ok, true);
    assert.equal(all.checkUrl('https://169.254.169.254/').ok, true);
    assert.equal(all.checkUrl('https://u:p@example.com/').ok, false);
  });
});

describe('checkHost', () => {
  it('refuses localhost through the real resolver', async () => {
    assert.deepEqual(await createDestinationPolicy().checkHost('localhost'), { ok: false, reason: 'blocked_address' });
  });

  it('reports a .invalid name as dns_failure', async () => {
    assert.deepEqual(await createDestinationPolicy().checkHost('herald-nothing.invalid'), {
      ok: false,
      reason: 'dns_failure',
    });
  });

  it('checks IP literals without DNS', async () => {
    const p = createDestinationPolicy({ allowCidrs: ['127.0.0.0/8'] });
    assert.deepEqual(await p.checkHost('127.0.0.3'), { ok: true, address: '127.0.0.3', family: 4 });
    assert.deepEqual(await p.checkHost('[::1]'), { ok: false, reason: 'blocked_address' });
    assert.deepEqual(await p.checkHost('0x7f.1'), { ok: true, address: '127.0.0.1', family: 4 });
  });

  it('refuses a name when ANY of its addresses is not allowed', async () => {
    const p = createDestinationPolicy({
      resolveHost: fixedResolver({
        'public.test': [{ address: '93.184.216.34', family: 4 }],
        'mixed.test': [
          { address: '93.184.216.34', family: 4 },
          { address: '10.0.0.5', family: 4 },
        ],
        'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
        'v6.test': [{ address: '2606:4700:4700::1111', family: 6 }],
        'empty.test': [],
      }),
    });
    assert.deepEqual(await p.checkHost('public.test'), { ok: true, address: '93.184.216.34', family: 4 });
    assert.deepEqual(await p.checkHost('v6.test'), { ok: true, address: '2606:4700:4700::1111', family: 6 });
    assert.deepEqual(await p.checkHost('mixed.test'), { ok: false, reason: 'blocked_address' });
    assert.deepEqual(await p.checkHost('mapped.test'), { ok: false, reason: 'blocked_address' });
    assert.deepEqual(await p.checkHost('empty.test'), { ok: false, reason: 'dns_failure' });
    assert.deepEqual(await p.checkHost('unknown.test'), { ok: false, reason: 'dns_failure' });
  });
});

describe('lookup', () => {
  const resolveHost = fixedResolver({
    'public.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ],
    'internal.test': [{ address: '10.1.2.3', family: 4 }],
  });
  const p = createDestinationPolicy({ resolveHost });

  it('answers like dns.lookup for allowed names, single and all', async () => {
    const one = await lookupAsync(p.lookup, 'public.test', {});
    assert.equal(one.err, null);
    assert.equal(one.address, '93.184.216.34');
    assert.equal(one.family, 4);
    const all = await lookupAsync(p.lookup, 'public.test', { all: true });
    assert.equal(all.err, null);
    assert.deepEqual(all.address, [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
  });

  it('supports the two-argument form', async () => {
    const r = await new Promise<{ err: unknown; address: unknown }>((resolve) =>
      p.lookup('public.test', (err, address) => resolve({ err, address })),
    );
    assert.equal(r.err, null);
    assert.equal(r.address, '93.184.216.34');
  });

  it('fails refused names with HERALD_BLOCKED_DESTINATION and does not reveal the address', async () => {
    for (const all of [false, true]) {
      const r = await lookupAsync(p.lookup, 'internal.test', { all });
      assert.ok(r.err);
      assert.equal(r.err.code, BLOCKED_DESTINATION_CODE);
      assert.ok(isBlockedDestinationError(r.err));
      assert.match(r.err.message, /destination not allowed/);
      assert.doesNotMatch(r.err.message, /10\.1\.2\.3/);
    }
  });

  it('refuses IP literals and localhost without asking the resolver', async () => {
    for (const host of ['127.0.0.1', '0x7f.1', '::1', 'localhost']) {
      const r = await lookupAsync(p.lookup, host, { all: true });
      assert.equal(r.err?.code, BLOCKED_DESTINATION_CODE, host);
    }
  });

  it('passes resolver errors through', async () => {
    const r = await lookupAsync(p.lookup, 'missing.test', {});
    assert.equal(r.err?.code, 'ENOTFOUND');
  });
});
