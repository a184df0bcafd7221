import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { CompactSign, SignJWT, UnsecuredJWT } from 'jose';
import { AuthConfigError } from './auth-config-error.ts';
import { createJwtIssuer, createJwtVerifier, type JwtClaims, jwtAuth } from './jwt.ts';

const NOW = 1_760_000_000_000;
const NOW_S = NOW / 1000;
const SECRET = randomBytes(32);
const base = { issuer: 'https://herald.test', audience: 'herald-api' } as const;
const pem = (k: { export(o: { format: 'pem'; type: 'pkcs8' | 'spki' }): string | Buffer }, type: 'pkcs8' | 'spki') =>
  k.export({ format: 'pem', type }).toString();

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPrivate = pem(rsa.privateKey, 'pkcs8');
const rsaPublic = pem(rsa.publicKey, 'spki');

function hsVerifier(now = NOW, extra: { clockToleranceSeconds?: number } = {}) {
  return createJwtVerifier({ secret: SECRET, algorithms: ['HS256'], ...base, now: () => now, ...extra });
}
const hsIssuer = createJwtIssuer({ secret: SECRET, algorithm: 'HS256', ...base, ttlSeconds: 600, now: () => NOW });

describe('JWT issue and verify', () => {
  it('round-trips an application token with the ApplicationId claim', async () => {
    const token = await hsIssuer.issue({ applicationId: 'app-1' });
    const result = await hsVerifier().verify(token);
    assert.deepEqual(result, {
      ok: true,
      claims: { applicationId: 'app-1', role: 'application', sub: 'app-1', exp: NOW_S + 600 } satisfies JwtClaims,
    });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    assert.equal(payload.ApplicationId, 'app-1');
  });

  it('issues operator tokens without an application id', async () => {
    const token = await hsIssuer.issue({ role: 'operator', subject: 'ops@example.com' });
    assert.deepEqual(await hsVerifier().verify(token), {
      ok: true,
      claims: { applicationId: null, role: 'operator', sub: 'ops@example.com', exp: NOW_S + 600 },
    });
    await assert.rejects(hsIssuer.issue({}), TypeError);
  });

  it('works with RS256, PS256, ES256 and EdDSA keys', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const cases = [
      { algorithm: 'RS256', priv: rsaPrivate, pub: rsaPublic },
      { algorithm: 'PS256', priv: rsaPrivate, pub: rsaPublic },
      { algorithm: 'ES256', priv: pem(ec.privateKey, 'pkcs8'), pub: pem(ec.publicKey, 'spki') },
      { algorithm: 'EdDSA', priv: pem(ed.privateKey, 'pkcs8'), pub: pem(ed.publicKey, 'spki') },
    ] as const;
    for (const c of cases) {
      const issuer = createJwtIssuer({
        privateKeyPem: c.priv,
        algorithm: c.algorithm,
        ...base,
        ttlSeconds: 60,
        now: () => NOW,
      });
      const verifier = createJwtVerifier({ publicKeyPem: c.pub, algorithms: [c.algorithm], ...base, now: () => NOW });
      const result = await verifier.verify(await issuer.issue({ applicationId: 'app-x' }));
      assert.equal(result.ok, true, c.algorithm);
    }
  });

  it('accepts applicationId and application_id claim spellings', async () => {
    for (const claim of ['applicationId', 'application_id']) {
      const token = await new SignJWT({ [claim]: 'app-9' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(base.issuer)
        .setAudience(base.audience)
        .setExpirationTime(NOW_S + 60)
        .sign(SECRET);
      const result = await hsVerifier().verify(token);
      assert.ok(result.ok && result.claims.applicationId === 'app-9', claim);
    }
  });
});

describe('JWT failure reasons', () => {
  const sign = (claims: Record<string, unknown>, build?: (j: SignJWT) => SignJWT, key: Uint8Array = SECRET) => {
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(base.issuer)
      .setAudience(base.audience);
    jwt = build ? build(jwt) : jwt.setExpirationTime(NOW_S + 60);
    return jwt.sign(key);
  };

  it('missing and malformed', async () => {
    const v = hsVerifier();
    assert.deepEqual(await v.verify(undefined), { ok: false, reason: 'missing' });
    assert.deepEqual(await v.verify(''), { ok: false, reason: 'missing' });
    assert.deepEqual(await v.verify('not-a-jwt'), { ok: false, reason: 'malformed' });
    assert.deepEqual(await v.verify('a.b.c'), { ok: false, reason: 'malformed' });
    assert.deepEqual(await v.verify('x'.repeat(20_000)), { ok: false, reason: 'malformed' });
    // Correctly signed, but the payload is not a JSON claims set.
    const notJson = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(SECRET);
    assert.deepEqual(await v.verify(notJson), { ok: false, reason: 'malformed' });
  });

  it('bad_signature: another secret, or a tampered payload', async () => {
    const v = hsVerifier();
    assert.deepEqual(await v.verify(await sign({ ApplicationId: 'a' }, undefined, randomBytes(32))), {
      ok: false,
      reason: 'bad_signature',
    });
    const token = await hsIssuer.issue({ applicationId: 'app-1' });
    const [h, , s] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ApplicationId: 'app-2', exp: NOW_S + 60, iss: base.issuer, aud: base.audience }),
    ).toString('base64url');
    assert.deepEqual(await v.verify(`${h}.${forged}.${s}`), { ok: false, reason: 'bad_signature' });
  });

  it('expired and not_yet_valid, with the clock tolerance honoured', async () => {
    const token = await hsIssuer.issue({ applicationId: 'app-1' }); // exp = NOW + 600 s, nbf = NOW
    assert.equal((await hsVerifier(NOW + 629_000).verify(token)).ok, true, 'within 30 s tolerance');
    assert.deepEqual(await hsVerifier(NOW + 631_000).verify(token), { ok: false, reason: 'expired' });
    assert.deepEqual(await hsVerifier(NOW + 601_000, { clockToleranceSeconds: 0 }).verify(token), {
      ok: false,
      reason: 'expired',
    });
    assert.equal((await hsVerifier(NOW - 29_000).verify(token)).ok, true);
    assert.deepEqual(await hsVerifier(NOW - 31_000).verify(token), { ok: false, reason: 'not_yet_valid' });
  });

  it('wrong_issuer and wrong_audience', async () => {
    const v = hsVerifier();
    const other = (claims: { issuer?: string; audience?: string }) =>
      createJwtIssuer({ secret: SECRET, algorithm: 'HS256', ...base, ...claims, ttlSeconds: 60, now: () => NOW }).issue(
        {
          applicationId: 'a',
        },
      );
    assert.deepEqual(await v.verify(await other({ issuer: 'https://evil.test' })), {
      ok: false,
      reason: 'wrong_issuer',
    });
    assert.deepEqual(await v.verify(await other({ audience: 'other-api' })), { ok: false, reason: 'wrong_audience' });
  });

  it('missing_exp and missing_application_id', async () => {
    const v = hsVerifier();
    assert.deepEqual(await v.verify(await sign({ ApplicationId: 'a' }, (j) => j)), {
      ok: false,
      reason: 'missing_exp',
    });
    assert.deepEqual(await v.verify(await sign({})), { ok: false, reason: 'missing_application_id' });
    assert.deepEqual(await v.verify(await sign({ ApplicationId: '' })), {
      ok: false,
      reason: 'missing_application_id',
    });
    assert.deepEqual(await v.verify(await sign({ ApplicationId: 42 })), {
      ok: false,
      reason: 'missing_application_id',
    });
    // An unknown role grants nothing extra: it is an application token and needs the claim.
    assert.deepEqual(await v.verify(await sign({ role: 'admin' })), { ok: false, reason: 'missing_application_id' });
  });

  it('algorithm_not_allowed: another HMAC size, and alg none', async () => {
    const v = hsVerifier();
    const hs512 = await new SignJWT({ ApplicationId: 'a' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .setExpirationTime(NOW_S + 60)
      .sign(randomBytes(64));
    assert.deepEqual(await v.verify(hs512), { ok: false, reason: 'algorithm_not_allowed' });
    const none = new UnsecuredJWT({ ApplicationId: 'a' })
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .setExpirationTime(NOW_S + 60)
      .encode();
    assert.deepEqual(await v.verify(none), { ok: false, reason: 'algorithm_not_allowed' });
  });

  it('refuses alg confusion: an HS256 token signed with the RSA public key as secret', async () => {
    const confused = await new SignJWT({ ApplicationId: 'a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(base.issuer)
      .setAudience(base.audience)
      .setExpirationTime(NOW_S + 60)
      .sign(new TextEncoder().encode(rsaPublic));
    const v = createJwtVerifier({ publicKeyPem: rsaPublic, algorithms: ['RS256'], ...base, now: () => NOW });
    assert.deepEqual(await v.verify(confused), { ok: false, reason: 'algorithm_not_allowed' });
    // And a verifier cannot even be built to allow HS256 next to an RSA key.
    assert.throws(
      () => createJwtVerifier({ publicKeyPem: rsaPublic, algorithms: ['RS256', 'HS256'], ...base }),
      (e: unknown) => e instanceof AuthConfigError && e.code === 'invalid_algorithm',
    );
  });
});

describe('JWT configuration', () => {
  const code = (c: string) => (e: unknown) => e instanceof AuthConfigError && e.code === c;
  it('enforces minimum key strength', () => {
    assert.throws(
      () => createJwtVerifier({ secret: randomBytes(31), algorithms: ['HS256'], ...base }),
      code('invalid_secret'),
    );
    assert.throws(() => createJwtVerifier({ secret: 'short', algorithms: ['HS256'], ...base }), code('invalid_secret'));
    assert.throws(
      () => createJwtIssuer({ secret: randomBytes(32), algorithm: 'HS512', ...base, ttlSeconds: 60 }),
      code('invalid_secret'),
    );
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(
      () => createJwtVerifier({ publicKeyPem: pem(weak.publicKey, 'spki'), algorithms: ['RS256'], ...base }),
      code('invalid_key'),
    );
    assert.throws(
      () =>
        createJwtIssuer({ privateKeyPem: pem(weak.privateKey, 'pkcs8'), algorithm: 'RS256', ...base, ttlSeconds: 60 }),
      code('invalid_key'),
    );
  });

  it('refuses none, empty allowlists, mismatched keys and loose tolerances', () => {
    const anyAlgorithms = (list: unknown) => list as ['HS256'];
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, algorithms: anyAlgorithms(['none']), ...base }),
      code('invalid_algorithm'),
    );
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, algorithms: anyAlgorithms([]), ...base }),
      code('invalid_algorithm'),
    );
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, algorithms: ['RS256'], ...base }),
      code('invalid_algorithm'),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    assert.throws(
      () => createJwtVerifier({ publicKeyPem: pem(ec.publicKey, 'spki'), algorithms: ['ES256'], ...base }),
      code('invalid_algorithm'),
    );
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, algorithms: ['HS256'], ...base, clockToleranceSeconds: 61 }),
      code('invalid_option'),
    );
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, publicKeyPem: rsaPublic, algorithms: ['HS256'], ...base }),
      code('invalid_key'),
    );
    assert.throws(
      () => createJwtVerifier({ jwksUrl: 'http://example.test/jwks', algorithms: ['RS256'], ...base }),
      code('invalid_option'),
    );
    assert.throws(
      () => createJwtVerifier({ secret: SECRET, algorithms: ['HS256'], ...base, issuer: '' }),
      code('invalid_option'),
    );
    assert.throws(
      () => createJwtIssuer({ secret: SECRET, algorithm: 'HS256', ...base, ttlSeconds: 0 }),
      code('invalid_option'),
    );
  });
});

describe('jwtAuth middleware', () => {
  let app: Hono<{ Variables: { jwtClaims: JwtClaims } }>;
  const reasons: string[] = [];
  before(() => {
    app = new Hono<{ Variables: { jwtClaims: JwtClaims } }>();
    app.use('/api/*', jwtAuth({ verifier: hsVerifier(), onRejected: (r) => reasons.push(r) }));
    app.get('/api/me', (c) => c.json({ applicationId: c.var.jwtClaims.applicationId }));
  });

  it('passes a Bearer token and exposes the claims', async () => {
    const token = await hsIssuer.issue({ applicationId: 'app-1' });
    const res = await app.request('/api/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { applicationId: 'app-1' });
  });

  it("answers the documents' 401 body when the token is missing or invalid", async () => {
    reasons.length = 0;
    const traceparent = '00-fc878634896257c5991ac5399ab6c46c-416e4be3606fdbaa-00';
    const missing = await app.request('/api/me', { headers: { traceparent } });
    const bad = await app.request('/api/me', { headers: { authorization: 'Bearer a.b.c', traceparent } });
    const basic = await app.request('/api/me', { headers: { authorization: 'Basic dXNlcjpwYXNz', traceparent } });
    for (const res of [missing, bad, basic]) {
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const body = (await res.json()) as { extensions: { traceId: string } };
      // The caller's trace id is kept; the span is this server's own.
      assert.match(body.extensions.traceId, /^00-fc878634896257c5991ac5399ab6c46c-[0-9a-f]{16}-00$/);
      assert.deepEqual(
        { ...body, extensions: { traceId: traceparent } },
        {
          errors: { 'business:': ['Token is missing, invalid or ApplicationId is not found in the token.'] },
          type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
          title: 'One or more errors occurred.',
          status: 401,
          detail: null,
          instance: null,
          extensions: { traceId: traceparent },
        },
      );
    }
    assert.deepEqual(reasons, ['missing', 'malformed', 'missing']);
  });
});
