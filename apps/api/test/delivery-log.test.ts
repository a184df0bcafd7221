import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deliveredOutcome, permanentOutcome } from '@herald/engine';
import { imageCheckingMessage } from './fixtures.ts';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

const H = '/api/v1/herald';

describe('the delivery log', () => {
  let h: Harness;
  let okChannel: string;
  let badChannel: string;
  const messageIds: string[] = [];

  before(async () => {
    h = await createHarness();
    const make = async (url: string) =>
      (
        await h.store.createChannel({
          applicationId: h.a.applicationId,
          kind: 0,
          isActive: true,
          includeImageData: true,
          config: { webHookUrl: url, retryCount: 0, exponentialBackoffFactor: 2 },
        })
      ).id;
    okChannel = await make('https://webhook.site/ok');
    badChannel = await make('https://webhook.site/bad');
    h.transport.respond((job) =>
      job.channel.id === badChannel ? permanentOutcome({ statusCode: 400 }) : deliveredOutcome(),
    );
    for (let i = 0; i < 3; i++) {
      const res = await h.app.request(
        `${H}/messages`,
        jsonInit('POST', h.a.headers, imageCheckingMessage({ ImageId: `img-${i}` })),
      );
      assert.equal(res.status, 202);
      messageIds.push((await readJson(res)).id);
    }
    await h.engine.drain({ timeoutMs: 10_000 });
  });
  after(() => h.close());

  it('lists messages with a cursor, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const qs: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${encodeURIComponent(cursor)}`;
      const page = await readJson(h.app.request(`${H}/messages${qs}`, { headers: h.a.headers }));
      seen.push(...page.items.map((m: { id: string }) => m.id));
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, [...messageIds].reverse());
  });

  it('gets a message with its body and deliveries', async () => {
    const res = await h.app.request(`${H}/messages/${messageIds[0]}`, { headers: h.a.headers });
    assert.equal(res.status, 200);
    const body = await readJson(res);
    assert.equal(body.body.ImageId, 'img-0');
    assert.equal(body.type, 'ImageCheckingNotification');
    assert.equal(body.deliveries.length, 2);
  });

  it('answers 404 for an unknown or malformed message id', async () => {
    assert.equal(
      (await h.app.request(`${H}/messages/00000000-0000-4000-8000-000000000000`, { headers: h.a.headers })).status,
      404,
    );
    assert.equal((await h.app.request(`${H}/messages/not-a-uuid`, { headers: h.a.headers })).status, 404);
  });

  it('filters deliveries by state and channel', async () => {
    const failed = await readJson(h.app.request(`${H}/deliveries?state=failed`, { headers: h.a.headers }));
    assert.equal(failed.items.length, 3);
    assert.ok(
      failed.items.every(
        (d: { channelId: string; state: string }) => d.channelId === badChannel && d.state === 'failed',
      ),
    );
    const delivered = await readJson(h.app.request(`${H}/deliveries?channelId=${okChannel}`, { headers: h.a.headers }));
    assert.equal(delivered.items.length, 3);
    assert.ok(delivered.items.every((d: { state: string }) => d.state === 'delivered'));
    const one = await readJson(h.app.request(`${H}/deliveries?messageId=${messageIds[1]}`, { headers: h.a.headers }));
    assert.equal(one.items.length, 2);
    const bad = await h.app.request(`${H}/deliveries?state=lost`, { headers: h.a.headers });
    assert.equal(bad.status, 400);
    assert.ok((await readJson(bad)).errors.state);
  });

  it('gets a delivery with its attempt log, and lists attempts', async () => {
    const failed = await readJson(h.app.request(`${H}/deliveries?state=failed&limit=1`, { headers: h.a.headers }));
    const id = failed.items[0].id;
    const res = await readJson(h.app.request(`${H}/deliveries/${id}`, { headers: h.a.headers }));
    assert.equal(res.attemptLog.length, 1);
    assert.equal(res.attemptLog[0].ok, false);
    assert.equal(res.attemptLog[0].statusCode, 400);
    const attempts = await readJson(h.app.request(`${H}/attempts?ok=false`, { headers: h.a.headers }));
    assert.equal(attempts.items.length, 3);
  });

  it('redelivers one failed delivery, refuses a delivered one without force', async () => {
    const failed = await readJson(h.app.request(`${H}/deliveries?state=failed&limit=1`, { headers: h.a.headers }));
    const res = await h.app.request(`${H}/deliveries/${failed.items[0].id}/redeliver`, {
      method: 'POST',
      headers: h.a.headers,
    });
    assert.equal(res.status, 200);
    assert.equal((await readJson(res)).state, 'pending');
    const delivered = await readJson(
      h.app.request(`${H}/deliveries?state=delivered&limit=1`, { headers: h.a.headers }),
    );
    const refused = await h.app.request(`${H}/deliveries/${delivered.items[0].id}/redeliver`, {
      method: 'POST',
      headers: h.a.headers,
    });
    assert.equal(refused.status, 409);
    const forced = await h.app.request(`${H}/deliveries/${delivered.items[0].id}/redeliver?force=true`, {
      method: 'POST',
      headers: h.a.headers,
    });
    assert.equal(forced.status, 200);
  });

  it('recovers every failed delivery since a time', async () => {
    const res = await h.app.request(
      `${H}/deliveries/recover`,
      jsonInit('POST', h.a.headers, { since: '2000-01-01T00:00:00Z', channelId: badChannel }),
    );
    assert.equal(res.status, 200);
    assert.equal((await readJson(res)).recovered, 2);
    const bad = await h.app.request(`${H}/deliveries/recover`, jsonInit('POST', h.a.headers, { since: 'yesterday' }));
    assert.equal(bad.status, 400);
    assert.ok((await readJson(bad)).errors.since);
  });

  it('lists events (empty until the platform disables a channel)', async () => {
    const res = await h.app.request(`${H}/events`, { headers: h.a.headers });
    assert.equal(res.status, 200);
    assert.deepEqual((await readJson(res)).items, []);
  });
});
