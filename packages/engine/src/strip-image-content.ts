const FIELD = 'ImageContentBytes';
const QUOTED_FIELD = `"${FIELD}"`;

/**
 * The delivered body for a channel with includeImageData = false: the stored JSON text without
 * `ImageContentBytes`, other fields in their order. Returns the input unchanged when the field is absent.
 */
export function stripImageContentBytes(body: string): string {
  // Cheap pre-check: most bodies (progress, image-checking) never carry the field.
  if (!body.includes(QUOTED_FIELD)) return body;
  const value: unknown = JSON.parse(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, FIELD)) {
    return body;
  }
  const { [FIELD]: _removed, ...rest } = value as Record<string, unknown>;
  return JSON.stringify(rest);
}
