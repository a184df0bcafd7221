import { z } from 'zod';
import { closedObject } from './closed-object.ts';
import { describeValue } from './describe-value.ts';
import { Base64, enumOf, nonNegativeInt, requiredBoolean, requiredString, Uuid } from './fields.ts';
import {
  IMAGE_GENERATION_COMPLETED_TYPES,
  IMAGE_GENERATION_PROGRESS_TYPES,
  type ImageGenerationCompletedType,
  type ImageGenerationProgressType,
} from './message-types.ts';

/** States of a render request and of each of its tasks (`RequestRenderState`, `Tasks` values). */
export const RENDER_STATES = ['NotStarted', 'Started', 'InProgress', 'Succeeded', 'Failed', 'Cancelled'] as const;
export const RenderState = enumOf(RENDER_STATES);
export type RenderState = z.infer<typeof RenderState>;

/** Field order of a progress message, as the document prints it (serialisation follows it). */
export const PROGRESS_FIELD_ORDER = [
  'MessageType',
  'RequestRenderState',
  'ApplicationId',
  'UserId',
  'ImageRenderProcessId',
  'TotalTaskCount',
  'CompletedTaskCount',
  'Progress',
  'Tasks',
  'RenderKind',
  'RenderType',
  'IsSuccessful',
  'ErrorMessage',
] as const;

/** Field order of a task-completed message, as the document prints it. */
export const TASK_COMPLETED_FIELD_ORDER = [
  'MessageType',
  'ApplicationId',
  'UserId',
  'ImageRenderProcessId',
  'TaskId',
  'ImageContentBytes',
  'IsSuccessful',
  'ErrorMessage',
] as const;

function messageTypeLiteral<T extends string>(type: T) {
  return z.literal(type, { error: (i) => `expected ${JSON.stringify(type)}; received ${describeValue(i.input)}` });
}

const Progress = z
  .number({ error: (i) => `expected a number from 0 to 100; received ${describeValue(i.input)}` })
  .min(0, { error: (i) => `expected a number from 0 to 100; received ${describeValue(i.input)}` })
  .max(100, { error: (i) => `expected a number from 0 to 100; received ${describeValue(i.input)}` });

const Tasks = z.record(Uuid, RenderState, {
  error: (i) => `expected an object mapping task ids to states; received ${describeValue(i.input)}`,
});

function createProgressSchema<T extends ImageGenerationProgressType>(type: T) {
  return closedObject({
    MessageType: messageTypeLiteral(type),
    RequestRenderState: RenderState,
    ApplicationId: Uuid,
    UserId: Uuid,
    ImageRenderProcessId: Uuid,
    TotalTaskCount: nonNegativeInt(),
    CompletedTaskCount: nonNegativeInt(),
    Progress,
    Tasks,
    RenderKind: z.int({ error: (i) => `expected a whole number; received ${describeValue(i.input)}` }),
    RenderType: z.int({ error: (i) => `expected a whole number; received ${describeValue(i.input)}` }),
    IsSuccessful: requiredBoolean(),
    ErrorMessage: requiredString('a string (may be empty)'),
  }).check((ctx) => {
    const { CompletedTaskCount, TotalTaskCount } = ctx.value;
    // Only compare two valid counts; a bad count already has its own error.
    const valid = (n: number) => Number.isSafeInteger(n) && n >= 0;
    if (valid(CompletedTaskCount) && valid(TotalTaskCount) && CompletedTaskCount > TotalTaskCount) {
      ctx.issues.push({
        code: 'custom',
        input: CompletedTaskCount,
        path: ['CompletedTaskCount'],
        message: `expected at most TotalTaskCount (${TotalTaskCount}); received ${CompletedTaskCount}`,
      });
    }
  });
}

function createTaskCompletedSchema<T extends ImageGenerationCompletedType>(type: T) {
  return closedObject({
    MessageType: messageTypeLiteral(type),
    ApplicationId: Uuid,
    UserId: Uuid,
    ImageRenderProcessId: Uuid,
    TaskId: Uuid,
    // Absent or null when the channel strips image data (includeImageData = false).
    ImageContentBytes: Base64.nullable().optional(),
    IsSuccessful: requiredBoolean(),
    ErrorMessage: requiredString('a string (may be empty)'),
  });
}

export const ImageGenerationProgress = createProgressSchema('ImageGenerationProgress');
export type ImageGenerationProgress = z.infer<typeof ImageGenerationProgress>;
export const ImageUpscalingProgress = createProgressSchema('ImageUpscalingProgress');
export type ImageUpscalingProgress = z.infer<typeof ImageUpscalingProgress>;
export const ImageFaceEnhancingProgress = createProgressSchema('ImageFaceEnhancingProgress');
export type ImageFaceEnhancingProgress = z.infer<typeof ImageFaceEnhancingProgress>;
export const ImageBackgroundRemovingProgress = createProgressSchema('ImageBackgroundRemovingProgress');
export type ImageBackgroundRemovingProgress = z.infer<typeof ImageBackgroundRemovingProgress>;
export const ImageStockGenerationProgress = createProgressSchema('ImageStockGenerationProgress');
export type ImageStockGenerationProgress = z.infer<typeof ImageStockGenerationProgress>;

export const ImageGenerationTaskCompleted = createTaskCompletedSchema('ImageGenerationTaskCompleted');
export type ImageGenerationTaskCompleted = z.infer<typeof ImageGenerationTaskCompleted>;
export const ImageUpscalingTaskCompleted = createTaskCompletedSchema('ImageUpscalingTaskCompleted');
export type ImageUpscalingTaskCompleted = z.infer<typeof ImageUpscalingTaskCompleted>;
export const ImageFaceEnhancingTaskCompleted = createTaskCompletedSchema('ImageFaceEnhancingTaskCompleted');
export type ImageFaceEnhancingTaskCompleted = z.infer<typeof ImageFaceEnhancingTaskCompleted>;
export const ImageBackgroundRemovingTaskCompleted = createTaskCompletedSchema('ImageBackgroundRemovingTaskCompleted');
export type ImageBackgroundRemovingTaskCompleted = z.infer<typeof ImageBackgroundRemovingTaskCompleted>;
export const ImageStockGenerationTaskCompleted = createTaskCompletedSchema('ImageStockGenerationTaskCompleted');
export type ImageStockGenerationTaskCompleted = z.infer<typeof ImageStockGenerationTaskCompleted>;

/** Any progress message (the five `*Progress` types). */
export type ImageGenerationProgressMessage =
  | ImageGenerationProgress
  | ImageUpscalingProgress
  | ImageFaceEnhancingProgress
  | ImageBackgroundRemovingProgress
  | ImageStockGenerationProgress;

/** Any task-completed message (the five `*TaskCompleted` types). */
export type ImageGenerationTaskCompletedMessage =
  | ImageGenerationTaskCompleted
  | ImageUpscalingTaskCompleted
  | ImageFaceEnhancingTaskCompleted
  | ImageBackgroundRemovingTaskCompleted
  | ImageStockGenerationTaskCompleted;

/** The ten image-generation message schemas keyed by their `MessageType`. */
export const IMAGE_GENERATION_SCHEMAS = {
  ImageGenerationProgress,
  ImageUpscalingProgress,
  ImageFaceEnhancingProgress,
  ImageBackgroundRemovingProgress,
  ImageStockGenerationProgress,
  ImageGenerationTaskCompleted,
  ImageUpscalingTaskCompleted,
  ImageFaceEnhancingTaskCompleted,
  ImageBackgroundRemovingTaskCompleted,
  ImageStockGenerationTaskCompleted,
} as const;

/** Any of the ten image-generation messages, discriminated on `MessageType`. */
export const ImageGenerationMessage = z.discriminatedUnion(
  'MessageType',
  [
    ImageGenerationProgress,
    ImageUpscalingProgress,
    ImageFaceEnhancingProgress,
    ImageBackgroundRemovingProgress,
    ImageStockGenerationProgress,
    ImageGenerationTaskCompleted,
    ImageUpscalingTaskCompleted,
    ImageFaceEnhancingTaskCompleted,
    ImageBackgroundRemovingTaskCompleted,
    ImageStockGenerationTaskCompleted,
  ],
  {
    error: (i) =>
      `expected MessageType to be one of ${[...IMAGE_GENERATION_PROGRESS_TYPES, ...IMAGE_GENERATION_COMPLETED_TYPES].join(', ')}; received ${describeValue(
        typeof i.input === 'object' && i.input !== null ? (i.input as Record<string, unknown>)['MessageType'] : i.input,
      )}`,
  },
);
export type ImageGenerationMessage = z.infer<typeof ImageGenerationMessage>;
