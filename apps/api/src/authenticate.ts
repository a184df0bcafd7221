import type { Context } from 'hono';
import { Uuid } from '@herald/schemas';
import type { ApiKey } from '@herald/store';
import { ApiError, notFound } from './api-error.ts';
import { requestHeader } from './node-request.ts';
import type { ApiEnvBindings, Principal } from './app-types.ts';
import type { AuthMode, ResolvedDeps } from './route.ts';

/** The documents' 401 message; one answer for every failed check, so a caller cannot tell which failed. */
export const UNAUTHORIZED_MESSAGE = 'Token is missing, invalid or ApplicationId is not found in the token.';

/** The one 401 of the API (the documents' body), with `WWW-Authenticate: Bearer`. */
export function unauthorized(): ApiError {
  return new ApiError('unauthorized', UNAUTHORIZED_MESSAGE, { headers: { 'www-authenticate': 'Bearer' } });
}

function bearerToken(c: Context): string | undefined {
  const header = requestHeader(c, 'authorization');
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

async function checkApiKey(c: Context, deps: ResolvedDeps): Promise<ApiKey> {
  const key = requestHeader(c, 'x-api-key');
  const secret = requestHeader(c, 'x-api-secret');
  if (key === undefined || secret === undefined || key.length > 256 || secret.length > 1024) throw unauthorized();
  const apiKey = await deps.apiKeys.find(key);
  if (apiKey === null || apiKey.revokedAt !== null) throw unauthorized();
  // A key with many recent wrong secrets is refused without running scrypt (bounded work per key),
  // except for its owner verified within the last minute: a flood of wrong guesses must not lock it out.
  if (deps.authFailureLimiter.isEmpty(apiKey.id)) {
    if (deps.credentials.isRemembered?.(secret, apiKey.secretHash) === true) return apiKey;
    throw unauthorized();
  }
  if (!(await deps.credentials.verify(secret, apiKey.secretHash))) {
    deps.authFailureLimiter.take(apiKey.id);
    throw unauthorized();
  }
  return apiKey;
}

/**
 * Checks the credentials a route asks for and returns the caller. Every failure is the same 401;
 * an application caller on an operator route gets 403.
 */
export async function authenticate(
  c: Context<ApiEnvBindings>,
  deps: ResolvedDeps,
  mode: Exclude<AuthMode, 'public'>,
): Promise<Principal> {
  if (mode === 'key') {
    const apiKey = await checkApiKey(c, deps);
    return { role: apiKey.role, applicationId: apiKey.applicationId, apiKey };
  }
  const token = bearerToken(c);
  if (token === undefined) throw unauthorized();
  const verified = await deps.tokens.verify(token);
  if (!verified.ok) throw unauthorized();
  const { claims } = verified;
  const apiKey = await checkApiKey(c, deps);
  // The key must belong to the token's application, with the token's role.
  if (apiKey.role !== claims.role) throw unauthorized();
  if (claims.role === 'application') {
    if (claims.applicationId === null || apiKey.applicationId !== claims.applicationId) throw unauthorized();
  }
  const principal: Principal = {
    role: claims.role,
    applicationId: claims.role === 'operator' ? apiKey.applicationId : claims.applicationId,
    apiKey,
  };
  if (mode === 'operator' && principal.role !== 'operator') {
    throw new ApiError('forbidden', 'This operation needs operator credentials.');
  }
  return principal;
}

/**
 * The `applicationId` a request names, checked against the caller: not a UUID is a 400 naming the field
 * (as ASP.NET's model binding answers); an application principal naming another application is a 404, exactly
 * like an application that does not exist. Returns the lower-cased id, or undefined when none was named.
 */
export function checkRequestedApplication(principal: Principal, requested: string | undefined): string | undefined {
  if (requested === undefined) return undefined;
  const parsed = Uuid.safeParse(requested);
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? 'expected a UUID';
    throw new ApiError('invalid_request', message, { errors: { applicationId: [message] } });
  }
  const id = requested.toLowerCase();
  if (principal.role === 'application' && id !== principal.applicationId) throw notFound('application');
  return id;
}

/**
 * The application a request acts on. An application caller acts on its own (a different
 * `requested` id is a 404: existence is never revealed); an operator names one that exists.
 */
export async function scopeApplication(
  deps: ResolvedDeps,
  principal: Principal,
  requested: string | undefined,
): Promise<string> {
  const named = checkRequestedApplication(principal, requested);
  if (principal.role === 'application') return principal.applicationId!;
  const id = named ?? principal.applicationId ?? undefined;
  if (id === undefined) {
    const message = 'expected applicationId (operators name the application they act on)';
    throw new ApiError('invalid_request', message, { errors: { applicationId: [message] } });
  }
  const app = await deps.store.getApplication(id);
  if (app === null) throw notFound('application');
  return app.id;
}
