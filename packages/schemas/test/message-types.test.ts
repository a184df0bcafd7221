import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue, HeraldMessageType, ImageGenerationMessage, isHeraldMessageType } from '@herald/schemas';
import { errorsOf } from './fixtures.ts';

describe('HeraldMessageType', () => {
  it('accepts the eleven names and lists them when it refuses one', () => {
    assert.equal(HeraldMessageType.parse('ImageCheckingNotification'), 'ImageCheckingNotification');
    assert.equal(isHeraldMessageType('ImageUpscalingTaskCompleted'), true);
    assert.equal(isHeraldMessageType('imageupscalingtaskcompleted'), false);
    assert.equal(isHeraldMessageType(3), false);
    const errors = errorsOf(HeraldMessageType, 'ImageChecking');
    assert.match(
      errors?.['$']?.[0] ?? '',
      /^expected one of ImageGenerationProgress, .*ImageCheckingNotification; received "ImageChecking"$/,
    );
  });

  it('says a MessageType is missing', () => {
    const errors = errorsOf(ImageGenerationMessage, { ApplicationId: 'd5eabbb8-c0f6-4640-94fd-3566edad499f' });
    assert.match(errors?.['MessageType']?.[0] ?? '', /received nothing$/);
  });
});

describe('describeValue', () => {
  it('renders received values briefly', () => {
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue('x'.repeat(50)), `"${'x'.repeat(40)}..."`);
    assert.equal(describeValue(1.5), 'number 1.5');
    assert.equal(describeValue(false), 'boolean false');
    assert.equal(describeValue([1]), 'an array');
    assert.equal(describeValue({ a: 1 }), 'an object');
  });
});
