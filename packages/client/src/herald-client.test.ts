import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeraldApiError } from './herald-api-error.ts';
import { createHeraldClient, type FetchLike } from './herald-client.ts';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** An in-process fetch answering from a table: these are unit tests of request building and answer handling. */
function fakeFetch(answer: (call: Call) => { status: number; body: unknown }) {
  const calls: Call[] = [];
  const fn: FetchLike = async (url, init) => {
    const call = {
      url,
      method: init.method ?? 'GET',
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? init.body : undefined,
    };
    calls.push(call);
    const { status, body } = answer(call);
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fn, calls };
}

const problem = (status: number, errors: Record<string, string[]>) => ({
  errors,
  type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
  title: 'One or more errors occurred.',
  status,
  detail: null,
  instance: null,
  extensions: { traceId: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' },
});

describe('createHeraldClient', () => {
  it('mints a token once with the key, sends the three credentials, and renews the token before it expires', async () => {
    let now = 0;
    let minted = 0;
    const { fn, calls } = fakeFetch((call) => {
      if (call.url.endsWith('/api/v1/herald/tokens')) {
        minted++;
        return {
          status: 200,
          body: { token: `t${minted}`, tokenType: 'Bearer', expiresIn: 3600, applicationId: 'a', role: 'application' },
        };
      }
      return { status: 200, body: [] };
    });
    const client = createHeraldClient({
      baseUrl: 'http://h.test/',
      apiKey: 'k',
      apiSecret: 's',
      fetch: fn,
      now: () => now,
      userAgent: 'ua/1',
    });
    await Promise.all([client.listChannels('app-1'), client.listChannels('app-1')]);
    assert.equal(minted, 1, 'concurrent calls share one mint');
    const list = calls.find((c) => c.url.includes('/All'))!;
    assert.equal(list.url, 'http://h.test/api/v1/Notification/ChannelConfiguration/All?applicationId=app-1');
    assert.equal(list.headers['authorization'], 'Bearer t1');
    assert.equal(list.headers['x-api-key'], 'k');
    assert.equal(list.headers['x-api-secret'], 's');
    assert.equal(list.headers['user-agent'], 'ua/1');
    const mint = calls.find((c) => c.url.endsWith('/tokens'))!;
    assert.equal(mint.headers['authorization'], undefined, 'minting uses the key alone');
    now = 3600 * 1000 - 10_000;
    await client.listChannels('app-1');
    assert.equal(minted, 2);
    assert.equal(calls.at(-1)!.headers['authorization'], 'Bearer t2');
  });

  it('turns problem answers into HeraldApiError with status, errors and traceId', async () => {
    const { fn } = fakeFetch(() => ({ status: 400, body: problem(400, { webHookUrl: ['expected https'] }) }));
    const client = createHeraldClient({ baseUrl: 'http://h.test', token: 't', apiKey: 'k', apiSecret: 's', fetch: fn });
    await assert.rejects(
      client.createWebHookChannel('a', {
        isActive: true,
        retryCount: 1,
        webHookUrl: 'x',
        exponentialBackoffFactor: 2,
        includeImageData: true,
      }),
      (err: unknown) => {
        assert.ok(err instanceof HeraldApiError);
        assert.equal(err.status, 400);
        assert.deepEqual(err.errors, { webHookUrl: ['expected https'] });
        assert.equal(err.traceId, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
        assert.match(err.message, /webHookUrl expected https/);
        return true;
      },
    );
  });

  it('gives an empty list for the documents’ “no active channel” 404, and throws other 404s', async () => {
    let body: unknown = problem(404, { 'engine: Active': ['none'], 'business: Active': ['none'] });
    const { fn } = fakeFetch(() => ({ status: 404, body }));
    const client = createHeraldClient({ baseUrl: 'http://h.test', token: 't', apiKey: 'k', apiSecret: 's', fetch: fn });
    assert.deepEqual(await client.listActiveChannels('a'), []);
    body = problem(404, { 'business:': ['not found'] });
    await assert.rejects(client.listActiveChannels('a'), HeraldApiError);
  });

  it('sends publish options as headers and query, and walks pages with the iterator', async () => {
    const { fn, calls } = fakeFetch((call) => {
      if (call.url.includes('/messages?') && call.method === 'GET') {
        const cursor = new URL(call.url).searchParams.get('cursor');
        return cursor === null
          ? { status: 200, body: { items: [{ id: '1' }, { id: '2' }], nextCursor: 'c2' } }
          : { status: 200, body: { items: [{ id: '3' }], nextCursor: null } };
      }
      return { status: 202, body: { id: 'm', deliveries: 2, duplicate: false } };
    });
    const client = createHeraldClient({ baseUrl: 'http://h.test', token: 't', apiKey: 'k', apiSecret: 's', fetch: fn });
    const res = await client.publish(
      { a: 1 },
      { idempotencyKey: 'i', correlationId: 'c', traceparent: 'tp', type: 'ImageCheckingNotification' },
    );
    assert.deepEqual(res, { id: 'm', deliveries: 2, duplicate: false });
    const pub = calls[0]!;
    assert.equal(pub.url, 'http://h.test/api/v1/herald/messages?type=ImageCheckingNotification');
    assert.equal(pub.headers['idempotency-key'], 'i');
    assert.equal(pub.headers['x-correlation-id'], 'c');
    assert.equal(pub.headers['traceparent'], 'tp');
    assert.equal(pub.body, '{"a":1}');
    const ids: string[] = [];
    for await (const m of client.iterateMessages({ limit: 2, since: new Date(0) })) ids.push(m.id);
    assert.deepEqual(ids, ['1', '2', '3']);
    assert.match(calls[1]!.url, /since=1970-01-01T00%3A00%3A00.000Z/);
  });

  it('refuses authenticated calls without an API key', async () => {
    const { fn } = fakeFetch(() => ({ status: 200, body: {} }));
    const client = createHeraldClient({ baseUrl: 'http://h.test', fetch: fn });
    await assert.rejects(client.listApplications(), TypeError);
    assert.deepEqual(await client.health(), {});
  });
});
