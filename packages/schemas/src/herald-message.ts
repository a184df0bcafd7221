import type { z } from 'zod';
import { ImageCheckingNotification } from './image-checking-notification.ts';
import { IMAGE_GENERATION_SCHEMAS, type ImageGenerationMessage } from './image-generation-message.ts';
import { IMAGE_CHECKING_MESSAGE_TYPE, type HeraldMessageType } from './message-types.ts';

/** Any message Herald carries: an image-generation message or the image-checking notification. */
export type HeraldMessage = ImageGenerationMessage | ImageCheckingNotification;

/** The schema of each message type (the image-checking one under its routing name). */
export const HERALD_MESSAGE_SCHEMAS = {
  ...IMAGE_GENERATION_SCHEMAS,
  [IMAGE_CHECKING_MESSAGE_TYPE]: ImageCheckingNotification,
} as const satisfies Record<HeraldMessageType, z.ZodType>;
