import { type HeraldMessage, serializeMessage, stripImageContent } from '@herald/schemas';

const QUOTED_FIELD = '"ImageContentBytes"';

/**
 * The delivered body for a channel with includeImageData = false: the stored JSON text without
 * `ImageContentBytes`, written by the same serialiser (documented field order, doubles as printed).
 * Returns the input unchanged when the field is absent.
 */
export function stripImageContentBytes(body: string): string {
  // Cheap pre-check: most bodies (progress, image-checking) never carry the field.
  if (!body.includes(QUOTED_FIELD)) return body;
  const value: unknown = JSON.parse(body);
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.hasOwn(value, 'ImageContentBytes')
  ) {
    return body;
  }
  return serializeMessage(stripImageContent(value as HeraldMessage));
}
