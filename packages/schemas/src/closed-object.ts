import { z } from 'zod';

function editDistance(a: string, b: string): number {
  // Small inputs only (field names): the plain O(n·m) table is enough.
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** The known field a mistyped one most likely meant: same letters in another case, or at most two edits away. */
export function suggestField(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  const lower = key.toLowerCase();
  const sameLetters = known.find((k) => k.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance && d < k.length / 2) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** The message for one unknown field; `issuesToErrors` recognises the "unknown field" prefix. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const suggestion = suggestField(key, known);
  // The key comes from the request: a long one is cut, never echoed whole.
  const shown = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}...` : key);
  return suggestion === undefined
    ? `unknown field ${shown} (field names are case-sensitive)`
    : `unknown field ${shown}; did you mean ${JSON.stringify(suggestion)}?`;
}

/** Unknown fields described one by one (with suggestions); `issuesToErrors` counts the rest. */
export const MAX_REPORTED_UNKNOWN_FIELDS = 20;

/**
 * A strict object: unknown keys are errors (one line per key, with a suggestion when one is close),
 * because a mistyped field silently dropped is worse than a clear rejection.
 */
export function closedObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys
            .slice(0, MAX_REPORTED_UNKNOWN_FIELDS)
            .map((k) => unknownFieldMessage(k, known))
            .join('\n')
        : undefined,
  });
}
