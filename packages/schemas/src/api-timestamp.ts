import { z } from 'zod';
import { describeValue } from './describe-value.ts';
import { SchemasError } from './schemas-error.ts';

/** ISO 8601 UTC with up to 7 fraction digits, as the documents print them (`2024-12-20T18:24:23.141247Z`). */
export const ApiTimestamp = z
  .string({ error: (i) => `expected an ISO 8601 UTC timestamp; received ${describeValue(i.input)}` })
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/, {
    error: (i) =>
      `expected an ISO 8601 UTC timestamp like 2024-12-20T18:24:23.141247Z; received ${describeValue(i.input)}`,
  })
  .refine((s) => !Number.isNaN(Date.parse(s)), {
    error: (i) => `expected a real date and time; received ${describeValue(i.input)}`,
  });
export type ApiTimestamp = z.infer<typeof ApiTimestamp>;

/**
 * Writes an API timestamp with six fraction digits like the documents. A Date holds milliseconds;
 * pass `microseconds` (0-999, the part below the millisecond) when the source keeps them, as PostgreSQL does.
 */
export function formatApiTimestamp(date: Date, microseconds = 0): string {
  if (Number.isNaN(date.getTime())) throw new SchemasError('INVALID_ARGUMENT', 'cannot format an invalid Date');
  if (!Number.isInteger(microseconds) || microseconds < 0 || microseconds > 999) {
    throw new SchemasError(
      'INVALID_ARGUMENT',
      `microseconds must be a whole number from 0 to 999; received ${microseconds}`,
    );
  }
  const iso = date.toISOString();
  if (!iso.endsWith('Z') || iso.length !== 24) {
    throw new SchemasError('INVALID_ARGUMENT', `year ${date.getUTCFullYear()} does not fit an API timestamp`);
  }
  return `${iso.slice(0, -1)}${String(microseconds).padStart(3, '0')}Z`;
}
