/** Codes of the errors this package throws (bugs and misuse, never bad input: bad input is a result value). */
export type SchemasErrorCode = 'UNKNOWN_MESSAGE_TYPE' | 'UNMASKED_SECRET' | 'INVALID_ARGUMENT';

/** Thrown for programming errors (an unknown message type, a clear password given to a response helper). */
export class SchemasError extends Error {
  readonly code: SchemasErrorCode;
  constructor(code: SchemasErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SchemasError';
    this.code = code;
  }
}
