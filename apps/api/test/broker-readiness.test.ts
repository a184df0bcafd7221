import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestVhost, getFreePort, type TestVhost } from '@herald/testing';
import { createBrokerReadiness } from '../src/broker-readiness.ts';
import { EnvError, loadEnv } from '../src/env.ts';
import { createHarness, type Harness, readJson } from './harness.ts';

// /readyz with HERALD_READY_AMQP_URL: a real broker (a vhost of its own), and a port where nothing listens.
describe('broker readiness', () => {
  let vhost: TestVhost;
  before(async () => {
    vhost = await createTestVhost();
  });
  after(async () => {
    await vhost[Symbol.asyncDispose]();
  });

  it('is ready when the broker answers, and not ready when it does not', async () => {
    const dead = `amqp://guest:guest@127.0.0.1:${await getFreePort()}`;
    for (const [url, status, broker] of [
      [vhost.url, 200, true],
      [dead, 503, false],
    ] as const) {
      const h: Harness = await createHarness({ overrides: { readiness: [createBrokerReadiness(url)] } });
      try {
        const res = await h.app.request('/readyz');
        assert.equal(res.status, status);
        const body = await readJson(res);
        assert.deepEqual(body.checks, { database: true, broker });
      } finally {
        await h.close();
      }
    }
  });

  it('answers concurrent checks alike and reuses an answer for a while', async () => {
    let t = 0;
    const check = createBrokerReadiness(vhost.url, { cacheMs: 1000, now: () => t });
    const answers = await Promise.all([check.check(), check.check(), check.check()]);
    assert.deepEqual(answers, [true, true, true]);
    // The vhost is gone: still "ready" from memory until the answer is a second old, then not.
    await vhost[Symbol.asyncDispose]();
    t = 999;
    assert.equal(await check.check(), true);
    t = 1000;
    assert.equal(await check.check(), false);
    vhost = await createTestVhost();
  });

  it('takes HERALD_READY_AMQP_URL from the environment and never echoes a bad value', () => {
    assert.equal(
      loadEnv({ HERALD_READY_AMQP_URL: 'amqp://u:p@broker:5672/v' }).HERALD_READY_AMQP_URL,
      'amqp://u:p@broker:5672/v',
    );
    assert.throws(
      () => loadEnv({ HERALD_READY_AMQP_URL: 'http://user:s3cret@broker' }),
      (e: unknown) => e instanceof EnvError && /HERALD_READY_AMQP_URL/.test(e.message) && !e.message.includes('s3cret'),
    );
  });
});
