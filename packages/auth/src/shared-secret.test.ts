import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { AuthConfigError } from './auth-config-error.ts';
import { createSharedSecretSender, createSharedSecretVerifier, sharedSecretAuth } from './shared-secret.ts';

const SECRET = 'a-long-enough-shared-secret-1';
const NEXT_SECRET = 'the-next-shared-secret-after-rotation';

describe('shared secret', () => {
  it('sender headers pass the verifier, whatever the header case', () => {
    const sender = createSharedSecretSender({ headerName: 'X-Herald-Secret', secret: SECRET });
    assert.deepEqual(sender.headers(), { 'x-herald-secret': SECRET });
    const verifier = createSharedSecretVerifier({ headerName: 'x-herald-secret', secrets: [SECRET] });
    assert.deepEqual(verifier.verify(new Headers(sender.headers())), { ok: true });
    assert.deepEqual(verifier.verify({ 'X-HERALD-SECRET': SECRET }), { ok: true });
  });

  it('accepts any configured secret during a rotation', () => {
    const verifier = createSharedSecretVerifier({ headerName: 'x-s', secrets: [SECRET, NEXT_SECRET] });
    assert.deepEqual(verifier.verify({ 'x-s': SECRET }), { ok: true });
    assert.deepEqual(verifier.verify({ 'x-s': NEXT_SECRET }), { ok: true });
  });

  it('reports missing and mismatch, including values of another length', () => {
    const verifier = createSharedSecretVerifier({ headerName: 'x-s', secrets: [SECRET] });
    assert.deepEqual(verifier.verify({}), { ok: false, reason: 'missing' });
    assert.deepEqual(verifier.verify({ 'x-s': '' }), { ok: false, reason: 'missing' });
    assert.deepEqual(verifier.verify({ 'x-s': undefined }), { ok: false, reason: 'missing' });
    assert.deepEqual(verifier.verify({ 'x-s': `${SECRET}x` }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifier.verify({ 'x-s': 'short' }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifier.verify({ 'x-s': SECRET.toUpperCase() }), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifier.verify({ 'x-s': 'x'.repeat(100_000) }), { ok: false, reason: 'mismatch' });
    // Two header lines are joined; the result is not the secret.
    assert.deepEqual(verifier.verify({ 'x-s': [SECRET, SECRET] }), { ok: false, reason: 'mismatch' });
  });

  it('refuses bad configuration at construction', () => {
    const expectCode = (fn: () => unknown, code: string) =>
      assert.throws(fn, (e: unknown) => e instanceof AuthConfigError && e.code === code);
    expectCode(() => createSharedSecretSender({ headerName: 'x-s', secret: '' }), 'invalid_secret');
    expectCode(() => createSharedSecretSender({ headerName: 'x-s', secret: 'too-short' }), 'invalid_secret');
    expectCode(() => createSharedSecretSender({ headerName: 'x-s', secret: `${SECRET}\r\nx: y` }), 'invalid_secret');
    expectCode(() => createSharedSecretSender({ headerName: 'bad header', secret: SECRET }), 'invalid_header_name');
    expectCode(() => createSharedSecretVerifier({ headerName: 'x-s', secrets: [] }), 'invalid_secret');
    expectCode(() => createSharedSecretVerifier({ headerName: 'x-s', secrets: [SECRET, 'short'] }), 'invalid_secret');
  });

  it('error messages never contain the secret', () => {
    const secret = 'sneaky secret with a space ';
    try {
      createSharedSecretSender({ headerName: 'x-s', secret });
      assert.fail('expected a throw');
    } catch (error) {
      assert.ok(error instanceof AuthConfigError);
      assert.ok(!error.message.includes(secret.trim()));
    }
  });

  it('middleware answers 401 with the same problem body for missing and wrong secrets', async () => {
    const reasons: string[] = [];
    const app = new Hono();
    app.use('/hook', sharedSecretAuth({ headerName: 'x-s', secrets: [SECRET], onRejected: (r) => reasons.push(r) }));
    app.post('/hook', (c) => c.text('delivered'));

    const good = await app.request('/hook', { method: 'POST', headers: { 'x-s': SECRET } });
    assert.equal(good.status, 200);
    assert.equal(await good.text(), 'delivered');

    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const missing = await app.request('/hook', { method: 'POST', headers: { traceparent } });
    const wrong = await app.request('/hook', { method: 'POST', headers: { 'x-s': 'wrong', traceparent } });
    assert.equal(missing.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(missing.headers.get('content-type'), 'application/problem+json');
    const missingBody = (await missing.json()) as { status: number; extensions: { traceId: string } };
    const wrongBody = (await wrong.json()) as { status: number; extensions: { traceId: string } };
    // Same body whichever check failed; only the server's span id differs between two responses.
    assert.deepEqual({ ...missingBody, extensions: {} }, { ...wrongBody, extensions: {} });
    assert.equal(missingBody.status, 401);
    assert.match(missingBody.extensions.traceId, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    assert.deepEqual(reasons, ['missing', 'mismatch']);
  });
});
