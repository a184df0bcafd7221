import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { AuthConfigError } from './auth-config-error.ts';
import { type PushAuthFailure, type PushAuthVariables, pushAuth } from './push-auth.ts';
import { createSharedSecretSender } from './shared-secret.ts';
import { createWebhookSigner, generateWebhookSecret } from './webhook-signature.ts';

const NOW_MS = 1_750_000_000_000;
const BODY = '{"MessageType":"TaskCompleted"}';

describe('pushAuth (combined strategies)', () => {
  const whsec = generateWebhookSecret();
  const shared = 'shared-secret-for-push-auth';
  const failures: PushAuthFailure[] = [];
  let peer = '127.0.0.2';
  const app = new Hono<{ Variables: PushAuthVariables }>();
  app.use(
    '/hook',
    pushAuth({
      ipAllowlist: { allow: ['127.0.0.2'], getRemoteAddress: () => peer },
      sharedSecret: { headerName: 'x-herald-secret', secrets: [shared] },
      signatures: { secrets: [whsec], now: () => NOW_MS },
      onRejected: (f) => failures.push(f),
    }),
  );
  app.post('/hook', async (c) => c.json({ push: c.var.push, body: await c.req.text() }));

  const headers = (body = BODY): Record<string, string> => ({
    ...createSharedSecretSender({ headerName: 'x-herald-secret', secret: shared }).headers(),
    ...createWebhookSigner({ secrets: [whsec] }).sign({ id: 'msg_1', timestampSeconds: NOW_MS / 1000, body }),
  });

  it('passes when every configured check passes', async () => {
    peer = '127.0.0.2';
    const res = await app.request('/hook', { method: 'POST', headers: headers(), body: BODY });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      push: { clientIp: '127.0.0.2', webhook: { id: 'msg_1', timestampSeconds: NOW_MS / 1000 } },
      body: BODY,
    });
  });

  it('refuses when any single check fails, naming it only to onRejected', async () => {
    failures.length = 0;
    peer = '127.0.0.3';
    assert.equal((await app.request('/hook', { method: 'POST', headers: headers(), body: BODY })).status, 401);
    peer = '127.0.0.2';
    const { 'x-herald-secret': _omit, ...noSecret } = headers();
    assert.equal((await app.request('/hook', { method: 'POST', headers: noSecret, body: BODY })).status, 401);
    assert.equal((await app.request('/hook', { method: 'POST', headers: headers(), body: `${BODY} ` })).status, 401);
    assert.deepEqual(failures, [
      { strategy: 'ip_allowlist', reason: 'not_allowed' },
      { strategy: 'shared_secret', reason: 'missing' },
      { strategy: 'signature', reason: 'no_matching_signature' },
    ]);
  });

  it('needs at least one strategy', () => {
    assert.throws(() => pushAuth({}), AuthConfigError);
  });
});
