import { z } from 'zod';
import { describeValue } from './describe-value.ts';
import { SchemasError } from './schemas-error.ts';

/** The ten image-generation message types of the source document, progress types first. */
export const IMAGE_GENERATION_MESSAGE_TYPES = [
  'ImageGenerationProgress',
  'ImageUpscalingProgress',
  'ImageFaceEnhancingProgress',
  'ImageBackgroundRemovingProgress',
  'ImageStockGenerationProgress',
  'ImageGenerationTaskCompleted',
  'ImageUpscalingTaskCompleted',
  'ImageFaceEnhancingTaskCompleted',
  'ImageBackgroundRemovingTaskCompleted',
  'ImageStockGenerationTaskCompleted',
] as const;
export type ImageGenerationMessageType = (typeof IMAGE_GENERATION_MESSAGE_TYPES)[number];

export const IMAGE_GENERATION_PROGRESS_TYPES = [
  'ImageGenerationProgress',
  'ImageUpscalingProgress',
  'ImageFaceEnhancingProgress',
  'ImageBackgroundRemovingProgress',
  'ImageStockGenerationProgress',
] as const;
export type ImageGenerationProgressType = (typeof IMAGE_GENERATION_PROGRESS_TYPES)[number];

export const IMAGE_GENERATION_COMPLETED_TYPES = [
  'ImageGenerationTaskCompleted',
  'ImageUpscalingTaskCompleted',
  'ImageFaceEnhancingTaskCompleted',
  'ImageBackgroundRemovingTaskCompleted',
  'ImageStockGenerationTaskCompleted',
] as const;
export type ImageGenerationCompletedType = (typeof IMAGE_GENERATION_COMPLETED_TYPES)[number];

/**
 * Herald's routing name for the image-checking push. The wire body has no `MessageType`
 * field; this name only travels beside the body (publish API, storage, routing).
 */
export const IMAGE_CHECKING_MESSAGE_TYPE = 'ImageCheckingNotification' as const;

/** Every message type Herald accepts: the ten image-generation types and the image-checking notification. */
export const HERALD_MESSAGE_TYPES = [...IMAGE_GENERATION_MESSAGE_TYPES, IMAGE_CHECKING_MESSAGE_TYPE] as const;

export const HeraldMessageType = z.enum(HERALD_MESSAGE_TYPES, {
  error: (issue) => `expected one of ${HERALD_MESSAGE_TYPES.join(', ')}; received ${describeValue(issue.input)}`,
});
export type HeraldMessageType = z.infer<typeof HeraldMessageType>;

/** What a message reports: a progress update, one completed task, or an image-checking decision. */
export type MessageCategory = 'progress' | 'completed' | 'image-checking';

const progressTypes: ReadonlySet<string> = new Set(IMAGE_GENERATION_PROGRESS_TYPES);
const completedTypes: ReadonlySet<string> = new Set(IMAGE_GENERATION_COMPLETED_TYPES);

export function isHeraldMessageType(value: unknown): value is HeraldMessageType {
  return typeof value === 'string' && (HERALD_MESSAGE_TYPES as readonly string[]).includes(value);
}

export function messageCategory(type: HeraldMessageType): MessageCategory {
  if (type === IMAGE_CHECKING_MESSAGE_TYPE) return 'image-checking';
  if (progressTypes.has(type)) return 'progress';
  if (completedTypes.has(type)) return 'completed';
  throw new SchemasError('UNKNOWN_MESSAGE_TYPE', `unknown message type ${describeValue(type)}`);
}
