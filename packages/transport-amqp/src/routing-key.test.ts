import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HERALD_MESSAGE_TYPES,
  IMAGE_GENERATION_COMPLETED_TYPES,
  IMAGE_GENERATION_PROGRESS_TYPES,
} from '@herald/schemas';
import { AmqpTransportError } from './amqp-transport-error.ts';
import { ALL_ROUTING_KEYS, routingKeyFor } from './routing-key.ts';

describe('routingKeyFor', () => {
  it('routes every *Progress type to progress.update', () => {
    for (const t of IMAGE_GENERATION_PROGRESS_TYPES) assert.equal(routingKeyFor(t), 'progress.update', t);
  });
  it('routes every *TaskCompleted type to task.completed', () => {
    for (const t of IMAGE_GENERATION_COMPLETED_TYPES) assert.equal(routingKeyFor(t), 'task.completed', t);
  });
  it('routes the image-checking notification to image.checking', () => {
    assert.equal(routingKeyFor('ImageCheckingNotification'), 'image.checking');
  });
  it('gives every known type one of the bound keys', () => {
    for (const t of HERALD_MESSAGE_TYPES) assert.ok(ALL_ROUTING_KEYS.includes(routingKeyFor(t)), t);
  });
  it('routes unknown types by the suffix rule', () => {
    assert.equal(routingKeyFor('ImageColorizingProgress'), 'progress.update');
    assert.equal(routingKeyFor('ImageColorizingTaskCompleted'), 'task.completed');
  });
  it('throws UNKNOWN_MESSAGE_TYPE for anything else', () => {
    assert.throws(
      () => routingKeyFor('ImageDeleted'),
      (err: unknown) => err instanceof AmqpTransportError && err.code === 'UNKNOWN_MESSAGE_TYPE',
    );
    assert.throws(() => routingKeyFor(''), AmqpTransportError);
  });
});
