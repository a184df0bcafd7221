/** Error codes the API turns into problem responses; the one table of code → HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  credits_exhausted: 402,
  forbidden: 403,
  not_found: 404,
  no_active_channel: 404,
  method_not_allowed: 405,
  idempotency_conflict: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  blocked_destination: 422,
  rate_limited: 429,
  internal: 500,
  not_configured: 501,
  not_ready: 503,
  unavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof ERROR_STATUS;

export interface ApiErrorOptions {
  /** Field path (or "business: X") → messages, rendered as the problem's `errors`. */
  errors?: Record<string, string[]>;
  detail?: string;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** An expected request failure; `app.onError` renders it as problem details. Messages never hold secrets. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly errors: Record<string, string[]>;
  readonly detail: string | null;
  readonly headers: Record<string, string>;

  constructor(code: ApiErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.errors = options.errors ?? { 'business:': [message] };
    this.detail = options.detail ?? null;
    this.headers = options.headers ?? {};
  }
}

/** The one 404 for unknown, foreign or malformed ids: it never tells which. */
export function notFound(what = 'resource'): ApiError {
  return new ApiError('not_found', `The requested ${what} was not found.`);
}
