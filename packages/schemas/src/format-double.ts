import { SchemasError } from './schemas-error.ts';

/** Writes a number as a double: whole values get ".0" like the documents (80.0, 2.0). */
export function formatDouble(value: number): string {
  if (!Number.isFinite(value)) throw new SchemasError('INVALID_ARGUMENT', `cannot write ${value} as JSON`);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return `${Object.is(value, -0) ? '-0' : value}.0`;
  return JSON.stringify(value);
}
