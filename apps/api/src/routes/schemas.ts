import { ProblemDetails } from '@herald/schemas';
import { z } from 'zod';
import { ApiError } from '../api-error.ts';

/** Shared pieces of Herald's own endpoints. */
export const HERALD_BASE = '/api/v1/herald';

export const problem = (description: string) => ({ description, schema: ProblemDetails });

export const authErrors = {
  401: problem('Token is missing, invalid or ApplicationId is not found in the token.'),
  404: problem('Unknown resource, or one of another application (never revealed).'),
  429: problem('Rate limit of the application exceeded; see Retry-After.'),
};

export const operatorErrors = {
  ...authErrors,
  403: problem('The caller is not an operator.'),
};

/** Optional `applicationId` query: an application's callers may omit it; operators name one. */
export const ScopeQuery = z.object({
  applicationId: z.uuid({ error: 'expected a UUID' }).optional(),
});

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(512).optional(),
};

export const Timestamp = z.iso.datetime({
  offset: true,
  error: 'expected an ISO 8601 date-time such as 2024-12-20T18:24:23Z',
});

/** Non-UUID ids in paths are simply not found (ids are opaque; no 400 that confirms the shape). */
export function pathId(id: string, what: string): string {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(id)) {
    throw new ApiError('not_found', `The requested ${what} was not found.`);
  }
  return id.toLowerCase();
}

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
