import { randomUUID } from 'node:crypto';
import { createProblem, problemFromZodError, traceIdFromTraceparent } from '@herald/schemas';
import { isStoreUnavailableError, StoreInputError } from '@herald/store';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { ApiError, notFound } from './api-error.ts';
import { createApiKeyCache } from './api-key-cache.ts';
import { CachedTrieRouter } from './cached-router.ts';
import type { ApiEnvBindings, AppDeps, Principal } from './app-types.ts';
import { authenticate, checkRequestedApplication } from './authenticate.ts';
import { createApiMetrics } from './metrics.ts';
import { createRandomPool } from './random-pool.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { nodeIncoming, requestHeader } from './node-request.ts';
import { hasBody, payloadTooLarge, readBody } from './read-body.ts';
import { createAspNetBinder, createPathCanonicalizer, type ResolvedDeps, type Route, readQuery } from './route.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { applicationRoutes } from './routes/applications.ts';
import { channelConfigurationRoutes } from './routes/channel-configuration.ts';
import { channelExtraRoutes } from './routes/channel-extras.ts';
import { deliveryLogRoutes } from './routes/delivery-log.ts';
import { createDocsRoutes } from './routes/docs.ts';
import { messageRoutes } from './routes/messages.ts';
import { operationsRoutes } from './routes/operations.ts';
import { realtimeRoutes } from './routes/realtime.ts';
import { rejectionCodeRoutes } from './routes/rejection-codes.ts';
import { tokenRoutes } from './routes/tokens.ts';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
const CORRELATION_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const APP_CACHE_MS = 5000;

/** Every route of the API, in documentation order. */
export function listRoutes(): Route[] {
  const routes: Route[] = [
    ...channelConfigurationRoutes,
    ...tokenRoutes,
    ...messageRoutes,
    ...deliveryLogRoutes,
    ...channelExtraRoutes,
    ...rejectionCodeRoutes,
    ...applicationRoutes,
    ...apiKeyRoutes,
    ...operationsRoutes,
    ...realtimeRoutes,
  ];
  routes.push(...createDocsRoutes(() => routes));
  return routes;
}

function resolveDeps(deps: AppDeps): ResolvedDeps {
  const metrics = deps.metrics ?? createApiMetrics();
  metrics.watchStore(deps.store);
  return {
    ...deps,
    bodyLimitBytes: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    rateLimiter: deps.rateLimiter ?? createRateLimiter({ perSecond: 100 }),
    metrics,
    now: deps.now ?? Date.now,
    readiness: deps.readiness ?? [],
    apiKeys: createApiKeyCache(deps.store, { ttlMs: deps.apiKeyCacheMs ?? 1000, now: deps.now ?? Date.now }),
    authFailureLimiter: createRateLimiter({
      perSecond: 1,
      burst: 10,
      ...(deps.now === undefined ? {} : { now: deps.now }),
    }),
  };
}

function parseOrThrow(schema: z.ZodType, value: unknown, traceId: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problem = problemFromZodError(result.error, traceId);
  throw new ApiError('invalid_request', 'One or more validation errors occurred.', { errors: problem.errors });
}

/**
 * The Herald API as a hono app: the documents' channel configuration API, Herald's own endpoints,
 * OpenAPI and docs, health and metrics. Testable in memory with `app.request()`.
 */
export function createApp(input: AppDeps): Hono<ApiEnvBindings> {
  const deps = resolveDeps(input);
  const routes = listRoutes();
  const canonicalPath = createPathCanonicalizer(routes.map((r) => r.path));
  const app = new Hono<ApiEnvBindings>({
    router: new CachedTrieRouter(),
    getPath: (req) => {
      const url = req.url;
      const start = url.indexOf('/', url.indexOf('://') + 3);
      const q = url.indexOf('?', start);
      const path = q === -1 ? url.slice(start) : url.slice(start, q);
      return canonicalPath(path);
    },
  });
  const randomBytes = createRandomPool();
  const appCache = new Map<string, { rate: number | null; until: number }>();
  const rateFor = async (applicationId: string): Promise<number | null> => {
    const now = deps.now();
    const hit = appCache.get(applicationId);
    if (hit !== undefined && hit.until > now) return hit.rate;
    const application = await deps.store.getApplication(applicationId);
    const rate = application?.rateLimitPerSecond ?? null;
    if (appCache.size > 10_000) appCache.clear();
    appCache.set(applicationId, { rate, until: now + APP_CACHE_MS });
    return rate;
  };

  app.use(async (c, next) => {
    const started = performance.now();
    c.set('traceId', traceIdFromTraceparent(requestHeader(c, 'traceparent'), randomBytes));
    const sent = requestHeader(c, 'x-correlation-id');
    c.set('correlationId', sent !== undefined && CORRELATION_ID_PATTERN.test(sent) ? sent : randomUUID());
    c.set('routePattern', 'unmatched');
    c.set('principal', undefined);
    // Headers are prepared before the handler runs: setting them on c.res afterwards would make the
    // node adapter rebuild every response the slow way (measured: ~3x the cost of a bare endpoint).
    c.header('x-correlation-id', c.get('correlationId'));
    setSecurityHeaders(c, c.req.path.replace(/\/+$/, '').toLowerCase() === '/docs');
    await next();
    const route = c.get('routePattern');
    const durationSeconds = (performance.now() - started) / 1000;
    deps.metrics.recordRequest(c.req.method, route, c.res.status, durationSeconds);
    // Only these fields are logged: never headers, bodies or query strings (they may carry secrets).
    deps.logger.info(
      {
        method: c.req.method,
        route,
        status: c.res.status,
        durationMs: Math.round(durationSeconds * 10_000) / 10,
        traceId: c.get('traceId'),
        correlationId: c.get('correlationId'),
        applicationId: c.get('principal')?.applicationId ?? undefined,
      },
      'request',
    );
  });

  // Bodies over the limit are refused before anything reads them: by Content-Length here, and (chunked
  // bodies) while they are read. Under node the body is read from the node request directly (read-body.ts);
  // elsewhere hono's body-limit middleware wraps the web stream.
  const webBodyLimit = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw payloadTooLarge(deps.bodyLimitBytes);
    },
  });
  app.use(async (c, next) => {
    const incoming = nodeIncoming(c);
    if (incoming === undefined) return webBodyLimit(c, next);
    const length = incoming.headers['content-length'];
    if (length !== undefined && Number(length) > deps.bodyLimitBytes) throw payloadTooLarge(deps.bodyLimitBytes);
    return next();
  });

  for (const route of routes) {
    const queryNames =
      route.query !== undefined && 'shape' in route.query ? Object.keys((route.query as z.ZodObject).shape) : [];
    const bind = route.aspNetBinding && route.body !== undefined ? createAspNetBinder(route.body) : undefined;
    app.on(route.method, route.path, async (c) => {
      c.set('routePattern', route.path);
      const traceId = c.get('traceId');
      let principal: Principal | undefined;
      if (route.auth !== 'public') {
        principal = await authenticate(c, deps, route.auth);
        c.set('principal', principal);
        if (principal.role === 'application') {
          // Another application's id is "not found" (and one that is not a UUID a 400), before anything else
          // is looked at.
          checkRequestedApplication(principal, readQuery(c.req.url, ['applicationId'])['applicationId']);
        }
        const limitKey = principal.applicationId ?? `key:${principal.apiKey.id}`;
        const rate = principal.applicationId === null ? null : await rateFor(principal.applicationId);
        const limited = deps.rateLimiter.take(limitKey, rate);
        if (!limited.ok) {
          throw new ApiError(
            'rate_limited',
            'Too many requests for this application; retry after the time in Retry-After.',
            {
              headers: { 'retry-after': String(limited.retryAfterSeconds) },
            },
          );
        }
      }
      const params = route.params === undefined ? undefined : parseOrThrow(route.params, c.req.param(), traceId);
      const query =
        route.query === undefined ? undefined : parseOrThrow(route.query, readQuery(c.req.url, queryNames), traceId);
      let body: unknown;
      if (route.body !== undefined) {
        if (!hasBody(c)) {
          const message = 'expected a request body';
          throw new ApiError('invalid_request', message, { errors: { $: [message] } });
        }
        const raw = await readBody(c, route.bodyKinds, deps.bodyLimitBytes);
        body = parseOrThrow(route.body, bind === undefined ? raw : bind(raw), traceId);
      }
      const res = await route.handler({ c, deps, params, query, body, principal: principal as Principal, traceId });
      // JSON answers name their charset, as ASP.NET's do (`application/json; charset=utf-8`).
      if (res.headers.get('content-type') === 'application/json') {
        res.headers.set('content-type', 'application/json; charset=utf-8');
      }
      return res;
    });
  }

  // A known path with another method is a 405 naming the methods it takes, not a 404.
  const matchers = routes.map((r) => ({
    method: r.method,
    pattern: new RegExp(`^${r.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}$`),
  }));
  app.notFound((c) => {
    const methods = new Set<string>(matchers.filter((m) => m.pattern.test(c.req.path)).map((m) => m.method));
    if (methods.size === 0) return renderProblem(c, new ApiError('not_found', 'No such endpoint.'));
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].join(', ');
    return renderProblem(
      c,
      new ApiError('method_not_allowed', `expected one of ${allow} for this endpoint; received ${c.req.method}`, {
        headers: { allow },
      }),
    );
  });
  app.onError((err, c) => {
    if (err instanceof ApiError) return renderProblem(c, err);
    if (err instanceof StoreInputError) return renderProblem(c, fromStoreInputError(err));
    if (isStoreUnavailableError(err)) {
      deps.logger.warn(
        { err: { name: err.name, code: (err as { code?: unknown }).code }, traceId: c.get('traceId') },
        'database unavailable; answered 503',
      );
      return renderProblem(c, databaseUnavailable());
    }
    if (err instanceof HTTPException) {
      const code = err.status === 413 ? 'payload_too_large' : err.status === 401 ? 'unauthorized' : 'invalid_request';
      return renderProblem(c, new ApiError(code, err.status === 413 ? 'Payload too large.' : 'Bad request.'));
    }
    deps.logger.error(
      {
        err: { name: err.name, code: (err as { code?: unknown }).code, message: scrubMessage(err.message, c) },
        traceId: c.get('traceId'),
      },
      'unhandled error',
    );
    return renderProblem(c, new ApiError('internal', 'An unexpected error occurred.'));
  });
  return app;
}

/**
 * Headers on every answer: no sniffing, no framing, no referrer, and no caching of anything that is not
 * explicitly cacheable (answers may carry a secret shown once). JSON answers may load nothing; the docs
 * page loads its own assets only.
 */
function setSecurityHeaders(c: Context<ApiEnvBindings>, isDocsPage: boolean): void {
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'no-referrer');
  c.header(
    'content-security-policy',
    isDocsPage
      ? "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
      : "default-src 'none'; frame-ancestors 'none'",
  );
  // Cacheable assets set their own cache-control, which replaces this one.
  c.header('cache-control', 'no-store');
}

/**
 * An unexpected error's message may quote what it was given (a driver echoing a value): the request's
 * credentials are blanked out of it and it is cut short before it is logged.
 */
function scrubMessage(message: string, c: Context<ApiEnvBindings>): string {
  let out = message.length > 500 ? `${message.slice(0, 500)}...` : message;
  const authorization = requestHeader(c, 'authorization');
  const credentials = [
    requestHeader(c, 'x-api-secret'),
    requestHeader(c, 'x-api-key'),
    authorization,
    authorization?.replace(/^\S+\s+/, ''),
  ];
  for (const value of credentials) {
    if (value !== undefined && value.length >= 8) out = out.split(value).join('[redacted]');
  }
  return out;
}

/**
 * The database cannot be reached or is overloaded: 503 with Retry-After, since a retry may succeed. A write may
 * have committed before the connection was lost, so a publish should be retried with the same Idempotency-Key.
 */
function databaseUnavailable(): ApiError {
  return new ApiError(
    'unavailable',
    'The database is unavailable; retry after the time in Retry-After. A publish may have been stored before the failure: retry it with the same Idempotency-Key so that it is not stored twice.',
    { headers: { 'retry-after': '2' } },
  );
}

/** The store refuses input it cannot use (a cursor it did not issue, ...): the caller's mistake, not a 500. */
function fromStoreInputError(err: StoreInputError): ApiError {
  if (err.code === 'INVALID_CURSOR') {
    const message = 'expected the nextCursor of a previous page of this list';
    return new ApiError('invalid_request', message, { errors: { cursor: [message] } });
  }
  if (err.code === 'REFERENCE_NOT_FOUND') return notFound();
  return new ApiError('invalid_request', 'One or more validation errors occurred.');
}

function renderProblem(c: Context<ApiEnvBindings>, err: ApiError): Response {
  const body = createProblem({
    status: err.status,
    traceId: c.get('traceId') ?? traceIdFromTraceparent(),
    errors: err.errors,
    detail: err.detail,
  });
  for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.body(JSON.stringify(body), err.status as 400, { 'content-type': 'application/problem+json; charset=utf-8' });
}
