import { createProblem, type ProblemDocument, traceIdFromTraceparent, unauthorizedProblem } from '@herald/schemas';

/** An RFC 9457 problem body in the shape the source documents use for errors. */
export type UnauthorizedProblem = ProblemDocument;

/** The message the documents give when API credentials are missing or invalid. */
export const API_UNAUTHORIZED_MESSAGE = 'Token is missing, invalid or ApplicationId is not found in the token.';

/** Keeps the trace id of a valid W3C `traceparent`, or makes a fresh one (`00-<trace>-<span>-00`). */
export function resolveTraceId(traceparent: string | undefined): string {
  return traceIdFromTraceparent(traceparent);
}

/**
 * The 401 body a verifier middleware answers. Deliberately the same whichever check failed,
 * so a caller probing the endpoint learns nothing about which part was wrong.
 */
export function createUnauthorizedProblem(options: { traceId: string; api?: boolean }): UnauthorizedProblem {
  // API credentials: wire-compatible with the documents' body, typo'd key included.
  if (options.api === true) return unauthorizedProblem(options.traceId);
  return createProblem({
    status: 401,
    type: 'https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2',
    title: 'Unauthorized',
    errors: { authentication: ['The request could not be authenticated.'] },
    traceId: options.traceId,
  });
}
