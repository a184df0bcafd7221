import { z } from 'zod';
import { MAX_REPORTED_UNKNOWN_FIELDS } from './closed-object.ts';

/** The `type` the documents put on every problem (also on 401 and 404: kept for wire compatibility). */
export const DEFAULT_PROBLEM_TYPE = 'https://tools.ietf.org/html/rfc7231#section-6.5.1';
export const DEFAULT_PROBLEM_TITLE = 'One or more errors occurred.';

/**
 * An RFC 9457 problem in the documents' shape. `detail`, `instance` and `extensions` are optional
 * here because one documented 404 body omits them; `createProblem` always writes them.
 */
export const ProblemDetails = z.object({
  errors: z.record(z.string(), z.array(z.string())).optional(),
  type: z.string(),
  title: z.string(),
  status: z.int().min(100).max(599),
  detail: z.string().nullable().optional(),
  instance: z.string().nullable().optional(),
  extensions: z.looseObject({ traceId: z.string() }).optional(),
});
export type ProblemDetails = z.infer<typeof ProblemDetails>;

/** What `createProblem` writes: every field present, in the documents' order. */
export interface ProblemDocument {
  errors: Record<string, string[]>;
  type: string;
  title: string;
  status: number;
  detail: string | null;
  instance: string | null;
  extensions: { traceId: string };
}

export interface CreateProblemInput {
  status: number;
  traceId: string;
  errors?: Record<string, string[]> | undefined;
  type?: string | undefined;
  title?: string | undefined;
  detail?: string | null | undefined;
  instance?: string | null | undefined;
}

/** Builds a problem body with the documents' defaults and key order. */
export function createProblem(input: CreateProblemInput): ProblemDocument {
  return {
    errors: input.errors ?? {},
    type: input.type ?? DEFAULT_PROBLEM_TYPE,
    title: input.title ?? DEFAULT_PROBLEM_TITLE,
    status: input.status,
    detail: input.detail ?? null,
    instance: input.instance ?? null,
    extensions: { traceId: input.traceId },
  };
}

/** The documents' 404 for an application without an active channel (publish and list-active). */
export function noActiveChannelProblem(applicationId: string, traceId: string): ProblemDocument {
  return createProblem({
    status: 404,
    traceId,
    errors: {
      'engine: Active': [`No active notification channel configurations found for Application ${applicationId}.`],
      'business: Active': [
        `Error getting active notification channel configurations for Application: ${applicationId}`,
      ],
    },
  });
}

/** The documents' 401 for a missing or bad JWT / API key / API secret. It never says which one failed. */
export function unauthorizedProblem(traceId: string): ProblemDocument {
  return createProblem({
    status: 401,
    traceId,
    errors: { 'business:': ['Token is missing, invalid or ApplicationId is not found in the token.'] },
  });
}

/** Field names come from the request: a 5 MB key must not come back in the answer. */
const MAX_NAME_LENGTH = 100;

function cutName(name: string): string {
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}...` : name;
}

/** Writes a zod issue path as a field path: `Tasks.24929cc8-...`, `items[0].id`; the root is `$`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? cutName(String(part)) : `.${cutName(String(part))}`;
  }
  return out === '' ? '$' : out;
}

/** Turns validation issues into the `errors` map of a problem: field path → readable messages. */
export function issuesToErrors(issues: readonly z.core.$ZodIssue[]): Record<string, string[]> {
  // A Map, not an object: field paths come from the request (`__proto__`, `constructor`).
  const errors = new Map<string, string[]>();
  const add = (path: readonly PropertyKey[], message: string) => {
    const key = formatIssuePath(path);
    const list = errors.get(key) ?? [];
    if (!list.includes(message)) list.push(message);
    errors.set(key, list);
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // closedObject writes one "unknown field" line per key (with a suggestion); other schemas get the plain text.
      const lines = issue.message.split('\n');
      const listed = Math.min(issue.keys.length, MAX_REPORTED_UNKNOWN_FIELDS);
      const ours = lines.length === listed && lines.every((l) => l.startsWith('unknown field '));
      issue.keys.slice(0, MAX_REPORTED_UNKNOWN_FIELDS).forEach((key, i) => {
        const plain = `unknown field ${JSON.stringify(cutName(key))} (field names are case-sensitive)`;
        const line = ours ? (lines[i] ?? plain) : plain;
        add([...issue.path, key], line.length > 2 * MAX_NAME_LENGTH + 60 ? plain : line);
      });
      const more = issue.keys.length - MAX_REPORTED_UNKNOWN_FIELDS;
      if (more > 0) add(issue.path, `and ${more} more unknown fields`);
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0]?.message ?? 'invalid key';
      add(issue.path, `invalid key: ${inner}`);
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.discriminator === undefined) {
      // A plain union (e.g. boolean or "true"/"false"): the union's own message says what was expected.
      add(issue.path, issue.message);
    } else {
      add(issue.path, issue.message);
    }
  }
  // fromEntries defines own properties, so a `__proto__` key stays a plain field.
  return Object.fromEntries(errors);
}

/** A 400 problem whose `errors` keys are the failing field paths. */
export function problemFromZodError(error: { readonly issues: readonly z.core.$ZodIssue[] }, traceId: string) {
  return createProblem({ status: 400, traceId, errors: issuesToErrors(error.issues) });
}
