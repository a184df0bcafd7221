import { z } from 'zod';
import { HERALD_MESSAGE_SCHEMAS } from './herald-message.ts';
import { HERALD_MESSAGE_TYPES, type HeraldMessageType } from './message-types.ts';

/** A JSON Schema document (draft 2020-12). */
export type JsonSchema = Record<string, unknown>;

let cache: Readonly<Record<HeraldMessageType, JsonSchema>> | undefined;

/**
 * One JSON Schema (draft 2020-12) per message type, generated from the zod schemas. Field types,
 * enums, bounds, unknown-key rejection and the image-checking RejectionCode/ImageCheckingTimeStamp
 * rules are carried over; `CompletedTaskCount <= TotalTaskCount` and real calendar dates (no Feb 30)
 * cannot be said in JSON Schema and are only checked by the zod schemas. Returns fresh copies on each call.
 */
export function messageJsonSchemas(): Record<HeraldMessageType, JsonSchema> {
  cache ??= Object.fromEntries(
    HERALD_MESSAGE_TYPES.map((type) => [
      type,
      { ...z.toJSONSchema(HERALD_MESSAGE_SCHEMAS[type], { target: 'draft-2020-12', io: 'input' }), title: type },
    ]),
  ) as unknown as Record<HeraldMessageType, JsonSchema>;
  return structuredClone(cache) as Record<HeraldMessageType, JsonSchema>;
}
