import { StoreInputError } from './errors.ts';
import type { PageRequest } from './types.ts';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** Page size clamped to 1..500 (default 50). */
export function pageLimit(page: PageRequest): number {
  const n = page.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isFinite(n)) return DEFAULT_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.trunc(n)));
}

/** Keyset position: [created_at, id] for messages, [seq] for the tables with a sequence. */
export type CursorKey = [number, string] | [number];

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, kind: 'time-id' | 'seq'): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && typeof parsed[0] === 'number' && Number.isSafeInteger(parsed[0])) {
    if (kind === 'seq' && parsed.length === 1) return [parsed[0]];
    if (kind === 'time-id' && parsed.length === 2 && typeof parsed[1] === 'string') return [parsed[0], parsed[1]];
  }
  throw new StoreInputError('INVALID_CURSOR', 'page cursor is not one this store issued for this list');
}
