/** Codes carried by {@link SsrfConfigError}. */
export type SsrfConfigErrorCode = 'HERALD_SSRF_INVALID_CIDR' | 'HERALD_SSRF_INVALID_CONFIG';

/** Thrown by `createDestinationPolicy` when its configuration is unusable (start-up error). */
export class SsrfConfigError extends Error {
  override name = 'SsrfConfigError';
  readonly code: SsrfConfigErrorCode;

  constructor(code: SsrfConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
