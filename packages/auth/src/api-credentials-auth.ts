import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { type ApiSecretCache, hashApiSecret, verifyApiSecret } from './api-credentials.ts';
import type { JwtClaims, JwtFailure, JwtVerifier } from './jwt.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

/** A stored API key, as the API's store returns it. */
export interface StoredApiKey {
  applicationId: string;
  /** From {@link hashApiSecret}. */
  secretHash: string;
}

export type ApiCredentialsFailure =
  | JwtFailure
  | 'missing_api_key'
  | 'unknown_api_key'
  | 'wrong_api_secret'
  | 'application_mismatch';

/** What {@link apiCredentialsAuth} stores on the context after a successful check. */
export interface ApiAuthVariables {
  auth: { applicationId: string | null; role: JwtClaims['role']; apiKey: string; claims: JwtClaims };
}

export interface ApiCredentialsAuthOptions {
  jwt: JwtVerifier;
  /** Looks an `x-api-key` up; null when unknown or revoked. */
  findApiKey: (key: string) => Promise<StoredApiKey | null>;
  /** Skips scrypt for recently verified secrets; see `createApiSecretCache`. */
  cache?: ApiSecretCache;
  onRejected?: (reason: ApiCredentialsFailure) => void;
}

const MAX_KEY_LENGTH = 256;
// Unknown keys still pay one scrypt so response time does not tell which keys exist.
let dummyHash: Promise<string> | undefined;

/**
 * Hono middleware for Herald's own API, as the documents require: a Bearer JWT carrying
 * `ApplicationId`, plus `x-api-key` / `x-api-secret`. The key must belong to the token's
 * application (operator tokens may use any key). Every failure answers the documents' 401 body.
 */
export function apiCredentialsAuth(
  options: ApiCredentialsAuthOptions,
): MiddlewareHandler<{ Variables: ApiAuthVariables }> {
  const verifySecret = options.cache ? options.cache.verify : verifyApiSecret;
  return createMiddleware<{ Variables: ApiAuthVariables }>(async (c, next) => {
    const reject = (reason: ApiCredentialsFailure) => {
      options.onRejected?.(reason);
      return respondUnauthorized(c, { api: true, wwwAuthenticate: 'Bearer' });
    };
    const header = c.req.header('authorization');
    const bearer = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const token = await options.jwt.verify(bearer?.[1]);
    if (!token.ok) return reject(token.reason);

    const apiKey = c.req.header('x-api-key');
    const apiSecret = c.req.header('x-api-secret');
    if (!apiKey || !apiSecret || apiKey.length > MAX_KEY_LENGTH) return reject('missing_api_key');
    const stored = await options.findApiKey(apiKey);
    if (stored === null) {
      dummyHash ??= hashApiSecret('herald-dummy-secret');
      await verifyApiSecret(apiSecret, await dummyHash);
      return reject('unknown_api_key');
    }
    if (!(await verifySecret(apiSecret, stored.secretHash))) return reject('wrong_api_secret');
    const claims = token.claims;
    if (claims.role !== 'operator' && claims.applicationId !== stored.applicationId)
      return reject('application_mismatch');
    c.set('auth', { applicationId: claims.applicationId ?? stored.applicationId, role: claims.role, apiKey, claims });
    await next();
  });
}
