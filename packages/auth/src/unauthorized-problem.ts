import { randomBytes } from 'node:crypto';

/** An RFC 9457 problem body in the shape the source documents use for errors. */
export interface UnauthorizedProblem {
  errors: Record<string, string[]>;
  type: string;
  title: string;
  status: 401;
  detail: string | null;
  instance: string | null;
  extensions: { traceId: string };
}

/** The message the documents give when API credentials are missing or invalid. */
export const API_UNAUTHORIZED_MESSAGE = 'Token is missing, invalid or ApplicationId is not found in the token.';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Reuses a valid W3C `traceparent` as the trace id, or makes a fresh one. */
export function resolveTraceId(traceparent: string | undefined): string {
  if (traceparent !== undefined && TRACEPARENT.test(traceparent.trim())) return traceparent.trim();
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
}

/**
 * The 401 body a verifier middleware answers. Deliberately the same whichever check failed,
 * so a caller probing the endpoint learns nothing about which part was wrong.
 */
export function createUnauthorizedProblem(options: { traceId: string; api?: boolean }): UnauthorizedProblem {
  if (options.api === true) {
    // Wire-compatible with the documents' body, typo'd key included.
    return {
      errors: { 'business:': [API_UNAUTHORIZED_MESSAGE] },
      type: 'https://tools.ietf.org/html/rfc7231#section-6.5.1',
      title: 'One or more errors occurred.',
      status: 401,
      detail: null,
      instance: null,
      extensions: { traceId: options.traceId },
    };
  }
  return {
    errors: { authentication: ['The request could not be authenticated.'] },
    type: 'https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2',
    title: 'Unauthorized',
    status: 401,
    detail: null,
    instance: null,
    extensions: { traceId: options.traceId },
  };
}
