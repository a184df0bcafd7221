import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { checkJsonShape } from './read-body.ts';
import { createPathCanonicalizer, readQuery } from './route.ts';

describe('createPathCanonicalizer', () => {
  const canon = createPathCanonicalizer([
    '/api/v1/Notification/ChannelConfiguration',
    '/api/v1/Notification/ChannelConfiguration/All',
    '/api/v1/herald/deliveries/recover',
    '/api/v1/herald/deliveries/:deliveryId',
  ]);
  it('maps any letter case of a static path to the documented one', () => {
    assert.equal(
      canon('/API/V1/notification/channelconfiguration/all'),
      '/api/v1/Notification/ChannelConfiguration/All',
    );
    assert.equal(canon('/api/v1/notification/ChannelConfiguration'), '/api/v1/Notification/ChannelConfiguration');
  });
  it('keeps parameter segments as sent and prefers static segments', () => {
    assert.equal(canon('/API/v1/Herald/Deliveries/AbC-1'), '/api/v1/herald/deliveries/AbC-1');
    assert.equal(canon('/api/v1/herald/deliveries/RECOVER'), '/api/v1/herald/deliveries/recover');
  });
  it('leaves unknown paths alone', () => {
    assert.equal(canon('/nothing/Here'), '/nothing/Here');
    assert.equal(canon('/nothing/Here/'), '/nothing/Here/');
  });
  it('ignores one trailing slash, as ASP.NET routing does, but never matches an empty parameter', () => {
    assert.equal(
      canon('/api/v1/notification/channelconfiguration/all/'),
      '/api/v1/Notification/ChannelConfiguration/All',
    );
    assert.equal(canon('/api/v1/herald/deliveries/d-1/'), '/api/v1/herald/deliveries/d-1');
    assert.equal(canon('/api/v1/herald/deliveries/'), '/api/v1/herald/deliveries/');
    assert.equal(
      canon('/api/v1/Notification/ChannelConfiguration/All//'),
      '/api/v1/Notification/ChannelConfiguration/All//',
    );
  });
});

describe('readQuery', () => {
  it('matches names case-insensitively and drops unknown names', () => {
    assert.deepEqual(readQuery('http://x/p?APPLICATIONID=a&applicationId=a&other=1&other=2', ['applicationId']), {
      applicationId: 'a',
    });
  });

  it('refuses a parameter repeated with different values, in any casing (400, never a guess)', () => {
    for (const q of [
      'applicationId=a&applicationId=b',
      'APPLICATIONID=a&applicationId=b',
      'applicationid=b&ApplicationId=a',
    ]) {
      assert.throws(
        () => readQuery(`http://x/p?${q}`, ['applicationId']),
        (err: unknown) => err instanceof ApiError && err.status === 400 && 'applicationId' in err.errors,
        q,
      );
    }
  });

  it('keeps constructor and __proto__ as plain names', () => {
    const out = readQuery('http://x/p?constructor=1&__proto__=2', ['constructor', '__proto__']);
    assert.ok(Object.hasOwn(out, 'constructor') && Object.hasOwn(out, '__proto__'));
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});

describe('checkJsonShape', () => {
  it('accepts shallow JSON and refuses deep or huge JSON without recursion', () => {
    checkJsonShape({ a: [1, { b: 2 }] });
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => checkJsonShape(deep), /nested at most 64/);
    assert.throws(
      () =>
        checkJsonShape(
          Array.from({ length: 10 }, () => 1),
          { maxDepth: 64, maxNodes: 5 },
        ),
      /at most 5 JSON values/,
    );
  });

  it('refuses "__proto__" and "constructor.prototype" at any depth, keeps a plain "constructor" value', () => {
    assert.throws(() => checkJsonShape(JSON.parse('{"a":{"b":[{"__proto__":{"x":1}}]}}')), /"__proto__"/);
    assert.throws(() => checkJsonShape(JSON.parse('{"__proto__":null}')), /"__proto__"/);
    assert.throws(() => checkJsonShape(JSON.parse('{"a":{"constructor":{"prototype":{}}}}')), /constructor\.prototype/);
    checkJsonShape(JSON.parse('{"a":{"constructor":"text","prototype":1}}'));
  });
});

describe('createRateLimiter', () => {
  it('allows the burst, refuses with Retry-After, refills with time, keeps keys apart, honours per-key rates', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, now: () => now });
    assert.ok(limiter.take('a').ok && limiter.take('a').ok && limiter.take('a').ok);
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 1 });
    assert.ok(limiter.take('b').ok);
    now = 500;
    assert.ok(limiter.take('a').ok);
    assert.equal(limiter.take('a').ok, false);
    const slow = createRateLimiter({ perSecond: 100, now: () => now });
    assert.ok(slow.take('c', 1).ok);
    const refused = slow.take('c', 1);
    assert.deepEqual(refused, { ok: false, retryAfterSeconds: 1 });
    assert.throws(() => createRateLimiter({ perSecond: 0 }), RangeError);
  });
});

describe('createRandomPool', () => {
  it('hands out fresh, non-repeating slices across refills', async () => {
    const { createRandomPool } = await import('./random-pool.ts');
    const take = createRandomPool(64);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const bytes = take(16);
      assert.equal(bytes.length, 16);
      seen.add(Buffer.from(bytes).toString('hex'));
    }
    assert.equal(seen.size, 100);
    assert.equal(take(100).length, 100);
  });
});
