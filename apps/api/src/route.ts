import type { Context } from 'hono';
import type { ApiKeyCache } from './api-key-cache.ts';
import { ApiError } from './api-error.ts';
import type { z } from 'zod';
import type { AppDeps, ApiEnvBindings, Principal } from './app-types.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { type BodyKind, hasNul, nulRefused } from './read-body.ts';

/**
 * public: no credentials; key: x-api-key + x-api-secret only (token minting);
 * application: Bearer JWT + x-api-key + x-api-secret (the documents' scheme);
 * operator: the same, with an operator key and token.
 */
export type AuthMode = 'public' | 'key' | 'application' | 'operator';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteInput<P, Q, B> {
  c: Context<ApiEnvBindings>;
  deps: ResolvedDeps;
  params: P;
  query: Q;
  body: B;
  /** Set on every route but public ones. */
  principal: Principal;
  traceId: string;
}

export interface RouteResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteSpec<P, Q, B> {
  method: HttpMethod;
  /** Hono pattern (`/api/v1/herald/messages/:messageId`), in its documented casing. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthMode;
  params?: P;
  query?: Q;
  body?: B;
  /** Body encodings accepted (default JSON only). */
  bodyKinds?: readonly BodyKind[];
  /** Bind body field names ignoring case and read empty or null optional fields as absent (see createAspNetBinder). */
  aspNetBinding?: boolean;
  /** JSON Schema documenting the body when `body` cannot (it is validated in the handler). */
  openapiBody?: Record<string, unknown>;
  /** Extra request headers to document. */
  headers?: readonly { name: string; description: string; required?: boolean }[];
  responses: Record<number, RouteResponseSpec>;
  handler(input: RouteInput<Out<P>, Out<Q>, Out<B>>): Promise<Response> | Response;
}

/** A route with its types erased, as the app and the OpenAPI generator see it. */
export interface Route {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthMode;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  bodyKinds: readonly BodyKind[];
  aspNetBinding?: boolean;
  openapiBody?: Record<string, unknown>;
  headers: readonly { name: string; description: string; required?: boolean }[];
  responses: Record<number, RouteResponseSpec>;
  handler(input: RouteInput<unknown, unknown, unknown>): Promise<Response> | Response;
}

export function defineRoute<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return {
    ...spec,
    bodyKinds: spec.bodyKinds ?? ['json'],
    headers: spec.headers ?? [],
    handler: spec.handler as Route['handler'],
  } as Route;
}

/** Deps with their defaults filled in. */
export type ResolvedDeps = AppDeps &
  Required<Pick<AppDeps, 'bodyLimitBytes' | 'rateLimiter' | 'metrics' | 'now' | 'readiness'>> & {
    /** Wrong secrets per API key: 10 at once, then 1 per second. */
    authFailureLimiter: RateLimiter;
    /** API key rows recently read at authentication. */
    apiKeys: ApiKeyCache;
  };

/**
 * Maps a request path to its route's documented casing (ASP.NET matches paths case-insensitively):
 * static segments compare ignoring case, parameter segments are kept as sent. One trailing slash is
 * ignored, as ASP.NET's routing ignores it (`/All/` is `/All`).
 */
export function createPathCanonicalizer(patterns: readonly string[]): (path: string) => string {
  const compiled = [...new Set(patterns)].map((p) =>
    p.split('/').map((seg) => (seg.startsWith(':') || seg === '*' ? null : seg)),
  );
  const exact = new Map<string, string>();
  for (const p of patterns) if (!p.includes(':') && !p.includes('*')) exact.set(p.toLowerCase(), p);
  const match = (path: string): string | undefined => {
    const direct = exact.get(path.toLowerCase());
    if (direct !== undefined) return direct;
    const parts = path.split('/');
    for (const segs of compiled) {
      if (segs.length !== parts.length) continue;
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i];
        if (s !== null && s !== undefined && s.toLowerCase() !== parts[i]!.toLowerCase()) {
          ok = false;
          break;
        }
        // A parameter segment is never empty (`/deliveries/` is not a delivery).
        if (s === null && parts[i] === '') {
          ok = false;
          break;
        }
      }
      if (ok) return segs.map((s, i) => s ?? parts[i]).join('/');
    }
    return undefined;
  };
  return (path) => {
    const found = match(path);
    if (found !== undefined) return found;
    if (path.length > 1 && path.endsWith('/') && !path.endsWith('//')) return match(path.slice(0, -1)) ?? path;
    return path;
  };
}

/**
 * Query parameters with their names matched case-insensitively to `names` (unknown names dropped).
 * A parameter given twice (in any casing) with different values is a 400: which one counts would be a
 * guess, and a proxy or a log reading the other one would disagree with the API.
 */
export function readQuery(url: string, names: readonly string[]): Record<string, string> {
  const q = url.indexOf('?');
  if (q === -1 || names.length === 0) return {};
  const hash = url.indexOf('#', q);
  const byLower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const out = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash))) {
    const name = byLower.get(key.toLowerCase());
    if (name === undefined) continue;
    if (hasNul(value)) throw nulRefused(name);
    const prev = out.get(name);
    if (prev === undefined) out.set(name, value);
    else if (prev !== value) {
      const message = 'expected one value; received the parameter more than once';
      throw new ApiError('invalid_request', message, { errors: { [name]: [message] } });
    }
  }
  return Object.fromEntries(out);
}

/**
 * A body as ASP.NET binds it for the documented endpoints, so their clients work unchanged: a field name in
 * another letter case (`IsActive`, `webhookUrl`) is the declared field; an optional field sent empty (a form's
 * `orderingKey=`) or null is absent. The same field sent twice in different cases with different values is a
 * 400 naming it, never a guess. Names that match nothing are left for the schema to refuse as unknown.
 */
export function createAspNetBinder(schema: z.ZodType): (value: unknown) => unknown {
  if (!('shape' in schema)) return (value) => value;
  const shape = (schema as z.ZodObject).shape as Record<string, z.ZodType>;
  const byLower = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
  const optional = Object.keys(shape).filter((name) => shape[name]!.safeParse(undefined).success);
  return (value) => bindFields(shape, byLower, optional, value);
}

function bindFields(
  shape: Record<string, z.ZodType>,
  byLower: ReadonlyMap<string, string>,
  optional: readonly string[],
  value: unknown,
): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = Object.create(null);
  const sentAs = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const name = Object.hasOwn(shape, key) ? key : (byLower.get(key.toLowerCase()) ?? key);
    const earlier = sentAs.get(name);
    if (earlier !== undefined) {
      if (JSON.stringify(out[name]) !== JSON.stringify(v)) {
        const message = `expected one value; received the field as ${JSON.stringify(earlier)} and ${JSON.stringify(key.slice(0, 100))}`;
        throw new ApiError('invalid_request', message, { errors: { [name]: [message] } });
      }
      continue;
    }
    sentAs.set(name, key);
    out[name] = v;
  }
  for (const name of optional) {
    if (Object.hasOwn(out, name) && (out[name] === '' || out[name] === null)) delete out[name];
  }
  // A plain object again (own properties only, so "__proto__" stays a field the schema refuses).
  return Object.fromEntries(Object.entries(out));
}
