import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { issuesToErrors } from '@herald/schemas';

const dir = new URL('./fixtures/', import.meta.url);

/** A fixture file's text, byte for byte. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(name, dir), 'utf8');
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name));
}

/** The JSON text without whitespace between tokens; number literals (80.0) stay as written. */
export function minifyJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

/** The field-path → messages map a schema produces for a value, or null when it parses. */
export function errorsOf(schema: z.ZodType, value: unknown): Record<string, string[]> | null {
  const r = schema.safeParse(value);
  return r.success ? null : issuesToErrors(r.error.issues);
}

/** A shallow copy of a fixture object with some fields replaced (undefined removes the field). */
export function withFields(base: unknown, changes: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete copy[k];
    else copy[k] = v;
  }
  return copy;
}
