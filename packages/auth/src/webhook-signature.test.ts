import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { AuthConfigError } from './auth-config-error.ts';
import {
  createWebhookSigner,
  createWebhookVerifier,
  generateWebhookKeyPair,
  generateWebhookSecret,
  webhookSignatureAuth,
} from './webhook-signature.ts';

const NOW_MS = 1_750_000_000_000;
const NOW_S = NOW_MS / 1000;
const BODY = '{"MessageType":"ImageCheckingNotification","ImageId":"abc"}';

describe('generateWebhookSecret', () => {
  it('makes distinct whsec_ secrets of the requested size', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a.slice(6), 'base64').length, 32);
    assert.equal(Buffer.from(generateWebhookSecret(24).slice(6), 'base64').length, 24);
    assert.throws(() => generateWebhookSecret(8), AuthConfigError);
  });
});

describe('webhook signatures', () => {
  const secret = generateWebhookSecret();
  const signer = createWebhookSigner({ secrets: [secret] });
  const verifier = createWebhookVerifier({ secrets: [secret], now: () => NOW_MS });

  it('signs per the spec and verifies its own signature', () => {
    const headers = signer.sign({ id: 'msg_1', timestampSeconds: NOW_S, body: BODY });
    assert.equal(headers['webhook-id'], 'msg_1');
    assert.equal(headers['webhook-timestamp'], String(NOW_S));
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(verifier.verify(headers, BODY), { ok: true, id: 'msg_1', timestampSeconds: NOW_S });
    assert.deepEqual(verifier.verify(new Headers({ ...headers }), new TextEncoder().encode(BODY)), {
      ok: true,
      id: 'msg_1',
      timestampSeconds: NOW_S,
    });
  });

  it('refuses a tampered body, id or timestamp', () => {
    const headers = signer.sign({ id: 'msg_1', timestampSeconds: NOW_S, body: BODY });
    const fail = { ok: false, reason: 'no_matching_signature' };
    assert.deepEqual(verifier.verify(headers, `${BODY} `), fail);
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-id': 'msg_2' }, BODY), fail);
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-timestamp': String(NOW_S + 1) }, BODY), fail);
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-signature': 'v1,AAAA' }, BODY), fail);
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-signature': 'v1,not base64!' }, BODY), fail);
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-signature': 'garbage' }, BODY), fail);
    const other = createWebhookSigner({ secrets: [generateWebhookSecret()] });
    assert.deepEqual(verifier.verify(other.sign({ id: 'msg_1', timestampSeconds: NOW_S, body: BODY }), BODY), fail);
  });

  it('reports missing headers and bad or stale timestamps', () => {
    const headers = signer.sign({ id: 'msg_1', timestampSeconds: NOW_S, body: BODY });
    const { 'webhook-signature': _s, ...noSignature } = headers;
    assert.deepEqual(verifier.verify(noSignature, BODY), { ok: false, reason: 'missing_headers' });
    assert.deepEqual(verifier.verify({}, BODY), { ok: false, reason: 'missing_headers' });
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-timestamp': '12.5' }, BODY), {
      ok: false,
      reason: 'invalid_timestamp',
    });
    assert.deepEqual(verifier.verify({ ...headers, 'webhook-timestamp': 'soon' }, BODY), {
      ok: false,
      reason: 'invalid_timestamp',
    });
    const at = (t: number) => signer.sign({ id: 'msg_1', timestampSeconds: t, body: BODY });
    assert.equal(verifier.verify(at(NOW_S - 300), BODY).ok, true);
    assert.deepEqual(verifier.verify(at(NOW_S - 301), BODY), { ok: false, reason: 'timestamp_too_old' });
    assert.equal(verifier.verify(at(NOW_S + 300), BODY).ok, true);
    assert.deepEqual(verifier.verify(at(NOW_S + 301), BODY), { ok: false, reason: 'timestamp_too_new' });
    const strict = createWebhookVerifier({ secrets: [secret], toleranceSeconds: 10, now: () => NOW_MS });
    assert.deepEqual(strict.verify(at(NOW_S - 11), BODY), { ok: false, reason: 'timestamp_too_old' });
  });

  it('carries one signature per secret during a rotation, and either verifies', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const rotating = createWebhookSigner({ secrets: [oldSecret, newSecret] });
    const headers = rotating.sign({ id: 'msg_r', timestampSeconds: NOW_S, body: BODY });
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    for (const s of [oldSecret, newSecret]) {
      assert.equal(createWebhookVerifier({ secrets: [s], now: () => NOW_MS }).verify(headers, BODY).ok, true);
    }
    // A receiver still on the old secret accepts a push signed with the new one only when it knows both.
    const onlyNew = createWebhookSigner({ secrets: [newSecret] }).sign({
      id: 'm',
      timestampSeconds: NOW_S,
      body: BODY,
    });
    assert.equal(createWebhookVerifier({ secrets: [oldSecret], now: () => NOW_MS }).verify(onlyNew, BODY).ok, false);
    assert.equal(
      createWebhookVerifier({ secrets: [oldSecret, newSecret], now: () => NOW_MS }).verify(onlyNew, BODY).ok,
      true,
    );
  });

  it('signs and verifies ed25519 (v1a) with whsk_/whpk_ and PEM keys', () => {
    const pair = generateWebhookKeyPair();
    assert.match(pair.privateKey, /^whsk_/);
    assert.match(pair.publicKey, /^whpk_/);
    const asym = createWebhookSigner({ secrets: [], ed25519PrivateKeys: [pair.privateKey] });
    const headers = asym.sign({ id: 'msg_a', timestampSeconds: NOW_S, body: BODY });
    assert.match(headers['webhook-signature'], /^v1a,/);
    const v = createWebhookVerifier({ ed25519PublicKeys: [pair.publicKey], now: () => NOW_MS });
    assert.equal(v.verify(headers, BODY).ok, true);
    assert.deepEqual(v.verify(headers, `${BODY}x`), { ok: false, reason: 'no_matching_signature' });

    const pem = generateKeyPairSync('ed25519');
    const pemSigner = createWebhookSigner({
      secrets: [secret],
      ed25519PrivateKeys: [pem.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    });
    const both = pemSigner.sign({ id: 'msg_b', timestampSeconds: NOW_S, body: BODY });
    assert.equal(both['webhook-signature'].split(' ').length, 2);
    const pemVerifier = createWebhookVerifier({
      ed25519PublicKeys: [pem.publicKey.export({ format: 'pem', type: 'spki' }).toString()],
      now: () => NOW_MS,
    });
    assert.equal(pemVerifier.verify(both, BODY).ok, true);
    assert.equal(v.verify(both, BODY).ok, false);
  });

  it('refuses bad configuration at construction', () => {
    const code = (fn: () => unknown, c: string) =>
      assert.throws(fn, (e: unknown) => e instanceof AuthConfigError && e.code === c);
    code(() => createWebhookSigner({ secrets: [] }), 'invalid_secret');
    code(() => createWebhookSigner({ secrets: ['whsec_'] }), 'invalid_secret');
    code(() => createWebhookSigner({ secrets: ['whsec_c2hvcnQ='] }), 'invalid_secret');
    code(() => createWebhookSigner({ secrets: ['whsec_***'] }), 'invalid_secret');
    code(() => createWebhookVerifier({}), 'invalid_secret');
    code(() => createWebhookVerifier({ secrets: [secret], toleranceSeconds: 0 }), 'invalid_option');
    code(() => createWebhookVerifier({ ed25519PublicKeys: ['whpk_AAAA'] }), 'invalid_key');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    code(() => createWebhookVerifier({ ed25519PublicKeys: [rsa.publicKey] }), 'invalid_key');
    code(() => createWebhookSigner({ secrets: [], ed25519PrivateKeys: [rsa.privateKey] }), 'invalid_key');
  });
});

describe('Standard Webhooks interop', () => {
  it('what Herald signs verifies with the standardwebhooks and svix packages', () => {
    const secret = generateWebhookSecret();
    const headers = createWebhookSigner({ secrets: [secret] }).sign({
      id: 'msg_interop',
      timestampSeconds: Math.floor(Date.now() / 1000),
      body: BODY,
    });
    assert.deepEqual(new StandardWebhook(secret).verify(BODY, { ...headers }), JSON.parse(BODY));
    new SvixWebhook(secret).verify(BODY, { ...headers });
    // And a tampered body fails there too, so the checks above are not vacuous.
    assert.throws(() => new StandardWebhook(secret).verify(`${BODY} `, { ...headers }));
    assert.throws(() => new SvixWebhook(secret).verify(`${BODY} `, { ...headers }));
  });

  it('a rotation header with two signatures verifies with either secret in the libraries', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    const headers = createWebhookSigner({ secrets: [a, b] }).sign({
      id: 'msg_rot',
      timestampSeconds: Math.floor(Date.now() / 1000),
      body: BODY,
    });
    new StandardWebhook(a).verify(BODY, { ...headers });
    new StandardWebhook(b).verify(BODY, { ...headers });
  });

  it('Herald verifies what standardwebhooks and svix sign, including svix-* header names', () => {
    const secret = generateWebhookSecret();
    const verifier = createWebhookVerifier({ secrets: [secret] });
    const now = new Date();
    const ts = String(Math.floor(now.getTime() / 1000));

    const std = new StandardWebhook(secret).sign('msg_std', now, BODY);
    const stdHeaders = { 'webhook-id': 'msg_std', 'webhook-timestamp': ts, 'webhook-signature': std };
    assert.deepEqual(verifier.verify(stdHeaders, BODY), { ok: true, id: 'msg_std', timestampSeconds: Number(ts) });

    const svix = new SvixWebhook(secret).sign('msg_svix', now, BODY);
    const svixHeaders = { 'svix-id': 'msg_svix', 'svix-timestamp': ts, 'svix-signature': svix };
    assert.equal(verifier.verify(svixHeaders, BODY).ok, true);
    assert.deepEqual(verifier.verify(svixHeaders, `${BODY}!`), { ok: false, reason: 'no_matching_signature' });
  });
});

describe('webhookSignatureAuth middleware', () => {
  const secret = generateWebhookSecret();
  const signer = createWebhookSigner({ secrets: [secret] });

  function createApp(reasons: string[]) {
    const app = new Hono<{ Variables: { webhook: { id: string; timestampSeconds: number } } }>();
    app.use(
      '/hook',
      webhookSignatureAuth({
        secrets: [secret],
        now: () => NOW_MS,
        maxBodyBytes: 1024,
        onRejected: (r) => reasons.push(r),
      }),
    );
    // The handler still reads the body after the middleware consumed it.
    app.post('/hook', async (c) => c.json({ id: c.var.webhook.id, body: await c.req.json() }));
    return app;
  }

  it('passes a signed push and leaves the body readable', async () => {
    const app = createApp([]);
    const headers = signer.sign({ id: 'msg_m', timestampSeconds: NOW_S, body: BODY });
    const res = await app.request('/hook', { method: 'POST', headers, body: BODY });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 'msg_m', body: JSON.parse(BODY) });
  });

  it('answers the same 401 body for a stale timestamp and a tampered body', async () => {
    const reasons: string[] = [];
    const app = createApp(reasons);
    const stale = signer.sign({ id: 'msg_m', timestampSeconds: NOW_S - 3600, body: BODY });
    const fresh = signer.sign({ id: 'msg_m', timestampSeconds: NOW_S, body: BODY });
    const a = await app.request('/hook', { method: 'POST', headers: stale, body: BODY });
    const b = await app.request('/hook', { method: 'POST', headers: fresh, body: `${BODY} ` });
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    const bodyA = (await a.json()) as { extensions: { traceId?: string } };
    const bodyB = (await b.json()) as { extensions: { traceId?: string } };
    delete bodyA.extensions.traceId;
    delete bodyB.extensions.traceId;
    assert.deepEqual(bodyA, bodyB);
    assert.deepEqual(reasons, ['timestamp_too_old', 'no_matching_signature']);
  });

  it('refuses an oversized body with 413 before verifying', async () => {
    const reasons: string[] = [];
    const app = createApp(reasons);
    const big = 'x'.repeat(2048);
    const headers = signer.sign({ id: 'msg_big', timestampSeconds: NOW_S, body: big });
    const res = await app.request('/hook', { method: 'POST', headers, body: big });
    assert.equal(res.status, 413);
    assert.deepEqual(reasons, []);
  });

  it('stops a streamed body without Content-Length at the cap', async () => {
    const reasons: string[] = [];
    const app = createApp(reasons);
    const chunk = new TextEncoder().encode('x'.repeat(512));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Bounded: at most 8 chunks (4 KiB) are ever offered.
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const headers = signer.sign({ id: 'msg_stream', timestampSeconds: NOW_S, body: 'irrelevant' });
    const res = await app.request('/hook', { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 413);
    assert.deepEqual(reasons, []);
  });
});
