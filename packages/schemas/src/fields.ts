import { z } from 'zod';
import { describeValue } from './describe-value.ts';

// RFC 4122 shape only: the documents' own ids (4e2d4910-d39f-f887-...) break the version/variant bits.
const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID in 8-4-4-4-12 hex form; version and variant bits are not checked. */
export const Uuid = z
  .string({ error: (i) => `expected a UUID string; received ${describeValue(i.input)}` })
  .regex(uuidPattern, {
    error: (i) => `expected a UUID like d5eabbb8-c0f6-4640-94fd-3566edad499f; received ${describeValue(i.input)}`,
  });
export type Uuid = z.infer<typeof Uuid>;

// Alphabet and padding position only: the document's own example ("base64encodedimagecontent==") has an impossible length.
const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 text (alphabet and trailing padding checked; length is not). */
export const Base64 = z
  .string({ error: (i) => `expected a base64 string; received ${describeValue(i.input)}` })
  .regex(base64Pattern, { error: () => 'expected base64 text (A-Z, a-z, 0-9, +, /, trailing = padding)' });

export function requiredString(what: string) {
  return z.string({ error: (i) => `expected ${what}; received ${describeValue(i.input)}` });
}

export function requiredBoolean() {
  return z.boolean({ error: (i) => `expected true or false; received ${describeValue(i.input)}` });
}

export function nonNegativeInt() {
  return z
    .int({ error: (i) => `expected a whole number; received ${describeValue(i.input)}` })
    .min(0, { error: (i) => `expected a number >= 0; received ${describeValue(i.input)}` });
}

export function enumOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (i) => `expected one of ${values.join(', ')}; received ${describeValue(i.input)}`,
  });
}
