import { SchemasError } from './schemas-error.ts';

const timestampPattern = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;

/**
 * Reads a `yyyyMMddHHmmss` UTC timestamp of the image-checking notification.
 * Returns null for anything that is not a real date and time (month 13, Feb 30, hour 24, ...).
 */
export function parseImageCheckingTimestamp(text: string): Date | null {
  const m = timestampPattern.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // Date rolls over out-of-range parts (Feb 30 → Mar 2); a real date survives unchanged.
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? date : null;
}

/** Writes a date as the notification's `yyyyMMddHHmmss` UTC text (milliseconds are dropped). Throws on an invalid Date. */
export function formatImageCheckingTimestamp(date: Date): string {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new SchemasError('INVALID_ARGUMENT', 'cannot format an invalid Date');
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) throw new SchemasError('INVALID_ARGUMENT', `year ${year} does not fit yyyy`);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return (
    pad(year, 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds())
  );
}
