export type ReceiverErrorCode = 'invalid_config' | 'sink_failed' | 'dedupe_failed';

/** Misconfiguration or an unavailable sink; carries a `code` and never a secret. */
export class ReceiverError extends Error {
  readonly code: ReceiverErrorCode;
  constructor(code: ReceiverErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReceiverError';
    this.code = code;
  }
}
