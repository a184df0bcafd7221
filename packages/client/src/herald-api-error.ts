import type { ProblemDetails } from '@herald/schemas';

/** A non-2xx answer of the Herald API, with its problem details when the body was one. */
export class HeraldApiError extends Error {
  readonly code = 'HERALD_API_ERROR';
  readonly status: number;
  /** The RFC 9457 problem the API answered, or null when the body was not one. */
  readonly problem: ProblemDetails | null;
  /** `extensions.traceId` of the problem, to quote to the platform team. */
  readonly traceId: string | null;

  constructor(status: number, problem: ProblemDetails | null, method: string, path: string) {
    const first = problem?.errors === undefined ? undefined : Object.entries(problem.errors)[0];
    const detail =
      first === undefined ? (problem?.title ?? 'no problem details') : `${first[0]} ${first[1].join('; ')}`;
    super(`${method} ${path} answered ${status}: ${detail}`);
    this.name = 'HeraldApiError';
    this.status = status;
    this.problem = problem;
    this.traceId = problem?.extensions?.traceId ?? null;
  }

  /** Field path (or `business: ...` key) → messages. Empty when the answer had none. */
  get errors(): Record<string, string[]> {
    return this.problem?.errors ?? {};
  }
}

export function isHeraldApiError(value: unknown): value is HeraldApiError {
  return value instanceof HeraldApiError;
}
