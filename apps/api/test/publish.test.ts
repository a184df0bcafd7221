import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { imageCheckingMessage, taskCompletedMessage } from './fixtures.ts';
import { createHarness, type Harness, jsonInit, readJson } from './harness.ts';

const PUBLISH = '/api/v1/herald/messages';

describe('publishing', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('answers the documents’ 404 when no channel is active, and stores nothing', async () => {
    const res = await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, imageCheckingMessage()));
    assert.equal(res.status, 404);
    const body = await readJson(res);
    assert.deepEqual(Object.keys(body.errors), ['engine: Active', 'business: Active']);
    const page = await h.store.listMessages(h.a.applicationId, {}, {});
    assert.equal(page.items.length, 0);
  });

  it('accepts a message with 202, one delivery per active channel, and carries correlation and trace ids', async () => {
    for (const url of ['https://webhook.site/1', 'https://webhook.site/2']) {
      await h.store.createChannel({
        applicationId: h.a.applicationId,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: { webHookUrl: url, retryCount: 1, exponentialBackoffFactor: 2 },
      });
    }
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await h.app.request(
      PUBLISH,
      jsonInit(
        'POST',
        { ...h.a.headers, 'x-correlation-id': 'corr-123', traceparent },
        taskCompletedMessage(h.a.applicationId),
      ),
    );
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('x-correlation-id'), 'corr-123');
    const body = await readJson(res);
    assert.equal(body.deliveries, 2);
    assert.equal(body.duplicate, false);
    const stored = await h.store.getMessage(h.a.applicationId, body.id);
    assert.equal(stored?.type, 'ImageGenerationTaskCompleted');
    assert.equal(stored?.correlationId, 'corr-123');
    assert.equal(stored?.traceparent, traceparent);
  });

  it('generates a correlation id when none is sent and echoes it', async () => {
    const res = await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, imageCheckingMessage()));
    assert.equal(res.status, 202);
    const generated = res.headers.get('x-correlation-id');
    assert.ok(generated !== null && generated.length > 0);
    const { id } = await readJson(res);
    assert.equal((await h.store.getMessage(h.a.applicationId, id))?.correlationId, generated);
  });

  it('honours ?type= and refuses a body that does not match it', async () => {
    const res = await h.app.request(
      `${PUBLISH}?type=ImageCheckingNotification`,
      jsonInit('POST', h.a.headers, imageCheckingMessage()),
    );
    assert.equal(res.status, 202);
    const wrong = await h.app.request(
      `${PUBLISH}?type=ImageUpscalingTaskCompleted`,
      jsonInit('POST', h.a.headers, taskCompletedMessage(h.a.applicationId)),
    );
    assert.equal(wrong.status, 400);
    const unknown = await h.app.request(`${PUBLISH}?type=Nope`, jsonInit('POST', h.a.headers, imageCheckingMessage()));
    assert.equal(unknown.status, 400);
    assert.ok((await readJson(unknown)).errors.type);
  });

  it('refuses an invalid message with 400 and field paths', async () => {
    const res = await h.app.request(
      PUBLISH,
      jsonInit('POST', h.a.headers, imageCheckingMessage({ Orientation: 'Diagonal', ImageId: 5 })),
    );
    assert.equal(res.status, 400);
    const body = await readJson(res);
    assert.ok(body.errors.Orientation);
    assert.ok(body.errors.ImageId);
  });

  it('refuses a message whose ApplicationId is another application’s', async () => {
    const res = await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, taskCompletedMessage(h.b.applicationId)));
    assert.equal(res.status, 400);
    assert.ok((await readJson(res)).errors.ApplicationId);
  });

  it('replays the first answer for the same Idempotency-Key and body, and refuses another body with 409', async () => {
    const headers = { ...h.a.headers, 'idempotency-key': 'order-42' };
    const first = await h.app.request(PUBLISH, jsonInit('POST', headers, imageCheckingMessage()));
    assert.equal(first.status, 202);
    const firstBody = await readJson(first);
    const again = await h.app.request(PUBLISH, jsonInit('POST', headers, imageCheckingMessage()));
    assert.equal(again.status, 202);
    const againBody = await readJson(again);
    assert.equal(againBody.id, firstBody.id);
    assert.equal(againBody.duplicate, true);
    const conflict = await h.app.request(
      PUBLISH,
      jsonInit('POST', headers, imageCheckingMessage({ ImageId: 'other' })),
    );
    assert.equal(conflict.status, 409);
    assert.ok((await readJson(conflict)).errors['Idempotency-Key']);
  });

  it('requires a Rejected image to carry a code of the catalogue once the catalogue is not empty', async () => {
    const rejected = imageCheckingMessage({ ImageState: 'Rejected', RejectionCode: 'R9' });
    assert.equal(
      (await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, rejected))).status,
      202,
      'empty catalogue: any code',
    );
    const put = await h.app.request(
      '/api/v1/herald/rejection-codes/R1',
      jsonInit('PUT', h.a.headers, { description: 'Blurry' }),
    );
    assert.equal(put.status, 200);
    const refused = await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, rejected));
    assert.equal(refused.status, 400);
    assert.match((await readJson(refused)).errors.RejectionCode[0], /R1/);
    const ok = await h.app.request(PUBLISH, jsonInit('POST', h.a.headers, { ...rejected, RejectionCode: 'R1' }));
    assert.equal(ok.status, 202);
    const reserved = await h.app.request(
      '/api/v1/herald/rejection-codes/00',
      jsonInit('PUT', h.a.headers, { description: 'x' }),
    );
    assert.equal(reserved.status, 400);
    const list = await readJson(h.app.request('/api/v1/herald/rejection-codes', { headers: h.a.headers }));
    assert.deepEqual(list, [{ code: 'R1', description: 'Blurry' }]);
    const del = await h.app.request('/api/v1/herald/rejection-codes/R1', { method: 'DELETE', headers: h.a.headers });
    assert.equal(del.status, 200);
    assert.equal(
      (await h.app.request('/api/v1/herald/rejection-codes/R1', { method: 'DELETE', headers: h.a.headers })).status,
      404,
    );
  });

  it('spends one credit per publish and answers 402 when they are exhausted', async () => {
    const limited = await h.newCaller(h.a.applicationId, 2);
    for (let i = 0; i < 2; i++) {
      const res = await h.app.request(PUBLISH, jsonInit('POST', limited.headers, imageCheckingMessage()));
      assert.equal(res.status, 202);
    }
    const res = await h.app.request(PUBLISH, jsonInit('POST', limited.headers, imageCheckingMessage()));
    assert.equal(res.status, 402);
    assert.match(JSON.stringify(await readJson(res)), /credits/);
    const usage = await readJson(h.app.request('/api/v1/herald/usage', { headers: limited.headers }));
    assert.equal(usage.credits, 0);
  });

  it('does not charge a limited key for a 404 without an active channel', async () => {
    const limited = await h.newCaller(h.b.applicationId, 1);
    const res = await h.app.request(PUBLISH, jsonInit('POST', limited.headers, imageCheckingMessage()));
    assert.equal(res.status, 404);
    const usage = await readJson(h.app.request('/api/v1/herald/usage', { headers: limited.headers }));
    assert.equal(usage.credits, 1);
  });
});
