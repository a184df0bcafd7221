import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { closeServer } from '@herald/testing';
import type { Server } from 'node:http';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const LIMIT = 4096;

/** Sends a chunked request (no content-length) over a real socket and reads the status. */
function sendChunked(
  port: number,
  path: string,
  headers: Record<string, string>,
  chunks: number,
  chunkBytes: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (err) => {
      // The server may close the socket after answering 413 while chunks are still being written.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET')
        return;
      reject(err);
    });
    let i = 0;
    const write = () => {
      while (i < chunks) {
        i++;
        if (!req.write(' '.repeat(chunkBytes))) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('bad input', () => {
  let h: Harness;
  let server: Server;
  let port: number;
  before(async () => {
    h = await createHarness({ bodyLimitBytes: LIMIT });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        port = info.port;
        resolve();
      }) as Server;
    });
  });
  after(async () => {
    await closeServer(server);
    await h.close();
  });

  const webhookUrl = () => `${BASE}/WebHook?applicationId=${h.a.applicationId}`;

  it('answers 413 before parsing a body over the limit (content-length)', async () => {
    const res = await h.app.request(webhookUrl(), jsonInit('POST', h.a.headers, { pad: 'x'.repeat(LIMIT) }));
    assert.equal(res.status, 413);
    assert.equal((await readJson(res)).status, 413);
  });

  it('answers 413 to a chunked body over the limit, over a real socket', async () => {
    const status = await sendChunked(port, webhookUrl(), h.a.headers, 64, 1024);
    assert.equal(status, 413);
    const small = await sendChunked(port, webhookUrl(), h.a.headers, 1, 10);
    assert.equal(small, 400, 'a small chunked body is read (and here refused as malformed JSON)');
  });

  it('answers 415 to an unknown content type', async () => {
    const res = await h.app.request(webhookUrl(), {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'text/plain' },
      body: 'hi',
    });
    assert.equal(res.status, 415);
    const json = await h.app.request('/api/v1/herald/messages', {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=b',
    });
    assert.equal(json.status, 415, 'publishing takes JSON only');
  });

  it('answers 400 to malformed JSON and to an empty body', async () => {
    const res = await h.app.request(webhookUrl(), {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: '{"a":',
    });
    assert.equal(res.status, 400);
    assert.deepEqual((await readJson(res)).errors, { $: ['expected a valid JSON body; received malformed JSON'] });
    const empty = await h.app.request(webhookUrl(), {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: '',
    });
    assert.equal(empty.status, 400);
  });

  it('refuses over-deep JSON with 400, without a stack overflow', async () => {
    const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
    const res = await h.app.request(webhookUrl(), {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: deep,
    });
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(await readJson(res)), /nested at most 64/);
    const ok = `${'['.repeat(10)}${']'.repeat(10)}`;
    const shallow = await h.app.request(webhookUrl(), {
      method: 'POST',
      headers: { ...h.a.headers, 'content-type': 'application/json' },
      body: ok,
    });
    assert.equal(shallow.status, 400, 'validation, not the depth guard');
    assert.doesNotMatch(JSON.stringify(await readJson(shallow)), /nested/);
  });

  it('refuses a body with too many values', async () => {
    const big = await createHarness({ bodyLimitBytes: 2 * 1024 * 1024 });
    try {
      const body = JSON.stringify(Array.from({ length: 150_000 }, () => 0));
      const res = await big.app.request(webhookUrl().replace(h.a.applicationId, big.a.applicationId), {
        method: 'POST',
        headers: { ...big.a.headers, 'content-type': 'application/json' },
        body,
      });
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(await readJson(res)), /at most 100000 JSON values/);
    } finally {
      await big.close();
    }
  });

  it('refuses unknown body fields and files in forms, ignores unknown query parameters', async () => {
    const extra = await h.app.request(
      `${webhookUrl()}&foo=bar`,
      jsonInit('POST', h.a.headers, {
        isActive: true,
        retryCount: 1,
        webHookUrl: 'https://webhook.site/x',
        exponentialBackoffFactor: 2,
        includeImageData: true,
        colour: 'red',
      }),
    );
    assert.equal(extra.status, 400);
    assert.ok((await readJson(extra)).errors.colour);
    const fd = new FormData();
    fd.append('webHookUrl', new Blob(['x']), 'x.txt');
    const file = await h.app.request(webhookUrl(), { method: 'POST', headers: h.a.headers, body: fd });
    assert.equal(file.status, 400);
    const listed = await h.app.request(`${BASE}/All?applicationId=${h.a.applicationId}&unknown=1`, {
      headers: h.a.headers,
    });
    assert.equal(listed.status, 200);
  });

  it('answers a problem for unknown endpoints', async () => {
    const res = await h.app.request('/api/v1/nothing-here', { headers: { 'x-correlation-id': 'corr-404' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-correlation-id'), 'corr-404', 'echoed on errors too');
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  });
});
