import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordAttemptInput } from '@herald/store';
import { createAttemptRecorder } from './attempt-recorder.ts';

function input(deliveryId: string): RecordAttemptInput {
  return {
    deliveryId,
    owner: 'w1',
    attempt: {
      deliveryId,
      startedAt: 1,
      durationMs: 1,
      ok: true,
      outcome: 'delivered',
      statusCode: 200,
      brokerReply: null,
      error: null,
      responseExcerpt: null,
    },
    resolution: { state: 'delivered' },
  };
}

function fakeStore() {
  const batches: string[][] = [];
  return {
    batches,
    store: {
      recordAttempt: async (i: RecordAttemptInput) => {
        batches.push([i.deliveryId]);
        return true;
      },
      recordAttempts: async (inputs: RecordAttemptInput[]) => {
        batches.push(inputs.map((i) => i.deliveryId));
        return inputs.map(() => true);
      },
    },
  };
}

describe('attempt recorder', () => {
  it('writes a batch at once when every unrecorded attempt waits in it, without waiting out maxDelayMs', async () => {
    const { store, batches } = fakeStore();
    const record = createAttemptRecorder(store, { batchTarget: 64, maxDelayMs: 60_000, unrecorded: () => 2 });
    const started = performance.now();
    const results = await Promise.all([record(input('a'), 1), record(input('b'), 1)]);
    assert.deepEqual(results, [true, true]);
    assert.deepEqual(batches, [['a', 'b']]);
    assert.ok(performance.now() - started < 5_000, 'not held for maxDelayMs');
  });

  it('waits up to maxDelayMs while other attempts are still unrecorded', async () => {
    const { store, batches } = fakeStore();
    const record = createAttemptRecorder(store, { batchTarget: 64, maxDelayMs: 50, unrecorded: () => 3 });
    const started = performance.now();
    await Promise.all([record(input('a'), 1), record(input('b'), 1)]);
    assert.ok(performance.now() - started >= 45, 'held for maxDelayMs');
    assert.deepEqual(batches, [['a', 'b']]);
  });
});
