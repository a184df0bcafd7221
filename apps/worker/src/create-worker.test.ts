import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine, createRecordingTransport } from '@herald/engine';
import { createStore, generateKeyringSpec, parseKeyring } from '@herald/store';
import { createWorker } from './create-worker.ts';
import { loadEnv } from './env.ts';

describe('createWorker', () => {
  it('is ready only while running, and counts attempts by outcome', async () => {
    const store = await createStore({ url: 'sqlite::memory:', keyring: parseKeyring(generateKeyringSpec()) });
    const webhook = createRecordingTransport();
    const engine = createEngine({ store, transports: { webhook }, retention: null, pollIntervalMs: 50 });
    let storeUp = true;
    const worker = createWorker({ engine, checkReady: async () => storeUp });
    try {
      assert.equal((await worker.app.request('/healthz')).status, 200);
      assert.equal((await worker.app.request('/readyz')).status, 503);
      worker.start();
      assert.equal((await worker.app.request('/readyz')).status, 200);
      storeUp = false;
      assert.equal((await worker.app.request('/readyz')).status, 503);
      storeUp = true;

      const app = await store.createApplication({ name: 'metrics' });
      await store.createChannel({
        applicationId: app.id,
        kind: 0,
        isActive: true,
        includeImageData: true,
        config: { webHookUrl: 'https://example.test/hook', retryCount: 3, exponentialBackoffFactor: 2 },
      });
      const published = await engine.publish({
        applicationId: app.id,
        body: {
          ImageId: 'IMG-1',
          Orientation: 'Horizontal',
          ImageType: 'Gallery',
          ImageState: 'Pending',
          RejectionCode: '',
          SubmissionTimeStamp: '20240229235959',
          ImageCheckingTimeStamp: '',
        },
        type: 'ImageCheckingNotification',
      });
      assert.ok(published.ok);
      const deadline = Date.now() + 10_000;
      let text = '';
      while (Date.now() < deadline) {
        text = await (await worker.app.request('/metrics')).text();
        if (/herald_worker_attempts_total\{outcome="delivered",transport="webhook"\} 1/.test(text)) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.match(text, /herald_worker_attempts_total\{outcome="delivered",transport="webhook"\} 1/);
    } finally {
      await worker.stop({ deadlineMs: 1_000 });
      assert.equal((await worker.app.request('/readyz')).status, 503);
      await store.close();
    }
  });
});

describe('loadEnv', () => {
  it('applies defaults and rejects a batch larger than the concurrency', () => {
    const env = loadEnv({ HERALD_ENCRYPTION_KEYS: 'k:x' });
    assert.equal(env.HERALD_WORKER_CONCURRENCY, 64);
    assert.equal(env.HERALD_DATA_DIR, './data');
    assert.throws(
      () => loadEnv({ HERALD_WORKER_CONCURRENCY: '4', HERALD_WORKER_BATCH_SIZE: '8' }),
      /HERALD_WORKER_BATCH_SIZE/,
    );
    assert.throws(() => loadEnv({ HERALD_ALLOW_HTTP: 'maybe' }), /HERALD_ALLOW_HTTP/);
    assert.equal(env.HERALD_WORKER_RECORD_DELAY_MS, 10);
    assert.equal(loadEnv({ HERALD_WORKER_RECORD_DELAY_MS: '0' }).HERALD_WORKER_RECORD_DELAY_MS, 0);
    assert.throws(() => loadEnv({ HERALD_WORKER_RECORD_DELAY_MS: '5000' }), /HERALD_WORKER_RECORD_DELAY_MS/);
  });
});
