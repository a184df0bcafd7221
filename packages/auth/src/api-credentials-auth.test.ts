import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { type ApiAuthVariables, apiCredentialsAuth, type StoredApiKey } from './api-credentials-auth.ts';
import { createApiSecretCache, generateApiCredentials, hashApiSecret } from './api-credentials.ts';
import { createJwtIssuer, createJwtVerifier } from './jwt.ts';

const NOW = 1_760_000_000_000;
const SECRET = randomBytes(32);
const base = { issuer: 'https://herald.test', audience: 'herald-api' } as const;
const issuer = createJwtIssuer({ secret: SECRET, algorithm: 'HS256', ...base, ttlSeconds: 600, now: () => NOW });
const verifier = createJwtVerifier({ secret: SECRET, algorithms: ['HS256'], ...base, now: () => NOW });

describe('apiCredentialsAuth', () => {
  const creds = generateApiCredentials();
  const keys = new Map<string, StoredApiKey>();
  const reasons: string[] = [];
  let app: Hono<{ Variables: ApiAuthVariables }>;

  before(async () => {
    keys.set(creds.key, { applicationId: 'app-1', secretHash: await hashApiSecret(creds.secret) });
    app = new Hono<{ Variables: ApiAuthVariables }>();
    app.use(
      '/api/*',
      apiCredentialsAuth({
        jwt: verifier,
        findApiKey: async (key) => keys.get(key) ?? null,
        cache: createApiSecretCache({ maxEntries: 100, ttlMs: 60_000 }),
        onRejected: (r) => reasons.push(r),
      }),
    );
    app.get('/api/who', (c) => c.json({ applicationId: c.var.auth.applicationId, role: c.var.auth.role }));
  });

  const call = async (headers: Record<string, string>) => {
    const res = await app.request('/api/who', { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const bearer = async (input: Parameters<typeof issuer.issue>[0]) => `Bearer ${await issuer.issue(input)}`;

  it('passes with a valid token and the matching key and secret', async () => {
    const headers = {
      authorization: await bearer({ applicationId: 'app-1' }),
      'x-api-key': creds.key,
      'x-api-secret': creds.secret,
    };
    assert.deepEqual(await call(headers), { status: 200, body: { applicationId: 'app-1', role: 'application' } });
    // Second time through the cache: same answer.
    assert.deepEqual(await call(headers), { status: 200, body: { applicationId: 'app-1', role: 'application' } });
  });

  it('lets an operator token use any application key', async () => {
    const headers = {
      authorization: await bearer({ role: 'operator' }),
      'x-api-key': creds.key,
      'x-api-secret': creds.secret,
    };
    assert.deepEqual(await call(headers), { status: 200, body: { applicationId: 'app-1', role: 'operator' } });
  });

  it('refuses each missing or wrong part with the documents 401 body', async () => {
    reasons.length = 0;
    const good = await bearer({ applicationId: 'app-1' });
    const cases: Record<string, string>[] = [
      { 'x-api-key': creds.key, 'x-api-secret': creds.secret },
      { authorization: good, 'x-api-secret': creds.secret },
      { authorization: good, 'x-api-key': 'hk_unknown', 'x-api-secret': creds.secret },
      { authorization: good, 'x-api-key': creds.key, 'x-api-secret': 'hs_wrong' },
      { authorization: await bearer({ applicationId: 'app-2' }), 'x-api-key': creds.key, 'x-api-secret': creds.secret },
    ];
    for (const headers of cases) {
      const res = await call(headers);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body['errors'], {
        'business:': ['Token is missing, invalid or ApplicationId is not found in the token.'],
      });
    }
    assert.deepEqual(reasons, [
      'missing',
      'missing_api_key',
      'unknown_api_key',
      'wrong_api_secret',
      'application_mismatch',
    ]);
  });
});
