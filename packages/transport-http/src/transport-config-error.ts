/** Codes carried by {@link TransportConfigError}. */
export type TransportConfigErrorCode = 'HERALD_HTTP_INVALID_CONFIG' | 'HERALD_HTTP_INVALID_HEADER';

/** Misconfiguration of the webhook client or misuse of its helpers (a bug, not a delivery outcome). */
export class TransportConfigError extends Error {
  override name = 'TransportConfigError';
  readonly code: TransportConfigErrorCode;

  constructor(code: TransportConfigErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
