// Mutual TLS end to end: real node:https servers on 127.0.0.1 with certificates from this
// package's issuance (and one from @herald/testing's PKI as the foreign CA); undici clients.
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  createMtlsIdentity,
  createMtlsVerifier,
  type IssuedCertificate,
  issueClientCertificate,
  issueServerCertificate,
  type MtlsAuthOptions,
  createWebhookSigner,
  generateWebhookSecret,
  mtlsAuth,
  type PushAuthFailure,
  type PushAuthVariables,
  pushAuth,
} from '@herald/auth';
import { closeServer, createTestPki, listenEphemeral } from '@herald/testing';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { Agent, request } from 'undici';

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
let appCert: IssuedCertificate;
let otherAppCert: IssuedCertificate;
let foreign: { cert: string; key: string };
const servers: Server[] = [];

before(async () => {
  ca = await createCertificateAuthority({ commonName: 'Herald mTLS CA', validDays: 30 });
  serverCert = await issueServerCertificate({ ca, commonName: 'localhost', hosts: ['127.0.0.1'], validDays: 7 });
  appCert = await issueClientCertificate({ ca, commonName: 'app-1', validDays: 7 });
  otherAppCert = await issueClientCertificate({ ca, commonName: 'app-2', validDays: 7 });
  // Same CN, different CA: must be refused as untrusted, not matched by name.
  foreign = await (await createTestPki({ caName: 'Foreign CA' })).issue({ commonName: 'app-1', usage: 'client' });
});
after(async () => {
  for (const s of servers) await closeServer(s);
});

async function startReceiver(options: Omit<MtlsAuthOptions, 'caPem'>): Promise<{ port: number; reasons: string[] }> {
  const reasons: string[] = [];
  const app = new Hono<{ Variables: { clientCertificate: { subject: string; fingerprint256: string } } }>();
  app.use('/hook', mtlsAuth({ caPem: ca.certPem, ...options, onRejected: (r) => reasons.push(r) }));
  app.post('/hook', (c) => c.json(c.var.clientCertificate));
  const verifier = createMtlsVerifier({ caPem: ca.certPem });
  const server = createAdaptorServer({
    fetch: app.fetch,
    createServer: createHttpsServer,
    serverOptions: {
      cert: serverCert.certPem,
      key: serverCert.keyPem,
      minVersion: 'TLSv1.2',
      ...verifier.serverOptions,
    },
  }) as Server;
  servers.push(server);
  return { port: await listenEphemeral(server, '127.0.0.1'), reasons };
}

async function push(port: number, identity?: { cert: string; key: string }) {
  // The client trusts the receiver's CA; certificate verification stays on.
  const dispatcher = new Agent({ connect: { ca: ca.certPem, ...identity } });
  try {
    const res = await request(`https://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}', dispatcher });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  } finally {
    await dispatcher.close();
  }
}

describe('mtlsAuth over real TLS', () => {
  it('accepts a client certificate issued by the CA and reports its subject and fingerprint', async () => {
    const { port } = await startReceiver({});
    const res = await push(
      port,
      createMtlsIdentity({ certPem: appCert.certPem, keyPem: appCert.keyPem, caPem: ca.certPem }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { subject: 'app-1', fingerprint256: appCert.fingerprint256 });
  });

  it('answers 401 (not a TLS alert) when no certificate is presented', async () => {
    const { port, reasons } = await startReceiver({});
    const res = await push(port);
    assert.equal(res.status, 401);
    assert.equal(res.body['status'], 401);
    assert.deepEqual(reasons, ['no_certificate']);
  });

  it('refuses a certificate from another CA even with the same subject', async () => {
    const { port, reasons } = await startReceiver({ allowedSubjects: ['app-1'] });
    const res = await push(port, foreign);
    assert.equal(res.status, 401);
    assert.deepEqual(reasons, ['untrusted']);
  });

  it('refuses a certificate whose EKU is serverAuth only', async () => {
    const { port, reasons } = await startReceiver({});
    const res = await push(port, { cert: serverCert.certPem, key: serverCert.keyPem });
    assert.equal(res.status, 401);
    assert.deepEqual(reasons, ['untrusted']);
  });

  it('enforces a pinned subject', async () => {
    const { port, reasons } = await startReceiver({ allowedSubjects: ['app-1'] });
    assert.equal((await push(port, { cert: appCert.certPem, key: appCert.keyPem })).status, 200);
    assert.equal((await push(port, { cert: otherAppCert.certPem, key: otherAppCert.keyPem })).status, 401);
    assert.deepEqual(reasons, ['subject_not_allowed']);
  });

  it('enforces a pinned fingerprint, given in any common notation', async () => {
    const bare = appCert.fingerprint256.replaceAll(':', '').toLowerCase();
    const { port, reasons } = await startReceiver({ allowedFingerprints256: [bare] });
    assert.equal((await push(port, { cert: appCert.certPem, key: appCert.keyPem })).status, 200);
    assert.equal((await push(port, { cert: otherAppCert.certPem, key: otherAppCert.keyPem })).status, 401);
    assert.deepEqual(reasons, ['fingerprint_not_allowed']);
  });

  it('refuses a plain-HTTP request (no TLS socket at all)', async () => {
    const reasons: string[] = [];
    const app = new Hono();
    app.use(mtlsAuth({ caPem: ca.certPem, onRejected: (r) => reasons.push(r) }));
    app.get('/', (c) => c.text('ok'));
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    servers.push(server);
    const port = await listenEphemeral(server, '127.0.0.1');
    const res = await request(`http://127.0.0.1:${port}/`);
    assert.equal(res.statusCode, 401);
    await res.body.dump();
    assert.deepEqual(reasons, ['no_certificate']);
  });
});

describe('createMtlsVerifier configuration', () => {
  it('exposes the server options and refuses unusable settings', () => {
    const verifier = createMtlsVerifier({ caPem: ca.certPem });
    assert.deepEqual(verifier.serverOptions, { ca: ca.certPem, requestCert: true, rejectUnauthorized: false });
    assert.throws(() => createMtlsVerifier({ caPem: 'nope' }), { code: 'invalid_certificate' });
    assert.throws(() => createMtlsVerifier({ caPem: appCert.certPem }), { code: 'invalid_certificate' });
    assert.throws(() => createMtlsVerifier({ caPem: ca.certPem, allowedSubjects: [] }), { code: 'invalid_option' });
    assert.throws(() => createMtlsVerifier({ caPem: ca.certPem, allowedFingerprints256: ['abc'] }), {
      code: 'invalid_option',
    });
  });
});

describe('pushAuth with mutual TLS and signatures over real TLS', () => {
  it('needs both the client certificate and a valid signature', async () => {
    const whsec = generateWebhookSecret();
    const failures: PushAuthFailure[] = [];
    const app = new Hono<{ Variables: PushAuthVariables }>();
    app.use(
      '/hook',
      pushAuth({ mtls: { caPem: ca.certPem }, signatures: { secrets: [whsec] }, onRejected: (f) => failures.push(f) }),
    );
    app.post('/hook', async (c) => c.json({ push: c.var.push, body: await c.req.text() }));
    const server = createAdaptorServer({
      fetch: app.fetch,
      createServer: createHttpsServer,
      serverOptions: {
        cert: serverCert.certPem,
        key: serverCert.keyPem,
        ...createMtlsVerifier({ caPem: ca.certPem }).serverOptions,
      },
    }) as Server;
    servers.push(server);
    const port = await listenEphemeral(server, '127.0.0.1');

    const body = '{"MessageType":"TaskCompleted"}';
    const signed = createWebhookSigner({ secrets: [whsec] }).sign({
      id: 'msg_tls',
      timestampSeconds: Math.floor(Date.now() / 1000),
      body,
    });
    const send = async (identity: { cert: string; key: string } | undefined, payload: string) => {
      const dispatcher = new Agent({ connect: { ca: ca.certPem, ...identity } });
      try {
        const res = await request(`https://127.0.0.1:${port}/hook`, {
          method: 'POST',
          body: payload,
          headers: signed,
          dispatcher,
        });
        return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
      } finally {
        await dispatcher.close();
      }
    };
    const identity = { cert: appCert.certPem, key: appCert.keyPem };

    const ok = await send(identity, body);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body['body'], body);
    assert.deepEqual((ok.body['push'] as PushAuthVariables['push']).clientCertificate?.subject, 'app-1');
    assert.equal((await send(identity, `${body} `)).status, 401);
    assert.equal((await send(undefined, body)).status, 401);
    assert.deepEqual(failures, [
      { strategy: 'signature', reason: 'no_matching_signature' },
      { strategy: 'mtls', reason: 'no_certificate' },
    ]);
  });
});
