import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from './engine-error.ts';
import { permanentOutcome, retryableOutcome, deliveredOutcome } from './recording-transport.ts';
import {
  backoffDelayMs,
  channelRetrySettings,
  computeNextAttempt,
  DEFAULT_RETRY_POLICY,
  effectiveBaseDelayMs,
  resolveRetryPolicy,
  type RetryPolicy,
} from './retry-policy.ts';
import type { Channel } from '@herald/store';

const MIN = 60_000;
const HOUR = 3_600_000;
const now = 1_700_000_000_000;
const noJitter = () => 0;

/** A policy without the window floor, so delays are exactly base × factor^(n−1). */
const plain: RetryPolicy = resolveRetryPolicy({ minRetryWindowMs: 0 });

function channelWith(config: Record<string, unknown>): Channel {
  return {
    id: 'c',
    applicationId: 'a',
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: config as unknown as Channel['config'],
    secrets: {},
    options: {},
    disabledReason: null,
    failingSince: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

describe('computeNextAttempt', () => {
  it('is delivered on success, whatever the attempt count', () => {
    const r = computeNextAttempt({
      attemptsMade: 99,
      retryCount: 0,
      factor: 2,
      policy: plain,
      outcome: deliveredOutcome(),
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'delivered' });
  });

  it('is failed on a permanent failure even with retries left', () => {
    const r = computeNextAttempt({
      attemptsMade: 1,
      retryCount: 5,
      factor: 2,
      policy: plain,
      outcome: permanentOutcome(),
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'failed' });
  });

  it('schedules base × factor^(n−1) for each retry, then dead after retryCount + 1 attempts', () => {
    const retryCount = 3;
    const delays: number[] = [];
    for (let made = 1; made <= retryCount; made++) {
      const r = computeNextAttempt({
        attemptsMade: made,
        retryCount,
        factor: 2,
        policy: plain,
        outcome: retryableOutcome(),
        now,
        random: noJitter,
      });
      assert.equal(r.state, 'pending');
      if (r.state === 'pending') delays.push(r.nextAttemptAt - now);
    }
    assert.deepEqual(delays, [1 * MIN, 2 * MIN, 4 * MIN]);
    const last = computeNextAttempt({
      attemptsMade: retryCount + 1,
      retryCount,
      factor: 2,
      policy: plain,
      outcome: retryableOutcome(),
      now,
      random: noJitter,
    });
    assert.deepEqual(last, { state: 'dead' });
  });

  it('is dead after the first failure when retryCount is 0', () => {
    const r = computeNextAttempt({
      attemptsMade: 1,
      retryCount: 0,
      factor: 2,
      policy: plain,
      outcome: retryableOutcome(),
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'dead' });
  });

  it('caps a delay at maxDelayMs', () => {
    const policy = resolveRetryPolicy({ minRetryWindowMs: 0, maxDelayMs: 10 * MIN });
    const r = computeNextAttempt({
      attemptsMade: 8,
      retryCount: 10,
      factor: 2,
      policy,
      outcome: retryableOutcome(),
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'pending', nextAttemptAt: now + 10 * MIN });
  });

  it('adds jitter only: up to jitterRatio of the delay, never less than the delay', () => {
    const at = (random: number) => {
      const r = computeNextAttempt({
        attemptsMade: 2,
        retryCount: 5,
        factor: 3,
        policy: plain,
        outcome: retryableOutcome(),
        now,
        random: () => random,
      });
      assert.equal(r.state, 'pending');
      return r.state === 'pending' ? r.nextAttemptAt - now : Number.NaN;
    };
    assert.equal(at(0), 3 * MIN);
    assert.equal(at(0.5), 198_000);
    assert.equal(at(0.999999), Math.round(3 * MIN * (1 + 0.2 * 0.999999)));
    // A broken random source cannot shorten the delay.
    assert.equal(at(-5), 3 * MIN);
  });

  it('honours a longer Retry-After, but never beyond maxRetryAfterMs', () => {
    const outcome = retryableOutcome({ statusCode: 429, retryAfterMs: 30 * MIN });
    const r = computeNextAttempt({
      attemptsMade: 1,
      retryCount: 5,
      factor: 2,
      policy: plain,
      outcome,
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'pending', nextAttemptAt: now + 30 * MIN });
    const huge = retryableOutcome({ statusCode: 503, retryAfterMs: 30 * 24 * HOUR });
    const capped = computeNextAttempt({
      attemptsMade: 1,
      retryCount: 5,
      factor: 2,
      policy: plain,
      outcome: huge,
      now,
      random: noJitter,
    });
    assert.deepEqual(capped, { state: 'pending', nextAttemptAt: now + DEFAULT_RETRY_POLICY.maxRetryAfterMs });
  });

  it('ignores a Retry-After shorter than the backoff', () => {
    const outcome = retryableOutcome({ statusCode: 503, retryAfterMs: 1_000 });
    const r = computeNextAttempt({
      attemptsMade: 3,
      retryCount: 5,
      factor: 2,
      policy: plain,
      outcome,
      now,
      random: noJitter,
    });
    assert.deepEqual(r, { state: 'pending', nextAttemptAt: now + 4 * MIN });
  });

  it('stretches the schedule to the minimum retry window with the defaults (RetryCount 5, factor 2)', () => {
    const policy = resolveRetryPolicy();
    const base = (6 * HOUR) / 31; // 1 + 2 + 4 + 8 + 16
    assert.equal(effectiveBaseDelayMs(5, 2, policy), base);
    const delays = [1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 5, 2, policy));
    assert.deepEqual(delays, [base, 2 * base, 4 * base, 8 * base, 16 * base]);
    assert.equal(
      delays.reduce((a, b) => a + b, 0),
      6 * HOUR,
    );
  });

  it('keeps the configured base when the schedule already spans the window', () => {
    const policy = resolveRetryPolicy({ minRetryWindowMs: HOUR });
    // 60 s × (1 + 2 + ... + 2^9) = 1023 min > 1 h
    assert.equal(effectiveBaseDelayMs(10, 2, policy), MIN);
  });
});

describe('resolveRetryPolicy', () => {
  it('rejects invalid settings with a readable EngineError', () => {
    assert.throws(
      () => resolveRetryPolicy({ baseDelayMs: 0 }),
      (e: unknown) => e instanceof EngineError && e.code === 'invalid_config' && e.message.includes('baseDelayMs'),
    );
    assert.throws(() => resolveRetryPolicy({ maxDelayMs: 1, baseDelayMs: 10 }), EngineError);
    assert.throws(() => resolveRetryPolicy({ jitterRatio: 2 }), EngineError);
    assert.throws(() => resolveRetryPolicy({ defaultBackoffFactor: 0.5 }), EngineError);
    assert.throws(() => resolveRetryPolicy({ defaultRetryCount: 1.5 }), EngineError);
  });
});

describe('channelRetrySettings', () => {
  it('reads RetryCount and ExponentialBackoffFactor from a webhook channel', () => {
    assert.deepEqual(
      channelRetrySettings(
        channelWith({ webHookUrl: 'https://x', retryCount: 3, exponentialBackoffFactor: 1.5 }),
        plain,
      ),
      {
        retryCount: 3,
        factor: 1.5,
      },
    );
  });

  it('uses the policy defaults for a channel without them (RabbitMQ) and clamps a factor below 1', () => {
    assert.deepEqual(channelRetrySettings(channelWith({ url: 'amqp://x', username: 'u', queueName: 'q' }), plain), {
      retryCount: DEFAULT_RETRY_POLICY.defaultRetryCount,
      factor: DEFAULT_RETRY_POLICY.defaultBackoffFactor,
    });
    assert.equal(channelRetrySettings(channelWith({ retryCount: 2, exponentialBackoffFactor: 0.1 }), plain).factor, 1);
    assert.equal(
      channelRetrySettings(channelWith({ retryCount: -1 }), plain).retryCount,
      DEFAULT_RETRY_POLICY.defaultRetryCount,
    );
  });
});
