import type { z } from 'zod';
import { describeValue } from './describe-value.ts';
import { HERALD_MESSAGE_SCHEMAS, type HeraldMessage } from './herald-message.ts';
import {
  type HeraldMessageType,
  IMAGE_CHECKING_MESSAGE_TYPE,
  IMAGE_GENERATION_MESSAGE_TYPES,
  isHeraldMessageType,
} from './message-types.ts';
import { createProblem, type ProblemDocument, problemFromZodError } from './problem-details.ts';
import { traceIdFromTraceparent } from './trace-id.ts';

export type ParseHeraldMessageResult =
  | { ok: true; type: HeraldMessageType; message: HeraldMessage }
  | { ok: false; problem: ProblemDocument };

export interface ParseHeraldMessageOptions {
  /** Put on the problem's `extensions.traceId` (a new random one when absent); see `traceIdFromTraceparent`. */
  traceId?: string | undefined;
}

function fieldProblem(field: string, message: string, traceId: string): ProblemDocument {
  return createProblem({ status: 400, traceId, errors: { [field]: [message] } });
}

/**
 * Validates a message body (already JSON-parsed). With `type`, the body must be a message of that
 * type (an image-generation body's `MessageType` must match it). Without `type`, a body with a
 * `MessageType` field is an image-generation message and one without is the image-checking notification.
 * Bad input is a result: a 400 problem with field-level errors.
 */
export function parseHeraldMessage(
  body: unknown,
  type?: HeraldMessageType,
  options: ParseHeraldMessageOptions = {},
): ParseHeraldMessageResult {
  const traceId = options.traceId ?? traceIdFromTraceparent();
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      problem: fieldProblem('$', `expected a JSON object; received ${describeValue(body)}`, traceId),
    };
  }
  const declared: unknown = (body as Record<string, unknown>)['MessageType'];
  let resolved: HeraldMessageType;
  if (type !== undefined) {
    if (!isHeraldMessageType(type)) {
      return {
        ok: false,
        problem: fieldProblem(
          'MessageType',
          `expected one of ${[...IMAGE_GENERATION_MESSAGE_TYPES, IMAGE_CHECKING_MESSAGE_TYPE].join(', ')}; received ${describeValue(type)}`,
          traceId,
        ),
      };
    }
    resolved = type;
  } else if (declared === undefined) {
    resolved = IMAGE_CHECKING_MESSAGE_TYPE;
  } else if (typeof declared === 'string' && (IMAGE_GENERATION_MESSAGE_TYPES as readonly string[]).includes(declared)) {
    resolved = declared as HeraldMessageType;
  } else {
    return {
      ok: false,
      problem: fieldProblem(
        'MessageType',
        `expected one of ${IMAGE_GENERATION_MESSAGE_TYPES.join(', ')} (or no MessageType for an image-checking notification); received ${describeValue(declared)}`,
        traceId,
      ),
    };
  }
  const schema: z.ZodType<HeraldMessage> = HERALD_MESSAGE_SCHEMAS[resolved];
  const result = schema.safeParse(body);
  if (!result.success) return { ok: false, problem: problemFromZodError(result.error, traceId) };
  return { ok: true, type: resolved, message: result.data };
}
