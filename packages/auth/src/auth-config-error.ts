/** Codes carried by {@link AuthConfigError}; each names the configuration value that was refused. */
export type AuthConfigErrorCode =
  | 'invalid_header_name'
  | 'invalid_secret'
  | 'invalid_key'
  | 'invalid_option'
  | 'invalid_address'
  | 'invalid_cidr'
  | 'local_address_not_assigned'
  | 'invalid_certificate'
  | 'key_mismatch'
  | 'certificate_expired'
  | 'certificate_not_yet_valid'
  | 'untrusted_certificate'
  | 'invalid_algorithm';

/**
 * A strategy was built with an unusable configuration (a bad CIDR, a short secret, a key that
 * does not match its certificate). Thrown once, at construction; the message never holds a secret.
 */
export class AuthConfigError extends Error {
  readonly code: AuthConfigErrorCode;
  constructor(code: AuthConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthConfigError';
    this.code = code;
  }
}
