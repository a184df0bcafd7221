import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { createWebhookVerifier, generateWebhookSecret } from '@herald/auth';
import { type AttemptEvent, createEngine, createWebhookTransport } from '@herald/engine';
import { createDestinationPolicy } from '@herald/ssrf';
import { closeServer, createTestPki, listenEphemeral } from '@herald/testing';
import { createWebhookClient } from '@herald/transport-http';
import { completedMessage, createApp, openTestStore } from './helpers.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  clientCertCn: string | null;
}

async function startReceiver(pki: Awaited<ReturnType<typeof createTestPki>>, status: () => number) {
  const received: Received[] = [];
  const server: Server = createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socket = req.socket as TLSSocket;
        const peer = socket.authorized ? socket.getPeerCertificate() : null;
        received.push({
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          clientCertCn: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : null,
        });
        res.writeHead(status()).end('ok');
      });
    },
  );
  const port = await listenEphemeral(server);
  return { server, port, received };
}

describe('webhook transport through the engine (real HTTPS, mTLS, signatures)', () => {
  it('sends the exact stripped body with documented headers, shared secret, a valid signature and the client certificate', async () => {
    const pki = await createTestPki();
    const receiver = await startReceiver(pki, () => 200);
    await using t = await openTestStore('sqlite');
    const client = createWebhookClient({
      policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] }),
      timeoutMs: 5_000,
    });
    try {
      const appId = await createApp(t.store);
      const signingSecret = generateWebhookSecret();
      const sharedSecret = 'a-shared-secret-of-some-length';
      const channel = await t.store.createChannel({
        applicationId: appId,
        kind: 0,
        isActive: true,
        includeImageData: false,
        config: {
          webHookUrl: `https://localhost:${receiver.port}/hook`,
          retryCount: 3,
          exponentialBackoffFactor: 2,
          secretHeaderName: 'x-herald-secret',
          clientCertificatePem: pki.client.cert,
          serverCaPem: pki.ca.cert,
          signatures: true,
        },
        secrets: { secretHeaderValue: sharedSecret, signingSecrets: [signingSecret], clientKeyPem: pki.client.key },
      });
      const nowSeconds = Math.floor(Date.now() / 1000);
      const engine = createEngine({
        store: t.store,
        transports: { webhook: createWebhookTransport({ client, signingTimestamp: () => nowSeconds }) },
        retention: null,
      });
      const published = await engine.publish({
        applicationId: appId,
        body: completedMessage(appId, randomUUID()),
        correlationId: 'corr-42',
      });
      assert.ok(published.ok);
      const events: AttemptEvent[] = [];
      engine.on('attempt', (e) => events.push(e));
      assert.equal(await engine.runOnce(), 1);
      assert.equal(events[0]?.outcome.ok, true, JSON.stringify(events[0]?.outcome));
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0]!;
      assert.equal(got.body.includes('ImageContentBytes'), false);
      assert.equal(
        got.body,
        JSON.stringify(
          Object.fromEntries(
            Object.entries(JSON.parse(published.message.body)).filter(([k]) => k !== 'ImageContentBytes'),
          ),
        ),
      );
      assert.equal(got.headers['webhook-id'], published.message.id);
      assert.equal(got.headers['x-correlation-id'], 'corr-42');
      assert.equal(got.headers['x-herald-secret'], sharedSecret);
      assert.equal(got.clientCertCn, 'herald-test-client');
      const verifier = createWebhookVerifier({ secrets: [signingSecret], now: () => nowSeconds * 1000 });
      assert.deepEqual(verifier.verify(got.headers as Record<string, string>, got.body), {
        ok: true,
        id: published.message.id,
        timestampSeconds: nowSeconds,
      });
      const d = await t.store.getDelivery(appId, published.deliveries[0]!.id);
      assert.equal(d?.state, 'delivered');
      assert.equal(d?.channelId, channel.id);
    } finally {
      await client.close();
      await closeServer(receiver.server);
    }
  });

  it('records a 500 as a retryable attempt with its status, and a 410 disables the channel', async () => {
    const pki = await createTestPki();
    let status = 500;
    const receiver = await startReceiver(pki, () => status);
    await using t = await openTestStore('sqlite');
    const client = createWebhookClient({
      policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] }),
      timeoutMs: 5_000,
    });
    try {
      const appId = await createApp(t.store);
      const channel = await t.store.createChannel({
        applicationId: appId,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: {
          webHookUrl: `https://127.0.0.1:${receiver.port}/hook`,
          retryCount: 3,
          exponentialBackoffFactor: 2,
          serverCaPem: pki.ca.cert,
        },
      });
      let now = Date.now();
      const engine = createEngine({
        store: t.store,
        transports: { webhook: createWebhookTransport({ client }) },
        clock: () => now,
        retention: null,
      });
      const events: AttemptEvent[] = [];
      engine.on('attempt', (e) => events.push(e));
      const published = await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) });
      assert.ok(published.ok);
      assert.equal(await engine.runOnce(), 1);
      let d = await t.store.getDelivery(appId, published.deliveries[0]!.id);
      assert.equal(d?.state, 'pending');
      assert.equal(d?.lastStatusCode, 500);
      assert.equal(events[0]?.outcome.retryable, true);

      status = 410;
      now = d!.nextAttemptAt;
      assert.equal(await engine.runOnce(), 1);
      d = await t.store.getDelivery(appId, published.deliveries[0]!.id);
      assert.equal(d?.lastStatusCode, 410);
      const ch = await t.store.getChannel(appId, channel.id);
      assert.equal(ch?.isActive, false);
      assert.equal(receiver.received.length, 2);
    } finally {
      await client.close();
      await closeServer(receiver.server);
    }
  });

  it('uses the rotated shared secret once the channel is updated (sender cache keyed by updatedAt)', async () => {
    const pki = await createTestPki();
    const receiver = await startReceiver(pki, () => 200);
    await using t = await openTestStore('sqlite');
    const client = createWebhookClient({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] }) });
    try {
      const appId = await createApp(t.store);
      const config = {
        webHookUrl: `https://127.0.0.1:${receiver.port}/hook`,
        retryCount: 3,
        exponentialBackoffFactor: 2,
        serverCaPem: pki.ca.cert,
        secretHeaderName: 'x-herald-secret',
      };
      const channel = await t.store.createChannel({
        applicationId: appId,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config,
        secrets: { secretHeaderValue: 'first-secret-value-0001' },
      });
      let now = Date.now();
      const engine = createEngine({
        store: t.store,
        transports: { webhook: createWebhookTransport({ client }) },
        clock: () => now,
        retention: null,
      });
      assert.ok((await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) })).ok);
      assert.equal(await engine.runOnce(), 1);
      now += 1_000;
      await t.store.updateChannel(appId, channel.id, { secrets: { secretHeaderValue: 'second-secret-value-0002' } });
      assert.ok((await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) })).ok);
      assert.equal(await engine.runOnce(), 1);
      assert.deepEqual(
        receiver.received.map((r) => r.headers['x-herald-secret']),
        ['first-secret-value-0001', 'second-secret-value-0002'],
      );
    } finally {
      await client.close();
      await closeServer(receiver.server);
    }
  });

  it('fails a delivery without sending when the channel auth settings are unusable (signatures on, no secret)', async () => {
    await using t = await openTestStore('sqlite');
    const appId = await createApp(t.store);
    await t.store.createChannel({
      applicationId: appId,
      kind: 0,
      isActive: true,
      includeImageData: true,
      config: { webHookUrl: 'https://127.0.0.1:9/hook', retryCount: 3, exponentialBackoffFactor: 2, signatures: true },
    });
    const client = createWebhookClient({ policy: createDestinationPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] }) });
    try {
      const engine = createEngine({
        store: t.store,
        transports: { webhook: createWebhookTransport({ client }) },
        retention: null,
      });
      const published = await engine.publish({ applicationId: appId, body: completedMessage(appId, randomUUID()) });
      assert.ok(published.ok);
      assert.equal(await engine.runOnce(), 1);
      const d = await t.store.getDelivery(appId, published.deliveries[0]!.id);
      assert.equal(d?.state, 'failed');
      assert.equal(d?.lastOutcome, 'invalid_destination');
      assert.match(d?.lastError ?? '', /no signing secret/);
    } finally {
      await client.close();
    }
  });
});
