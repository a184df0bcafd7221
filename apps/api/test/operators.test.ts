import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

const H = '/api/v1/herald';

describe('operators and credentials', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('mints a token from x-api-key and x-api-secret alone, usable on the documented API', async () => {
    const res = await h.app.request(`${H}/tokens`, {
      method: 'POST',
      headers: { 'x-api-key': h.a.key, 'x-api-secret': h.a.secret },
    });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.equal(body.tokenType, 'Bearer');
    assert.equal(body.applicationId, h.a.applicationId);
    assert.equal(body.role, 'application');
    assert.equal(body.expiresIn, 3600);
    const list = await h.app.request(
      `/api/v1/Notification/ChannelConfiguration/All?applicationId=${h.a.applicationId}`,
      {
        headers: { authorization: `Bearer ${body.token}`, 'x-api-key': h.a.key, 'x-api-secret': h.a.secret },
      },
    );
    assert.equal(list.status, 200);
    const wrong = await h.app.request(`${H}/tokens`, {
      method: 'POST',
      headers: { 'x-api-key': h.a.key, 'x-api-secret': 'nope' },
    });
    assert.equal(wrong.status, 401);
  });

  it('creates, lists and gets applications', async () => {
    const created = await h.app.request(
      `${H}/applications`,
      jsonInit('POST', h.operator.headers, { name: 'Shop', rateLimitPerSecond: 50 }),
    );
    assert.equal(created.status, 201);
    const app = await readJson(created);
    assert.equal(app.name, 'Shop');
    assert.equal(app.rateLimitPerSecond, 50);
    const list = await readJson(h.app.request(`${H}/applications`, { headers: h.operator.headers }));
    assert.ok(list.some((a: { id: string }) => a.id === app.id));
    const one = await h.app.request(`${H}/applications/${app.id}`, { headers: h.operator.headers });
    assert.equal((await readJson(one)).id, app.id);
    assert.equal(
      (await h.app.request(`${H}/applications/00000000-0000-4000-8000-000000000000`, { headers: h.operator.headers }))
        .status,
      404,
    );
    const bad = await h.app.request(`${H}/applications`, jsonInit('POST', h.operator.headers, { name: '' }));
    assert.equal(bad.status, 400);
  });

  it('issues a key (secret shown once), lists keys without secrets, rotates and revokes', async () => {
    const res = await h.app.request(
      `${H}/applications/${h.b.applicationId}/keys`,
      jsonInit('POST', h.operator.headers, { label: 'ci', credits: 10 }),
    );
    assert.equal(res.status, 201);
    const issued = await readJson(res);
    assert.match(issued.secret, /^hs_/);
    assert.equal(issued.credits, 10);
    const list = await h.app.request(`${H}/applications/${h.b.applicationId}/keys`, { headers: h.operator.headers });
    const text = await list.text();
    assert.ok(!text.includes(issued.secret), 'secrets are never listed');
    assert.ok(!text.includes('scrypt'), 'hashes are never listed');
    // The new key works with a token minted for it.
    const mint = async (key: string, secret: string) =>
      h.app.request(`${H}/tokens`, { method: 'POST', headers: { 'x-api-key': key, 'x-api-secret': secret } });
    assert.equal((await mint(issued.key, issued.secret)).status, 200);

    const rotated = await h.app.request(`${H}/applications/${h.b.applicationId}/keys/${issued.id}/rotate`, {
      method: 'POST',
      headers: h.operator.headers,
    });
    assert.equal(rotated.status, 201);
    const fresh = await readJson(rotated);
    assert.notEqual(fresh.key, issued.key);
    assert.equal(fresh.label, 'ci');
    assert.equal(fresh.credits, 10);
    assert.equal((await mint(issued.key, issued.secret)).status, 401, 'the old key is revoked');
    assert.equal((await mint(fresh.key, fresh.secret)).status, 200);

    const credits = await h.app.request(
      `${H}/applications/${h.b.applicationId}/keys/${fresh.id}/credits`,
      jsonInit('PUT', h.operator.headers, { credits: null }),
    );
    assert.equal(credits.status, 200);
    assert.equal((await readJson(credits)).credits, null);

    const revoke = await h.app.request(`${H}/applications/${h.b.applicationId}/keys/${fresh.id}`, {
      method: 'DELETE',
      headers: h.operator.headers,
    });
    assert.equal(revoke.status, 200);
    assert.equal((await mint(fresh.key, fresh.secret)).status, 401);
    // A key of another application is not found under this one.
    const foreign = await h.app.request(`${H}/applications/${h.a.applicationId}/keys/${issued.id}`, {
      method: 'DELETE',
      headers: h.operator.headers,
    });
    assert.equal(foreign.status, 404);
  });

  it('refuses operator routes to application callers with 403', async () => {
    const res = await h.app.request(`${H}/applications`, { headers: h.a.headers });
    assert.equal(res.status, 403);
  });

  it('rate-limits per application with 429 and Retry-After', async () => {
    let now = 1_000_000;
    const { createRateLimiter } = await import('../src/rate-limiter.ts');
    const limited = await createHarness({
      overrides: { rateLimiter: createRateLimiter({ perSecond: 2, now: () => now }) },
    });
    try {
      const url = `/api/v1/Notification/ChannelConfiguration/All?applicationId=${limited.a.applicationId}`;
      assert.equal((await limited.app.request(url, { headers: limited.a.headers })).status, 200);
      assert.equal((await limited.app.request(url, { headers: limited.a.headers })).status, 200);
      const third = await limited.app.request(url, { headers: limited.a.headers });
      assert.equal(third.status, 429);
      assert.equal(third.headers.get('retry-after'), '1');
      // Another application has its own bucket.
      const other = `/api/v1/Notification/ChannelConfiguration/All?applicationId=${limited.b.applicationId}`;
      assert.equal((await limited.app.request(other, { headers: limited.b.headers })).status, 200);
      now += 1000;
      assert.equal((await limited.app.request(url, { headers: limited.a.headers })).status, 200);
    } finally {
      await limited.close();
    }
  });
});

describe('wrong secrets', () => {
  it('refuses a key after ten wrong secrets in a row without checking more, then lets it in again after a pause', async () => {
    let now = 5_000_000;
    const h = await createHarness({ now: () => now });
    try {
      const mint = (secret: string) =>
        h.app.request('/api/v1/herald/tokens', {
          method: 'POST',
          headers: { 'x-api-key': h.a.key, 'x-api-secret': secret },
        });
      for (let i = 0; i < 10; i++) assert.equal((await mint(`wrong-${i}`)).status, 401);
      const locked = await mint(h.a.secret);
      assert.equal(locked.status, 401, 'even the right secret is refused while the key is locked');
      now += 2000;
      assert.equal((await mint(h.a.secret)).status, 200);
      assert.equal(
        (
          await h.app.request('/api/v1/herald/tokens', {
            method: 'POST',
            headers: { 'x-api-key': h.b.key, 'x-api-secret': h.b.secret },
          })
        ).status,
        200,
        'other keys are not affected',
      );
    } finally {
      await h.close();
    }
  });
});
