import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { DeliveryOutcome } from '@herald/schemas';
import { BlockedDestinationError, type DestinationPolicy } from '@herald/ssrf';
import { Agent, buildConnector } from 'undici';
import { classifyFailure } from './classify-failure.ts';
import { parseRetryAfter } from './parse-retry-after.ts';
import { startExchange } from './start-exchange.ts';
import { TransportConfigError } from './transport-config-error.ts';

export interface WebhookClientOptions {
  /** SSRF guard: checked on the URL before dialling and on every address dialled. */
  policy: DestinationPolicy;
  /** Accept plain `http:` destinations (development only). Default false: https only. */
  allowHttp?: boolean;
  /** Total deadline per attempt (connect, TLS, headers, body). Default 10000. */
  timeoutMs?: number;
  /** Response bytes kept in `responseExcerpt`. Default 4096. */
  maxResponseBytes?: number;
  /** Keep-alive connections per origin and identity. Default 32. */
  connectionsPerOrigin?: number;
  /** Idle keep-alive connections close after this. Default 4000. */
  keepAliveTimeoutMs?: number;
  /** Default `Herald-Webhooks/1`. */
  userAgent?: string;
  /** Distinct (client certificate, CA, local address) identities kept open; least recently used closes first. Default 256. */
  maxIdentities?: number;
  /** Monotonic clock for `durationMs`. */
  now?: () => number;
  /** Wall clock for `Retry-After` dates. */
  wallClockMs?: () => number;
}

export interface WebhookRequest {
  url: string;
  body: string | Uint8Array;
  /** Added to the standard headers; `accept`/`content-type` and hop-by-hop headers cannot be overridden. */
  headers?: Record<string, string>;
  /** Client certificate (mTLS) and an extra trusted CA (added to the system roots, never replacing verification). */
  tls?: { cert?: string; key?: string; ca?: string };
  /** Source address to bind (fixed-source-IP auth). */
  localAddress?: string;
  /** Overrides the client's per-attempt deadline (a background connect attempt is still cut at the client's). */
  timeoutMs?: number;
  /** Aborting gives a `cancelled` outcome. */
  signal?: AbortSignal;
}

export interface WebhookClient {
  /** One delivery attempt. Never throws for an expected failure: every result is an outcome value. */
  deliver(req: WebhookRequest): Promise<DeliveryOutcome>;
  /** Waits for in-flight deliveries (each bounded by its deadline), then closes every connection. */
  close(): Promise<void>;
}

const URL_CACHE_SIZE = 1024;
const HOP_BY_HOP = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  'accept',
  'content-type',
]);

function positiveInt(name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TransportConfigError(
      'HERALD_HTTP_INVALID_CONFIG',
      `${name}: expected an integer >= ${min}, received ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function failure(
  code: DeliveryOutcome['code'],
  retryable: boolean,
  error: string,
  durationMs: number,
  extra: Partial<DeliveryOutcome> = {},
): DeliveryOutcome {
  return { ok: false, code, retryable, disableChannel: false, durationMs, error, ...extra };
}

// A function call, so TypeScript does not keep an earlier narrowing of `signal.aborted`.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

interface Identity {
  agent: Agent;
}

/**
 * Creates the webhook transport: undici keep-alive pools per (origin, client certificate, CA, local
 * address), TLS >= 1.2 with verification always on, one deadline per attempt, SSRF guard on the URL and
 * on the dialled address, redirects never followed.
 * Throws {@link TransportConfigError} (`HERALD_HTTP_INVALID_CONFIG`) for bad options.
 */
export function createWebhookClient(options: WebhookClientOptions): WebhookClient {
  const policy = options?.policy;
  if (
    typeof policy !== 'object' ||
    policy === null ||
    typeof policy.checkUrl !== 'function' ||
    typeof policy.lookup !== 'function' ||
    typeof policy.isAllowedDialHost !== 'function'
  ) {
    throw new TransportConfigError(
      'HERALD_HTTP_INVALID_CONFIG',
      'policy: expected a DestinationPolicy from @herald/ssrf',
    );
  }
  const allowHttp = options.allowHttp ?? false;
  if (typeof allowHttp !== 'boolean') {
    throw new TransportConfigError('HERALD_HTTP_INVALID_CONFIG', 'allowHttp: expected a boolean');
  }
  const timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 10_000);
  const maxResponseBytes = positiveInt('maxResponseBytes', options.maxResponseBytes, 4096, 0);
  const connectionsPerOrigin = positiveInt('connectionsPerOrigin', options.connectionsPerOrigin, 32);
  const keepAliveTimeoutMs = positiveInt('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 4000);
  const maxIdentities = positiveInt('maxIdentities', options.maxIdentities, 256);
  const userAgent = options.userAgent ?? 'Herald-Webhooks/1';
  if (typeof userAgent !== 'string' || !/^[\x20-\x7e]+$/.test(userAgent)) {
    throw new TransportConfigError('HERALD_HTTP_INVALID_CONFIG', 'userAgent: expected printable ASCII text');
  }
  const now = options.now ?? (() => performance.now());
  const wallClockMs = options.wallClockMs ?? Date.now;

  const identities = new Map<string, Identity>();
  const checkedUrls = new Map<string, { origin: string; path: string }>();
  let closed = false;

  const createAgent = (req: WebhookRequest): Agent => {
    const t = req.tls ?? {};
    // One secure context per identity: building it per handshake would re-parse the root store.
    const secureContext = tls.createSecureContext({
      minVersion: 'TLSv1.2',
      ...(t.ca !== undefined ? { ca: [...tls.rootCertificates, t.ca] } : {}),
      ...(t.cert !== undefined ? { cert: t.cert } : {}),
      ...(t.key !== undefined ? { key: t.key } : {}),
    });
    const base = buildConnector({
      secureContext,
      lookup: policy.lookup,
      timeout: timeoutMs,
      allowH2: false,
    });
    const connect: buildConnector.connector = (opts, callback) => {
      // Node skips `lookup` for IP literals; they are checked here, at dial time.
      if (!policy.isAllowedDialHost(opts.hostname)) {
        callback(new BlockedDestinationError(opts.hostname), null);
        return;
      }
      base(opts, callback);
    };
    return new Agent({
      connect,
      connections: connectionsPerOrigin,
      keepAliveTimeout: keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(keepAliveTimeoutMs, 600_000),
      // The per-attempt deadline covers headers and body; undici's idle timers would only duplicate it.
      headersTimeout: 0,
      bodyTimeout: 0,
      allowH2: false,
      ...(req.localAddress !== undefined ? { localAddress: req.localAddress } : {}),
    });
  };

  // Engines pass the same tls object per channel: hash it once. The key never holds key material.
  type TlsInput = NonNullable<WebhookRequest['tls']>;
  const tlsDigests = new WeakMap<TlsInput, { cert?: string; key?: string; ca?: string; digest: string }>();
  const identityKey = (req: WebhookRequest): string => {
    const local = req.localAddress ?? '';
    const t = req.tls;
    if (t === undefined) return `${local}|`;
    const memo = tlsDigests.get(t);
    // Compared again in case the caller reused the object with other material.
    if (memo !== undefined && memo.cert === t.cert && memo.key === t.key && memo.ca === t.ca) {
      return `${local}|${memo.digest}`;
    }
    const digest = createHash('sha256')
      .update(JSON.stringify([t.cert ?? '', t.key ?? '', t.ca ?? '']))
      .digest('base64url');
    tlsDigests.set(t, { ...t, digest });
    return `${local}|${digest}`;
  };

  const agentFor = (req: WebhookRequest): Agent => {
    const key = identityKey(req);
    const found = identities.get(key);
    if (found !== undefined) {
      identities.delete(key);
      identities.set(key, found);
      return found.agent;
    }
    const agent = createAgent(req);
    identities.set(key, { agent });
    if (identities.size > maxIdentities) {
      const oldest = identities.keys().next();
      if (!oldest.done) {
        const evicted = identities.get(oldest.value);
        identities.delete(oldest.value);
        evicted?.agent.close().catch(() => {});
      }
    }
    return agent;
  };

  const attempt = async (req: WebhookRequest): Promise<DeliveryOutcome> => {
    const started = now();
    const elapsed = (): number => Math.max(0, Math.round((now() - started) * 1000) / 1000);
    if (closed) return failure('cancelled', true, 'webhook client closed', elapsed());
    if (typeof req !== 'object' || req === null || typeof req.url !== 'string') {
      return failure('invalid_destination', false, 'invalid request: url required', elapsed());
    }
    let target = checkedUrls.get(req.url);
    if (target === undefined) {
      const checked = policy.checkUrl(req.url, { allowHttp });
      if (!checked.ok) {
        return checked.reason === 'blocked_address'
          ? failure('blocked', false, 'destination not allowed', elapsed())
          : failure('invalid_destination', false, `invalid destination: ${checked.reason}`, elapsed());
      }
      target = { origin: checked.url.origin, path: `${checked.url.pathname}${checked.url.search}` };
      // The policy is immutable and checkUrl is syntax only, so accepted URLs can be remembered.
      if (checkedUrls.size >= URL_CACHE_SIZE) checkedUrls.delete(checkedUrls.keys().next().value as string);
      checkedUrls.set(req.url, target);
    }
    if (typeof req.body !== 'string' && !(req.body instanceof Uint8Array)) {
      return failure('internal', false, 'invalid request: body must be a string or Uint8Array', elapsed());
    }
    if (req.localAddress !== undefined && isIP(req.localAddress) === 0) {
      return failure('invalid_destination', false, 'invalid destination: localAddress is not an IP address', elapsed());
    }
    const attemptMs = req.timeoutMs ?? timeoutMs;
    if (!Number.isSafeInteger(attemptMs) || attemptMs < 1) {
      return failure('internal', false, 'invalid request: timeoutMs must be a positive integer', elapsed());
    }
    if (req.signal?.aborted === true) return failure('cancelled', true, 'cancelled', elapsed());

    let agent: Agent;
    try {
      agent = agentFor(req);
    } catch {
      // Key material is never echoed: OpenSSL's text could quote parts of it.
      return failure(
        'invalid_destination',
        false,
        'invalid destination: unusable TLS certificate, key or CA',
        elapsed(),
      );
    }

    const headers: Record<string, string> = { 'user-agent': userAgent };
    for (const [name, value] of Object.entries(req.headers ?? {})) {
      const lower = name.toLowerCase();
      if (!HOP_BY_HOP.has(lower)) headers[lower] = value;
    }
    headers.accept = 'application/json';
    headers['content-type'] = 'application/json';

    // One deadline over connect, TLS, headers and body, cleared on completion. undici only sees an
    // abort once the request holds a socket, so the exchange is also raced against the deadline: a
    // request still connecting or queued behind a busy pool ends on time and is aborted later.
    const exchange = startExchange(
      agent,
      { origin: target.origin, path: target.path, headers, body: req.body },
      maxResponseBytes,
    );
    exchange.result.catch(() => {});
    let timedOut = false;
    let stop: (reason: unknown) => void = () => {};
    const stopped = new Promise<never>((_, reject) => {
      stop = reject;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      const reason = new Error('deadline passed');
      exchange.abort(reason);
      stop(reason);
    }, attemptMs);
    const callerSignal = req.signal;
    const onCallerAbort = (): void => {
      const reason = new Error('cancelled');
      exchange.abort(reason);
      stop(reason);
    };
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const { statusCode, retryAfter, excerpt } = await Promise.race([exchange.result, stopped]);
      const durationMs = elapsed();
      const withExcerpt = excerpt === '' ? {} : { responseExcerpt: excerpt };
      if (statusCode >= 200 && statusCode < 300) {
        return {
          ok: true,
          code: 'delivered',
          retryable: false,
          disableChannel: false,
          durationMs,
          statusCode,
          ...withExcerpt,
        };
      }
      if (statusCode >= 300 && statusCode < 400) {
        return failure('redirect', false, `redirect (HTTP ${statusCode}) not followed`, durationMs, {
          statusCode,
          ...withExcerpt,
        });
      }
      const retryAfterMs = parseRetryAfter(retryAfter, wallClockMs());
      const extra = { statusCode, ...withExcerpt, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      if (statusCode === 410) {
        return {
          ...failure('http_status', false, 'HTTP 410 Gone: channel disabled', durationMs, extra),
          disableChannel: true,
        };
      }
      const retryable = statusCode === 408 || statusCode === 425 || statusCode === 429 || statusCode >= 500;
      return failure('http_status', retryable, `HTTP ${statusCode}`, durationMs, extra);
    } catch (err) {
      const durationMs = elapsed();
      const statusCode = exchange.statusCode();
      const extra = statusCode !== undefined ? { statusCode } : {};
      if (isAborted(callerSignal) && !timedOut) return failure('cancelled', true, 'cancelled', durationMs, extra);
      if (timedOut) {
        return failure('timeout', true, `no complete response within ${attemptMs} ms`, durationMs, extra);
      }
      const c = classifyFailure(err);
      return failure(c.code, c.retryable, c.error, durationMs, extra);
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  };

  const inFlight = new Set<Promise<DeliveryOutcome>>();
  const deliver = (req: WebhookRequest): Promise<DeliveryOutcome> => {
    const pending = attempt(req);
    inFlight.add(pending);
    pending.finally(() => inFlight.delete(pending)).catch(() => {});
    return pending;
  };

  const close = async (): Promise<void> => {
    closed = true;
    // Every delivery ends by its deadline; what undici still holds after that (connects abandoned
    // by a deadline) has no caller left, so the pools are destroyed rather than drained.
    await Promise.allSettled([...inFlight]);
    const agents = [...identities.values()].map((i) => i.agent);
    identities.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => {})));
  };

  return { deliver, close };
}
