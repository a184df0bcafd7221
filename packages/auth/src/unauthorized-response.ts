import type { Context } from 'hono';
import { createUnauthorizedProblem, resolveTraceId } from './unauthorized-problem.ts';

/** Answers 401 with a problem body that does not say which check failed. */
export function respondUnauthorized(c: Context, options: { api?: boolean; wwwAuthenticate?: string } = {}): Response {
  const traceId = resolveTraceId(c.req.header('traceparent'));
  const body = createUnauthorizedProblem({ traceId, ...(options.api === undefined ? {} : { api: options.api }) });
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (options.wwwAuthenticate !== undefined) headers['www-authenticate'] = options.wwwAuthenticate;
  return new Response(JSON.stringify(body), { status: 401, headers });
}
