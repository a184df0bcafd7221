import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeServer, createTestPki, listenEphemeral } from '@herald/testing';
import { loadEnv } from '../src/env.ts';
import { startPlatform } from '../src/platform.ts';
import { imageCheckingMessage } from './fixtures.ts';
import type { Json } from './harness.ts';
import { createCapturingLogger } from './security-platform.ts';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('one-command start: embedded platform on SQLite', () => {
  let dataDir: string;
  let receiver: Server;
  let receiverPort: number;
  const received: Received[] = [];
  let waiter: (() => void) | undefined;
  let env: Record<string, string>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-platform-'));
    const pki = await createTestPki();
    const caFile = join(dataDir, 'receiver-ca.pem');
    writeFileSync(caFile, pki.ca.cert);
    receiver = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end();
        waiter?.();
      });
    });
    receiverPort = await listenEphemeral(receiver);
    env = {
      HERALD_DATA_DIR: join(dataDir, 'data'),
      HERALD_PORT: '0',
      HERALD_LOG_LEVEL: 'silent',
      HERALD_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
      HERALD_EXTRA_CA_FILE: caFile,
    };
  });
  after(async () => {
    await closeServer(receiver);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function call(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  }

  async function authHeaders(base: string, key: string, secret: string): Promise<Record<string, string>> {
    const minted = await call(base, '/api/v1/herald/tokens', {
      method: 'POST',
      headers: { 'x-api-key': key, 'x-api-secret': secret },
    });
    assert.equal(minted.status, 200);
    return { authorization: `Bearer ${minted.body.token}`, 'x-api-key': key, 'x-api-secret': secret };
  }

  let channelId = '';

  it('starts with no database, bootstraps credentials (0600), and delivers a published message in-process', async () => {
    const platform = await startPlatform(loadEnv(env));
    try {
      assert.equal(platform.embeddedWorker, true);
      assert.ok(platform.credentialsFile);
      for (const file of ['credentials.json', 'encryption-keys', 'jwt-secret', 'client-ca.json']) {
        assert.equal(statSync(join(env.HERALD_DATA_DIR!, file)).mode & 0o777, 0o600, file);
      }
      const creds = JSON.parse(readFileSync(platform.credentialsFile, 'utf8'));
      assert.equal(creds.apiUrl, platform.url);
      const headers = await authHeaders(platform.url, creds.demo.apiKey, creds.demo.apiSecret);
      const appId = creds.demo.applicationId;

      const created = await call(
        platform.url,
        `/api/v1/Notification/ChannelConfiguration/WebHook?applicationId=${appId}`,
        {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({
            isActive: true,
            retryCount: 3,
            webHookUrl: `https://localhost:${receiverPort}/hook`,
            exponentialBackoffFactor: 2,
            includeImageData: true,
          }),
        },
      );
      assert.equal(created.status, 200, JSON.stringify(created.body));
      channelId = created.body.id;

      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no delivery within 15 s')), 15_000);
        waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      const published = await call(platform.url, '/api/v1/herald/messages', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'x-correlation-id': 'platform-test' },
        body: JSON.stringify(imageCheckingMessage()),
      });
      assert.equal(published.status, 202);
      await arrived;
      assert.equal(received.length, 1);
      assert.equal(JSON.parse(received[0]!.body).ImageId, imageCheckingMessage()['ImageId']);
      assert.equal(received[0]!.headers['x-correlation-id'], 'platform-test');

      const operator = await authHeaders(platform.url, creds.operator.apiKey, creds.operator.apiSecret);
      const apps = await call(platform.url, '/api/v1/herald/applications', { headers: operator });
      assert.deepEqual(
        apps.body.map((a: { name: string }) => a.name),
        ['demo'],
      );
      assert.equal((await call(platform.url, '/readyz')).status, 200);
    } finally {
      await platform.close();
    }
  });

  it('keeps its data across a restart, without bootstrapping again', async () => {
    const before = readFileSync(join(env.HERALD_DATA_DIR!, 'credentials.json'), 'utf8');
    const platform = await startPlatform(loadEnv(env));
    try {
      assert.equal(platform.credentialsFile, null);
      assert.equal(readFileSync(join(env.HERALD_DATA_DIR!, 'credentials.json'), 'utf8'), before);
      const creds = JSON.parse(before);
      const headers = await authHeaders(platform.url, creds.demo.apiKey, creds.demo.apiSecret);
      const list = await call(
        platform.url,
        `/api/v1/Notification/ChannelConfiguration/All?applicationId=${creds.demo.applicationId}`,
        { headers },
      );
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.map((c: { id: string }) => c.id),
        [channelId],
      );
    } finally {
      await platform.close();
    }
  });
  it('shuts down under a stream of keep-alive publishes: every request is answered or refused, none cut', async () => {
    const creds = JSON.parse(readFileSync(join(env.HERALD_DATA_DIR!, 'credentials.json'), 'utf8'));
    const appId = creds.demo.applicationId;
    const countMessages = async (base: string, headers: Record<string, string>) => {
      let total = 0;
      let cursor: string | null = null;
      do {
        const page = await call(
          base,
          `/api/v1/herald/messages?applicationId=${appId}&limit=500${cursor === null ? '' : `&cursor=${cursor}`}`,
          { headers },
        );
        assert.equal(page.status, 200);
        total += page.body.items.length;
        cursor = page.body.nextCursor;
      } while (cursor !== null);
      return total;
    };
    const { logger, lines: logLines } = createCapturingLogger('info');
    const platform = await startPlatform(loadEnv({ ...env, HERALD_SHUTDOWN_DEADLINE_MS: '5000' }), { logger });
    const headers = await authHeaders(platform.url, creds.demo.apiKey, creds.demo.apiSecret);
    const before = await countMessages(platform.url, headers);
    const statuses = new Map<number, number>();
    const errors = new Map<string, number>();
    let closing = false;
    const body = JSON.stringify(imageCheckingMessage());
    // Eight keep-alive clients publishing back to back until each is refused (or 2,000 requests in all).
    let budget = 2_000;
    const loops = Array.from({ length: 8 }, async () => {
      while (budget-- > 0) {
        try {
          const res = await fetch(`${platform.url}/api/v1/herald/messages`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body,
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        } catch (error) {
          const code = String((error as { cause?: { code?: unknown } }).cause?.code ?? error);
          errors.set(code, (errors.get(code) ?? 0) + 1);
          if (closing) return;
        }
      }
    });
    while ((statuses.get(202) ?? 0) < 50 && budget > 0) await new Promise((r) => setTimeout(r, 10));
    closing = true;
    await platform.close();
    await Promise.all(loops);
    const answered = statuses.get(202) ?? 0;
    assert.deepEqual([...statuses.keys()], [202], `answers: ${JSON.stringify([...statuses])}`);
    assert.ok(answered >= 50);
    // After the close, new connections are refused. A client may also see a reset: a connection the kernel
    // completed just before the listening socket closed, which the server never accepted (nothing of it was read;
    // it happened under load, about one run in ten). No connection the server held was cut (its own count), and
    // below, exactly what was answered 202 is stored: no request was processed without its answer.
    assert.deepEqual(
      [...errors.keys()].filter((code) => code !== 'ECONNREFUSED' && code !== 'ECONNRESET'),
      [],
      `errors: ${JSON.stringify([...errors])}`,
    );
    const stopped = logLines
      .map((line) => JSON.parse(line) as { msg?: string; cutConnections?: number })
      .find((entry) => entry.msg === 'engine and HTTP server stopped');
    assert.equal(stopped?.cutConnections, 0, 'the server cut no connection it held');

    const again = await startPlatform(loadEnv(env));
    try {
      const h2 = await authHeaders(again.url, creds.demo.apiKey, creds.demo.apiSecret);
      assert.equal(await countMessages(again.url, h2), before + answered, 'stored exactly what was answered 202');
    } finally {
      await again.close();
    }
  });
});

describe('environment', () => {
  it('applies defaults', () => {
    const env = loadEnv({});
    assert.equal(env.HERALD_PORT, 8080);
    assert.equal(env.HERALD_HOST, '127.0.0.1');
    assert.equal(env.HERALD_DATA_DIR, './data');
    assert.equal(env.HERALD_BODY_LIMIT_BYTES, 1024 * 1024);
    assert.deepEqual(env.HERALD_ALLOW_CIDRS, []);
    assert.equal(env.HERALD_ALLOW_HTTP, false);
    assert.equal(env.HERALD_WORKER_LEASE_MS, 120_000);
    assert.equal(loadEnv({ HERALD_WORKER_LEASE_MS: '30000' }).HERALD_WORKER_LEASE_MS, 30_000);
    assert.throws(() => loadEnv({ HERALD_WORKER_LEASE_MS: '5000' }), /HERALD_WORKER_LEASE_MS/);
  });

  it('fails with a readable message naming every bad variable, never echoing a secret', () => {
    assert.throws(
      () => loadEnv({ HERALD_PORT: 'eighty', HERALD_ALLOW_HTTP: 'maybe', HERALD_JWT_SECRET: 'short-secret-value' }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'HERALD_INVALID_ENV');
        assert.match(err.message, /HERALD_PORT/);
        assert.match(err.message, /HERALD_ALLOW_HTTP/);
        assert.match(err.message, /HERALD_JWT_SECRET/);
        assert.ok(!err.message.includes('short-secret-value'));
        return true;
      },
    );
    assert.throws(
      () => loadEnv({ DATABASE_URL: 'mysql://user:pw@db/x' }),
      (err: Error) => !err.message.includes('pw@'),
    );
  });
});
