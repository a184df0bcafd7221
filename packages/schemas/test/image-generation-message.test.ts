import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HERALD_MESSAGE_TYPES,
  IMAGE_CHECKING_MESSAGE_TYPE,
  IMAGE_GENERATION_MESSAGE_TYPES,
  IMAGE_GENERATION_SCHEMAS,
  ImageGenerationMessage,
  ImageGenerationProgress,
  ImageGenerationTaskCompleted,
  ImageStockGenerationTaskCompleted,
  ImageUpscalingProgress,
  messageCategory,
  RENDER_STATES,
} from '@herald/schemas';
import { errorsOf, fixtureJson, withFields } from './fixtures.ts';

const completed = fixtureJson('001-webhook-task-completed.json');
const progress = fixtureJson('001-webhook-progress.json');

describe('message types', () => {
  it('lists the ten documented image-generation types and the image-checking routing name', () => {
    assert.equal(IMAGE_GENERATION_MESSAGE_TYPES.length, 10);
    assert.equal(new Set(IMAGE_GENERATION_MESSAGE_TYPES).size, 10);
    assert.deepEqual(HERALD_MESSAGE_TYPES, [...IMAGE_GENERATION_MESSAGE_TYPES, 'ImageCheckingNotification']);
    assert.equal(IMAGE_CHECKING_MESSAGE_TYPE, 'ImageCheckingNotification');
  });

  it('puts each type in its category', () => {
    assert.equal(messageCategory('ImageGenerationProgress'), 'progress');
    assert.equal(messageCategory('ImageBackgroundRemovingProgress'), 'progress');
    assert.equal(messageCategory('ImageGenerationTaskCompleted'), 'completed');
    assert.equal(messageCategory('ImageStockGenerationTaskCompleted'), 'completed');
    assert.equal(messageCategory('ImageCheckingNotification'), 'image-checking');
    const progressCount = IMAGE_GENERATION_MESSAGE_TYPES.filter((t) => messageCategory(t) === 'progress').length;
    assert.equal(progressCount, 5);
  });

  it('throws a coded error for a type that is not a Herald type', () => {
    assert.throws(() => messageCategory('Nope' as never), { name: 'SchemasError', code: 'UNKNOWN_MESSAGE_TYPE' });
  });
});

describe('document examples', () => {
  for (const name of [
    '001-webhook-task-completed.json',
    '001-rabbitmq-task-completed.json',
    '001-webhook-progress.json',
    '001-rabbitmq-progress.json',
  ]) {
    it(`parses ${name} through the union`, () => {
      const r = ImageGenerationMessage.safeParse(fixtureJson(name));
      assert.equal(r.success, true, JSON.stringify(r.error?.issues));
    });
  }

  it('keeps the parsed values', () => {
    const m = ImageGenerationProgress.parse(progress);
    assert.equal(m.Progress, 80);
    assert.equal(m.Tasks['24929cc8-34da-455b-a4f1-61f895ac3a06'], 'Succeeded');
    assert.equal(m.RequestRenderState, 'Succeeded');
  });
});

describe('the shared shapes', () => {
  it('accepts each of the ten types with the matching shape, and only with it', () => {
    for (const type of IMAGE_GENERATION_MESSAGE_TYPES) {
      const body = withFields(messageCategory(type) === 'progress' ? progress : completed, { MessageType: type });
      assert.equal(IMAGE_GENERATION_SCHEMAS[type].safeParse(body).success, true, type);
      assert.equal(ImageGenerationMessage.parse(body).MessageType, type);
      const other = withFields(messageCategory(type) === 'progress' ? completed : progress, { MessageType: type });
      assert.equal(ImageGenerationMessage.safeParse(other).success, false, `${type} with the other shape`);
    }
  });

  it('rejects a body whose MessageType belongs to another schema', () => {
    const errors = errorsOf(ImageUpscalingProgress, progress);
    assert.deepEqual(errors, {
      MessageType: ['expected "ImageUpscalingProgress"; received "ImageGenerationProgress"'],
    });
  });

  it('lists the accepted MessageType values for an unknown one', () => {
    const errors = errorsOf(ImageGenerationMessage, withFields(progress, { MessageType: 'ImageGenerationDone' }));
    const message = errors?.['MessageType']?.[0] ?? '';
    assert.match(message, /ImageGenerationProgress, ImageUpscalingProgress/);
    assert.match(message, /ImageStockGenerationTaskCompleted/);
    assert.match(message, /received "ImageGenerationDone"/);
  });

  it('knows the task and render states', () => {
    for (const s of ['NotStarted', 'Started', 'InProgress', 'Succeeded', 'Failed', 'Cancelled']) {
      assert.ok((RENDER_STATES as readonly string[]).includes(s));
    }
  });
});

describe('progress rules', () => {
  it('rejects CompletedTaskCount above TotalTaskCount', () => {
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { CompletedTaskCount: 11 })), {
      CompletedTaskCount: ['expected at most TotalTaskCount (10); received 11'],
    });
  });

  it('accepts CompletedTaskCount equal to TotalTaskCount and zero of zero', () => {
    assert.equal(ImageGenerationProgress.safeParse(withFields(progress, { CompletedTaskCount: 10 })).success, true);
    const empty = withFields(progress, { CompletedTaskCount: 0, TotalTaskCount: 0, Progress: 0, Tasks: {} });
    assert.equal(ImageGenerationProgress.safeParse(empty).success, true);
  });

  it('rejects negative and fractional counts', () => {
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { TotalTaskCount: -1 })), {
      TotalTaskCount: ['expected a number >= 0; received number -1'],
    });
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { CompletedTaskCount: 2.5 })), {
      CompletedTaskCount: ['expected a whole number; received number 2.5'],
    });
  });

  it('keeps Progress within 0..100', () => {
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { Progress: 100.5 })), {
      Progress: ['expected a number from 0 to 100; received number 100.5'],
    });
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { Progress: -0.1 })), {
      Progress: ['expected a number from 0 to 100; received number -0.1'],
    });
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { Progress: '80' })), {
      Progress: ['expected a number from 0 to 100; received "80"'],
    });
    assert.equal(ImageGenerationProgress.safeParse(withFields(progress, { Progress: 100 })).success, true);
    assert.equal(ImageGenerationProgress.safeParse(withFields(progress, { Progress: 33.3 })).success, true);
  });

  it('names the task whose state is unknown', () => {
    const tasks = { '24929cc8-34da-455b-a4f1-61f895ac3a06': 'Done' };
    assert.deepEqual(errorsOf(ImageGenerationProgress, withFields(progress, { Tasks: tasks })), {
      'Tasks.24929cc8-34da-455b-a4f1-61f895ac3a06': [
        'expected one of NotStarted, Started, InProgress, Succeeded, Failed, Cancelled; received "Done"',
      ],
    });
  });

  it('rejects a task id that is not a UUID', () => {
    const errors = errorsOf(ImageGenerationProgress, withFields(progress, { Tasks: { 'task-1': 'Started' } }));
    assert.deepEqual(Object.keys(errors ?? {}), ['Tasks.task-1']);
    assert.match(errors?.['Tasks.task-1']?.[0] ?? '', /^invalid key: expected a UUID/);
  });

  it('rejects an unknown RequestRenderState and non-integer RenderKind', () => {
    const errors = errorsOf(
      ImageGenerationProgress,
      withFields(progress, { RequestRenderState: 'Running', RenderKind: 1.5 }),
    );
    assert.deepEqual(errors, {
      RequestRenderState: [
        'expected one of NotStarted, Started, InProgress, Succeeded, Failed, Cancelled; received "Running"',
      ],
      RenderKind: ['expected a whole number; received number 1.5'],
    });
  });
});

describe('task-completed rules', () => {
  it('accepts ImageContentBytes absent or null (stripped by the channel)', () => {
    assert.equal(
      ImageGenerationTaskCompleted.safeParse(withFields(completed, { ImageContentBytes: undefined })).success,
      true,
    );
    assert.equal(
      ImageGenerationTaskCompleted.safeParse(withFields(completed, { ImageContentBytes: null })).success,
      true,
    );
  });

  it('rejects ImageContentBytes that is not base64', () => {
    assert.deepEqual(
      errorsOf(ImageGenerationTaskCompleted, withFields(completed, { ImageContentBytes: 'not base64!' })),
      {
        ImageContentBytes: ['expected base64 text (A-Z, a-z, 0-9, +, /, trailing = padding)'],
      },
    );
    assert.equal(
      ImageGenerationTaskCompleted.safeParse(withFields(completed, { ImageContentBytes: 'iVBORw0KGgo=' })).success,
      true,
    );
  });

  it('accepts a failed task with an error message', () => {
    const failed = withFields(completed, {
      IsSuccessful: false,
      ErrorMessage: 'render timed out',
      ImageContentBytes: null,
    });
    assert.equal(
      ImageStockGenerationTaskCompleted.safeParse(
        withFields(failed, { MessageType: 'ImageStockGenerationTaskCompleted' }),
      ).success,
      true,
    );
  });

  it('accepts the non-standard UUID variants of the documents and rejects other shapes', () => {
    const odd = withFields(completed, { ApplicationId: '4e2d4910-d39f-f887-6ec4-b3c82e3c0099' });
    assert.equal(ImageGenerationTaskCompleted.safeParse(odd).success, true);
    assert.deepEqual(errorsOf(ImageGenerationTaskCompleted, withFields(completed, { UserId: '2581c740' })), {
      UserId: ['expected a UUID like d5eabbb8-c0f6-4640-94fd-3566edad499f; received "2581c740"'],
    });
  });

  it('requires every documented field and says which one is missing', () => {
    const errors = errorsOf(
      ImageGenerationTaskCompleted,
      withFields(completed, { TaskId: undefined, IsSuccessful: undefined }),
    );
    assert.deepEqual(errors, {
      TaskId: ['expected a UUID string; received nothing'],
      IsSuccessful: ['expected true or false; received nothing'],
    });
  });

  it('rejects a mistyped field name instead of ignoring it', () => {
    const body = withFields(completed, { ErrorMessage: undefined, errorMessage: '' });
    assert.deepEqual(errorsOf(ImageGenerationTaskCompleted, body), {
      ErrorMessage: ['expected a string (may be empty); received nothing'],
      errorMessage: ['unknown field "errorMessage"; did you mean "ErrorMessage"?'],
    });
  });

  it('suggests the closest field for a typo and none for an unrelated name', () => {
    const body = withFields(completed, { IsSuccesful: true, Colour: 'red' });
    assert.deepEqual(errorsOf(ImageGenerationTaskCompleted, body), {
      IsSuccesful: ['unknown field "IsSuccesful"; did you mean "IsSuccessful"?'],
      Colour: ['unknown field "Colour" (field names are case-sensitive)'],
    });
  });
});
