import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { AuthConfigError } from './auth-config-error.ts';
import { type HeaderSource, isHeaderName, readHeader } from './header-value.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

/** Shortest shared secret accepted, in characters. */
export const MIN_SHARED_SECRET_LENGTH = 16;

export type SharedSecretResult = { ok: true } | { ok: false; reason: 'missing' | 'mismatch' };

export interface SharedSecretSender {
  /** The header to add to every outgoing push. */
  headers(): Record<string, string>;
}

export interface SharedSecretVerifier {
  verify(headers: HeaderSource): SharedSecretResult;
}

function checkHeaderName(headerName: string): string {
  if (typeof headerName !== 'string' || !isHeaderName(headerName)) {
    throw new AuthConfigError(
      'invalid_header_name',
      `headerName must be an HTTP header name, got ${JSON.stringify(headerName)}`,
    );
  }
  return headerName.toLowerCase();
}

function checkSecret(secret: string, label: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SHARED_SECRET_LENGTH) {
    throw new AuthConfigError(
      'invalid_secret',
      `${label} must be a string of at least ${MIN_SHARED_SECRET_LENGTH} characters`,
    );
  }
  // A header value cannot carry these; the push would fail on every attempt.
  if (/[\r\n\0]/.test(secret) || secret.trim() !== secret) {
    throw new AuthConfigError('invalid_secret', `${label} must not contain control characters or surrounding spaces`);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The sender's half: a fixed header carrying the secret on every push. */
export function createSharedSecretSender(options: { headerName: string; secret: string }): SharedSecretSender {
  const name = checkHeaderName(options.headerName);
  checkSecret(options.secret, 'secret');
  const secret = options.secret;
  return { headers: () => ({ [name]: secret }) };
}

/**
 * The verifier's half. Several secrets may be configured during a rotation; every one is
 * compared (no early exit) over SHA-256 digests, so neither the length nor the position of a
 * match shows in the timing.
 */
export function createSharedSecretVerifier(options: {
  headerName: string;
  secrets: readonly string[];
}): SharedSecretVerifier {
  const name = checkHeaderName(options.headerName);
  if (!Array.isArray(options.secrets) || options.secrets.length === 0) {
    throw new AuthConfigError('invalid_secret', 'secrets must hold at least one secret');
  }
  for (const [i, s] of options.secrets.entries()) checkSecret(s, `secrets[${i}]`);
  const expected = options.secrets.map(digest);
  return {
    verify(headers) {
      const received = readHeader(headers, name);
      if (received === undefined || received === '') return { ok: false, reason: 'missing' };
      const got = digest(received);
      let matched = false;
      for (const want of expected) matched = timingSafeEqual(got, want) || matched;
      return matched ? { ok: true } : { ok: false, reason: 'mismatch' };
    },
  };
}

/** Options of {@link sharedSecretAuth}. */
export interface SharedSecretAuthOptions {
  headerName: string;
  secrets: readonly string[];
  /** Called with the reason of each refusal (for logs and metrics; never holds the secret). */
  onRejected?: (reason: 'missing' | 'mismatch') => void;
}

/** Hono middleware: 401 problem body unless the header holds one of the secrets. */
export function sharedSecretAuth(options: SharedSecretAuthOptions): MiddlewareHandler {
  const verifier = createSharedSecretVerifier(options);
  return createMiddleware(async (c, next) => {
    const result = verifier.verify(c.req.raw.headers);
    if (!result.ok) {
      options.onRejected?.(result.reason);
      return respondUnauthorized(c);
    }
    await next();
  });
}
