import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGE_GENERATION_MESSAGE_TYPES, parseHeraldMessage } from '@herald/schemas';
import { fixtureJson, withFields } from './fixtures.ts';

const traceId = '00-ac4f3a19e10981f5f4b5aa22ffd0d0f4-60f1194e0090da68-00';
const progress = fixtureJson('001-webhook-progress.json');
const completed = fixtureJson('001-rabbitmq-task-completed.json');
const checking = fixtureJson('000-custom-rejected.json');

describe('parseHeraldMessage', () => {
  it('routes a body by its MessageType', () => {
    const r = parseHeraldMessage(progress);
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.type, 'ImageGenerationProgress');
    const c = parseHeraldMessage(completed);
    assert.equal(c.ok && c.type, 'ImageGenerationTaskCompleted');
  });

  it('treats a body without MessageType as the image-checking notification', () => {
    const r = parseHeraldMessage(checking);
    assert.ok(r.ok);
    assert.equal(r.type, 'ImageCheckingNotification');
    assert.equal('ImageState' in r.message && r.message.ImageState, 'Rejected');
  });

  it('validates against the given type', () => {
    assert.equal(parseHeraldMessage(checking, 'ImageCheckingNotification').ok, true);
    const r = parseHeraldMessage(progress, 'ImageUpscalingProgress', { traceId });
    assert.ok(!r.ok);
    assert.deepEqual(r.problem.errors, {
      MessageType: ['expected "ImageUpscalingProgress"; received "ImageGenerationProgress"'],
    });
    const wrongShape = parseHeraldMessage(checking, 'ImageGenerationTaskCompleted', { traceId });
    assert.ok(!wrongShape.ok);
    assert.ok('MessageType' in (wrongShape.problem.errors ?? {}));
  });

  it('lists the accepted values for an unknown MessageType', () => {
    const r = parseHeraldMessage(withFields(progress, { MessageType: 'ImageGenerationFinished' }), undefined, {
      traceId,
    });
    assert.ok(!r.ok);
    const message = r.problem.errors['MessageType']?.[0] ?? '';
    for (const t of IMAGE_GENERATION_MESSAGE_TYPES) assert.ok(message.includes(t), t);
    assert.match(message, /received "ImageGenerationFinished"$/);
  });

  it('rejects a type argument that is not a Herald type', () => {
    const r = parseHeraldMessage(progress, 'Whatever' as never);
    assert.ok(!r.ok);
    assert.match(r.problem.errors['MessageType']?.[0] ?? '', /received "Whatever"$/);
  });

  it('answers a 400 problem in the documents shape with field paths', () => {
    const body = withFields(progress, { Progress: 120, Tasks: { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Done' } });
    const r = parseHeraldMessage(body, undefined, { traceId });
    assert.ok(!r.ok);
    assert.deepEqual(r.problem, {
      errors: {
        Progress: ['expected a number from 0 to 100; received number 120'],
        'Tasks.24929cc8-34da-455b-a4f1-61f895ac3a06': [
          'expected one of NotStarted, Started, InProgress, Succeeded, Failed, Cancelled; received "Done"',
        ],
      },
      type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
      title: 'One or more errors occurred.',
      status: 400,
      detail: null,
      instance: null,
      extensions: { traceId },
    });
  });

  it('rejects bodies that are not JSON objects', () => {
    for (const body of [null, [], 'text', 42]) {
      const r = parseHeraldMessage(body);
      assert.ok(!r.ok);
      assert.deepEqual(Object.keys(r.problem.errors), ['$']);
      assert.match(r.problem.errors['$']?.[0] ?? '', /^expected a JSON object; received /);
    }
  });

  it('rejects a MessageType that is not a string', () => {
    const r = parseHeraldMessage(withFields(progress, { MessageType: 7 }));
    assert.ok(!r.ok);
    assert.match(r.problem.errors['MessageType']?.[0] ?? '', /received number 7$/);
  });
});

describe('parseHeraldMessage trace ids', () => {
  it('puts a fresh documents-shaped trace id on the problem when none is given', () => {
    const r = parseHeraldMessage({});
    assert.ok(!r.ok);
    assert.match(r.problem.extensions.traceId, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});
