// JWT verification against a JWKS served over real HTTPS on 127.0.0.1 (generated CA, verification on).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { createJwtIssuer, createJwtVerifier, JwksUnavailableError } from '@herald/auth';
import { closeServer, createTestPki, getFreePort, listenEphemeral, type TestPki } from '@herald/testing';
import { exportJWK } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

const base = { issuer: 'https://herald.test', audience: 'herald-api' } as const;
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privatePem = (k: typeof signing.privateKey) => k.export({ format: 'pem', type: 'pkcs8' }).toString();

describe('JWT verification with a remote JWKS', () => {
  let pki: TestPki;
  let server: ReturnType<typeof createServer>;
  let port: number;
  let agent: Agent;
  const jwksFetch = ((url: string, init: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(url, { ...init, dispatcher: agent })) as unknown as NonNullable<
    Parameters<typeof createJwtVerifier>[0]['jwksFetch']
  >;

  before(async () => {
    pki = await createTestPki();
    const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    port = await listenEphemeral(server, '127.0.0.1');
    agent = new Agent({ connect: { ca: pki.ca.cert } });
  });
  after(async () => {
    await agent.close();
    await closeServer(server);
  });

  const issuerWith = (key: typeof signing.privateKey) =>
    createJwtIssuer({ privateKeyPem: privatePem(key), algorithm: 'ES256', ...base, ttlSeconds: 60 });

  it('verifies a token signed by a key the JWKS publishes', async () => {
    const verifier = createJwtVerifier({
      jwksUrl: `https://127.0.0.1:${port}/jwks`,
      jwksFetch,
      algorithms: ['ES256'],
      ...base,
    });
    const result = await verifier.verify(await issuerWith(signing.privateKey).issue({ applicationId: 'app-j' }));
    assert.ok(result.ok);
    assert.equal(result.claims.applicationId, 'app-j');
  });

  it('refuses a token signed by a key the JWKS does not hold', async () => {
    const verifier = createJwtVerifier({
      jwksUrl: `https://127.0.0.1:${port}/jwks`,
      jwksFetch,
      algorithms: ['ES256'],
      ...base,
    });
    const token = await issuerWith(stranger.privateKey).issue({ applicationId: 'app-j' });
    assert.deepEqual(await verifier.verify(token), { ok: false, reason: 'bad_signature' });
  });

  it('throws JwksUnavailableError when the JWKS endpoint cannot be reached', async () => {
    const deadPort = await getFreePort();
    const verifier = createJwtVerifier({
      jwksUrl: `https://127.0.0.1:${deadPort}/jwks`,
      jwksFetch,
      algorithms: ['ES256'],
      ...base,
    });
    const token = await issuerWith(signing.privateKey).issue({ applicationId: 'app-j' });
    await assert.rejects(
      verifier.verify(token),
      (e: unknown) => e instanceof JwksUnavailableError && e.code === 'jwks_unavailable',
    );
  });

  it('does not trust a JWKS server whose certificate the client does not trust', async () => {
    // Default fetch: the generated CA is not trusted, so the TLS handshake fails.
    const verifier = createJwtVerifier({ jwksUrl: `https://127.0.0.1:${port}/jwks`, algorithms: ['ES256'], ...base });
    const token = await issuerWith(signing.privateKey).issue({ applicationId: 'app-j' });
    await assert.rejects(verifier.verify(token), JwksUnavailableError);
  });
});
