/** Base of the store's errors: misconfiguration, tampered data and invalid input throw these; expected outcomes are values. */
export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** Bad store configuration (URL, keyring); thrown at start-up. */
export class StoreConfigError extends StoreError {
  constructor(
    code: 'ENCRYPTION_KEY_MISSING' | 'ENCRYPTION_KEY_INVALID' | 'STORE_URL_INVALID' | 'STORE_OPTION_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreConfigError';
  }
}

/** Stored data that cannot be trusted: a secrets blob that fails to decrypt (moved, tampered, unknown key). */
export class StoreIntegrityError extends StoreError {
  constructor(
    code: 'SECRETS_UNREADABLE' | 'ENCRYPTION_KEY_UNKNOWN' | 'STORED_VALUE_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreIntegrityError';
  }
}

/** Invalid input from a caller, e.g. a page cursor that the store did not issue. */
export class StoreInputError extends StoreError {
  constructor(
    code: 'INVALID_CURSOR' | 'REFERENCE_NOT_FOUND' | 'INVALID_ARGUMENT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreInputError';
  }
}
