export type AmqpTransportErrorCode =
  | 'INVALID_CONFIG'
  | 'UNKNOWN_MESSAGE_TYPE'
  | 'CONSUMER_START_FAILED'
  /** Passed to the consumer's `onError`: connection or channel lost, or the broker cancelled the consumer. */
  | 'CONSUMER_LOST';

/** Misconfiguration or misuse of the transport (never an expected delivery failure: those are outcomes). */
export class AmqpTransportError extends Error {
  readonly code: AmqpTransportErrorCode;
  constructor(code: AmqpTransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AmqpTransportError';
    this.code = code;
  }
}
