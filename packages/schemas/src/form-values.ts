import { z } from 'zod';
import { describeValue } from './describe-value.ts';

// Form-data sends every field as text; JSON sends typed values. Both forms are accepted.
// Booleans: true/false in any letter case, surrounding blanks ignored (as .NET's bool.Parse); not 1/0/yes/no.
// Numbers: invariant-culture decimals ("5", "2.0", "-1"), no exponent, no thousands separators, no comma decimals.

const booleanPattern = /^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$/;
const integerPattern = /^\s*[+-]?[0-9]{1,9}\s*$/;
const decimalPattern = /^\s*[+-]?[0-9]{1,9}(\.[0-9]{1,9})?\s*$/;

const booleanExpected = 'expected true or false';

/** A boolean given as JSON true/false or as form-data text "true"/"false" (any case). */
export function formBoolean() {
  return z
    .union(
      [
        z.boolean(),
        z.string().regex(booleanPattern, { error: (i) => `${booleanExpected}; received ${describeValue(i.input)}` }),
      ],
      { error: (i) => `${booleanExpected}; received ${describeValue(i.input)}` },
    )
    .transform((v) => (typeof v === 'boolean' ? v : v.trim().toLowerCase() === 'true'));
}

function numberText(value: number | string): number {
  return typeof value === 'number' ? value : Number(value.trim());
}

/** A whole number in [min, max] given as a JSON number or as form-data text ("5"). */
export function formInt(min: number, max: number) {
  const expected = `expected a whole number from ${min} to ${max}`;
  const message = (input: unknown) => `${expected}; received ${describeValue(input)}`;
  return z
    .union([z.number(), z.string().regex(integerPattern, { error: (i) => message(i.input) })], {
      error: (i) => message(i.input),
    })
    .transform((value, ctx) => {
      const n = numberText(value);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.issues.push({ code: 'custom', input: value, message: message(value) });
        return z.NEVER;
      }
      return n;
    });
}

/** A number in [min, max] given as a JSON number or as form-data text ("2.0", "1.5"). */
export function formNumber(min: number, max: number) {
  const expected = `expected a number from ${min} to ${max} (a dot for decimals, e.g. "2.0")`;
  const message = (input: unknown) => `${expected}; received ${describeValue(input)}`;
  return z
    .union([z.number(), z.string().regex(decimalPattern, { error: (i) => message(i.input) })], {
      error: (i) => message(i.input),
    })
    .transform((value, ctx) => {
      const n = numberText(value);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.issues.push({ code: 'custom', input: value, message: message(value) });
        return z.NEVER;
      }
      return n;
    });
}
