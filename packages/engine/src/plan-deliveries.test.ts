import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Channel, ChannelOptions } from '@herald/store';
import { planDeliveries } from './plan-deliveries.ts';

function channel(id: string, options: ChannelOptions): Channel {
  return {
    id,
    applicationId: 'a',
    kind: 0,
    isActive: true,
    includeImageData: true,
    config: { webHookUrl: 'https://example.test/hook', retryCount: 3, exponentialBackoffFactor: 2 },
    secrets: {},
    options,
    disabledReason: null,
    failingSince: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

const progress = { MessageType: 'ImageGenerationProgress', ImageRenderProcessId: 'p-1', Progress: 50 };
const completed = { MessageType: 'ImageGenerationTaskCompleted', ImageRenderProcessId: 'p-1', TaskId: 't-1' };

describe('planDeliveries', () => {
  it('plans one delivery per channel with no keys by default', () => {
    assert.deepEqual(planDeliveries([channel('c1', {}), channel('c2', {})], progress, 'ImageGenerationProgress'), [
      { channelId: 'c1', orderingKey: null, coalesceKey: null },
      { channelId: 'c2', orderingKey: null, coalesceKey: null },
    ]);
  });

  it("takes the ordering key from the channel's field, null when the message lacks it", () => {
    const plan = planDeliveries(
      [channel('c1', { orderingKey: 'ImageRenderProcessId' }), channel('c2', { orderingKey: 'ImageId' })],
      progress,
      'ImageGenerationProgress',
    );
    assert.equal(plan[0]?.orderingKey, 'p-1');
    assert.equal(plan[1]?.orderingKey, null);
  });

  it('coalesces only progress messages, only on channels that ask for it', () => {
    const channels = [channel('c1', { coalesceProgress: true }), channel('c2', {})];
    const p = planDeliveries(channels, progress, 'ImageGenerationProgress');
    assert.equal(p[0]?.coalesceKey, 'p-1');
    assert.equal(p[1]?.coalesceKey, null);
    const c = planDeliveries(channels, completed, 'ImageGenerationTaskCompleted');
    assert.equal(c[0]?.coalesceKey, null);
  });
});
