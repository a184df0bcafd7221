import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HERALD_MESSAGE_TYPES, messageCategory, messageJsonSchemas } from '@herald/schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fixtureJson, withFields } from './fixtures.ts';

const schemas = messageJsonSchemas();
const ajv = new Ajv2020({ strict: true, allErrors: true, strictRequired: false });
addFormats.default(ajv);
const validators = Object.fromEntries(HERALD_MESSAGE_TYPES.map((t) => [t, ajv.compile(schemas[t])]));

function valid(type: (typeof HERALD_MESSAGE_TYPES)[number], body: unknown): boolean {
  const validate = validators[type];
  assert.ok(validate);
  return validate(body) as boolean;
}

const progress = fixtureJson('001-webhook-progress.json');
const completed = fixtureJson('001-webhook-task-completed.json');
const galleryAccepted = fixtureJson('000-gallery-accepted.json');
const customPending = fixtureJson('000-custom-pending.json');
const customRejected = fixtureJson('000-custom-rejected.json');
const customAccepted = fixtureJson('000-custom-accepted.json');

describe('messageJsonSchemas', () => {
  it('gives one draft 2020-12 schema per Herald message type', () => {
    assert.deepEqual(Object.keys(schemas).sort(), [...HERALD_MESSAGE_TYPES].sort());
    for (const t of HERALD_MESSAGE_TYPES) {
      assert.equal(schemas[t]['$schema'], 'https://json-schema.org/draft/2020-12/schema');
      assert.equal(schemas[t]['title'], t);
    }
  });

  it('returns copies that callers cannot corrupt', () => {
    const mine = messageJsonSchemas();
    mine.ImageGenerationProgress['type'] = 'string';
    assert.equal(messageJsonSchemas().ImageGenerationProgress['type'], 'object');
  });

  it('accepts every document example under its type', () => {
    assert.ok(valid('ImageGenerationProgress', progress));
    assert.ok(valid('ImageGenerationProgress', fixtureJson('001-rabbitmq-progress.json')));
    assert.ok(valid('ImageGenerationTaskCompleted', completed));
    assert.ok(valid('ImageGenerationTaskCompleted', fixtureJson('001-rabbitmq-task-completed.json')));
    for (const body of [galleryAccepted, customPending, customRejected, customAccepted]) {
      assert.ok(
        valid('ImageCheckingNotification', body),
        JSON.stringify(validators['ImageCheckingNotification']?.errors),
      );
    }
  });

  it('accepts each of the ten types with its own MessageType only', () => {
    for (const t of HERALD_MESSAGE_TYPES) {
      if (t === 'ImageCheckingNotification') continue;
      const base = messageCategory(t) === 'progress' ? progress : completed;
      assert.ok(valid(t, withFields(base, { MessageType: t })), t);
      assert.equal(valid(t, withFields(base, { MessageType: 'ImageGenerationOther' })), false, t);
    }
  });

  it('rejects bad image-generation bodies', () => {
    assert.equal(valid('ImageGenerationProgress', withFields(progress, { Progress: 101 })), false);
    assert.equal(valid('ImageGenerationProgress', withFields(progress, { TotalTaskCount: -1 })), false);
    assert.equal(valid('ImageGenerationProgress', withFields(progress, { Tasks: { 'not-a-uuid': 'Started' } })), false);
    assert.equal(
      valid(
        'ImageGenerationProgress',
        withFields(progress, { Tasks: { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Done' } }),
      ),
      false,
    );
    assert.equal(valid('ImageGenerationProgress', withFields(progress, { progress: 80 })), false);
    assert.equal(valid('ImageGenerationTaskCompleted', withFields(completed, { TaskId: undefined })), false);
    assert.equal(valid('ImageGenerationTaskCompleted', withFields(completed, { ImageContentBytes: 'a b' })), false);
    assert.ok(valid('ImageGenerationTaskCompleted', withFields(completed, { ImageContentBytes: null })));
    assert.ok(valid('ImageGenerationTaskCompleted', withFields(completed, { ImageContentBytes: undefined })));
  });

  it('carries the image-checking rules', () => {
    const t = 'ImageCheckingNotification';
    assert.equal(valid(t, withFields(galleryAccepted, { RejectionCode: '01' })), false);
    assert.equal(valid(t, withFields(customPending, { RejectionCode: '00' })), false);
    assert.equal(valid(t, withFields(customRejected, { RejectionCode: '00' })), false);
    assert.equal(valid(t, withFields(customRejected, { RejectionCode: '' })), false);
    assert.equal(valid(t, withFields(customAccepted, { ImageCheckingTimeStamp: '' })), false);
    assert.equal(valid(t, withFields(galleryAccepted, { ImageCheckingTimeStamp: '20241220190512' })), false);
    assert.equal(valid(t, withFields(customPending, { ImageCheckingTimeStamp: '20241220190512' })), false);
    assert.equal(valid(t, withFields(customAccepted, { SubmissionTimeStamp: '2024-12-20' })), false);
    assert.equal(valid(t, withFields(customAccepted, { Orientation: 'Landscape' })), false);
    assert.equal(valid(t, withFields(customAccepted, { MessageType: 'ImageCheckingNotification' })), false);
  });
});
