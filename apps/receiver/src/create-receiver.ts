import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createIpAllowlist, createMtlsVerifier, createSharedSecretVerifier, createWebhookVerifier } from '@herald/auth';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createProblem, parseHeraldMessage, type ProblemDocument, traceIdFromTraceparent } from '@herald/schemas';
import { type Context, Hono } from 'hono';
import type { DedupeIndex } from './dedupe-index.ts';
import { ReceiverError } from './receiver-error.ts';
import type { ReceivedMessage, Sink } from './sinks/sink.ts';

/** Credential checks; every one configured must pass. */
export interface ReceiverAuthOptions {
  sharedSecret?: { headerName: string; secrets: readonly string[] };
  signature?: { secrets: readonly string[]; toleranceSeconds?: number | undefined };
  ipAllowlist?: { allow: readonly string[]; trustedProxies?: readonly string[] | undefined };
  mtls?: { caPem: string; allowedSubjects?: readonly string[]; allowedFingerprints256?: readonly string[] };
}

/** Minimal logger shape (pino fits). Never handed secrets. */
export interface ReceiverLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface CreateReceiverOptions {
  auth: ReceiverAuthOptions;
  sink: Sink;
  dedupe: DedupeIndex;
  /** PEM server certificate and key. Without it the receiver serves plain HTTP, which needs `allowPlainHttp`. */
  tls?: { certPem: string; keyPem: string };
  allowPlainHttp?: boolean;
  /** Path that accepts pushes. Default `/`. */
  path?: string;
  /** Default 5 MiB. */
  maxBodyBytes?: number;
  now?: () => number;
  logger?: ReceiverLogger;
}

export interface AcceptInput {
  id: string | undefined;
  body: string;
  correlationId: string | undefined;
  traceId?: string;
  via: ReceivedMessage['via'];
}

export type AcceptResult =
  | { ok: true; duplicate: boolean; messageType: string | undefined }
  | { ok: false; reason: 'invalid_body'; problem: ProblemDocument }
  | { ok: false; reason: 'sink_failed' };

export interface RunningReceiver {
  port: number;
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface Receiver {
  app: Hono;
  /** Validates, dedupes and sinks one message (used by HTTP and by AMQP mode). */
  accept(input: AcceptInput): Promise<AcceptResult>;
  serve(options?: { port?: number; host?: string }): Promise<RunningReceiver>;
  /** Closes the sink and the dedupe index. */
  close(): Promise<void>;
}

const NO_TRACE = '00-00000000000000000000000000000000-0000000000000000-00';
const MAX_ID_LENGTH = 256;
const silentLogger: ReceiverLogger = { info() {}, warn() {}, error() {} };

function problemResponse(problem: ProblemDocument): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

function tlsSocketOf(c: Context): TLSSocket | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming)) return undefined;
  return incoming.socket instanceof TLSSocket ? incoming.socket : undefined;
}

/** Reads at most `limit` bytes; undefined when the body is larger. */
async function readBodyLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limit) return undefined;
  if (request.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * The reference receiver: runs the configured verifiers, validates the body, drops duplicates
 * by message id and answers 2xx only once the sink has the message. Config errors throw at
 * construction (`ReceiverError` or the verifiers' own `AuthConfigError`).
 */
export function createReceiver(options: CreateReceiverOptions): Receiver {
  const { sink, dedupe } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const path = options.path ?? '/';
  const maxBodyBytes = options.maxBodyBytes ?? 5 * 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new ReceiverError('invalid_config', 'maxBodyBytes must be a positive integer');
  }
  if (!path.startsWith('/'))
    throw new ReceiverError('invalid_config', `path must start with "/", got ${JSON.stringify(path)}`);
  if (options.tls === undefined && options.allowPlainHttp !== true) {
    throw new ReceiverError(
      'invalid_config',
      'a receiver needs a TLS certificate and key (or allowPlainHttp for local use)',
    );
  }
  if (options.auth.mtls !== undefined && options.tls === undefined) {
    throw new ReceiverError(
      'invalid_config',
      'mutual TLS needs the receiver to serve HTTPS (tls.certPem and tls.keyPem)',
    );
  }

  const auth = options.auth;
  const secretVerifier = auth.sharedSecret ? createSharedSecretVerifier(auth.sharedSecret) : undefined;
  const signatureVerifier = auth.signature
    ? createWebhookVerifier({
        secrets: auth.signature.secrets,
        ...(auth.signature.toleranceSeconds === undefined ? {} : { toleranceSeconds: auth.signature.toleranceSeconds }),
        now,
      })
    : undefined;
  const allowlist = auth.ipAllowlist
    ? createIpAllowlist({
        allow: auth.ipAllowlist.allow,
        ...(auth.ipAllowlist.trustedProxies === undefined ? {} : { trustedProxies: auth.ipAllowlist.trustedProxies }),
      })
    : undefined;
  const mtls = auth.mtls ? createMtlsVerifier(auth.mtls) : undefined;

  // Concurrent pushes of one id wait for the first one's outcome instead of sinking twice.
  const inFlight = new Map<string, Promise<AcceptResult>>();

  async function acceptOnce(input: AcceptInput): Promise<AcceptResult> {
    let json: unknown;
    try {
      json = JSON.parse(input.body);
    } catch {
      return {
        ok: false,
        reason: 'invalid_body',
        problem: createProblem({
          status: 400,
          traceId: input.traceId ?? NO_TRACE,
          errors: { $: ['body is not valid JSON'] },
        }),
      };
    }
    const parsed = parseHeraldMessage(json, undefined, { traceId: input.traceId ?? NO_TRACE });
    if (!parsed.ok) return { ok: false, reason: 'invalid_body', problem: parsed.problem };
    if (input.id !== undefined && dedupe.has(input.id)) return { ok: true, duplicate: true, messageType: parsed.type };
    const receivedAtMs = now();
    try {
      await sink.write({
        id: input.id,
        messageType: parsed.type,
        receivedAtMs,
        correlationId: input.correlationId,
        via: input.via,
        body: input.body,
        message: parsed.message,
      });
    } catch (error) {
      logger.error(
        { id: input.id, err: error instanceof Error ? error.message : String(error) },
        'sink refused message',
      );
      return { ok: false, reason: 'sink_failed' };
    }
    if (input.id !== undefined) {
      try {
        dedupe.add(input.id, receivedAtMs);
      } catch (error) {
        // The message is in the sink; a missing index entry only risks a duplicate later.
        logger.warn(
          { id: input.id, err: error instanceof Error ? error.message : String(error) },
          'dedupe index write failed',
        );
      }
    }
    logger.info({ id: input.id, messageType: parsed.type, via: input.via }, 'message accepted');
    return { ok: true, duplicate: false, messageType: parsed.type };
  }

  function accept(input: AcceptInput): Promise<AcceptResult> {
    const id = input.id;
    if (id === undefined) return acceptOnce(input);
    const running = inFlight.get(id);
    if (running !== undefined) {
      return running.then((r) => (r.ok ? { ...r, duplicate: true } : acceptOnce(input)));
    }
    const promise = acceptOnce(input).finally(() => inFlight.delete(id));
    inFlight.set(id, promise);
    return promise;
  }

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.post(path, async (c) => {
    const traceId = traceIdFromTraceparent(c.req.header('traceparent'));
    const unauthorized = (reason: string) => {
      // The reason goes to the log only; the answer is the same for every failed check.
      logger.warn({ reason, traceId }, 'push rejected');
      return problemResponse(
        createProblem({
          status: 401,
          traceId,
          title: 'Unauthorized',
          errors: { authentication: ['The request could not be authenticated.'] },
        }),
      );
    };

    if (allowlist !== undefined) {
      let remote = '';
      try {
        remote = getConnInfo(c).remote.address ?? '';
      } catch {
        remote = '';
      }
      const r = allowlist.check(remote, c.req.header('x-forwarded-for'));
      if (!r.ok) return unauthorized(`ip_${r.reason}`);
    }
    if (mtls !== undefined) {
      const socket = tlsSocketOf(c);
      const r = socket === undefined ? ({ ok: false, reason: 'no_certificate' } as const) : mtls.verify(socket);
      if (!r.ok) return unauthorized(`mtls_${r.reason}`);
    }
    if (secretVerifier !== undefined) {
      const r = secretVerifier.verify(c.req.raw.headers);
      if (!r.ok) return unauthorized(`secret_${r.reason}`);
    }
    const raw = await readBodyLimited(c.req.raw, maxBodyBytes);
    if (raw === undefined) {
      return problemResponse(
        createProblem({
          status: 413,
          traceId,
          title: 'Payload Too Large',
          errors: { $: [`body is larger than ${maxBodyBytes} bytes`] },
        }),
      );
    }
    if (signatureVerifier !== undefined) {
      const r = signatureVerifier.verify(c.req.raw.headers, raw);
      if (!r.ok) return unauthorized(`signature_${r.reason}`);
    }

    const idHeader = c.req.header('webhook-id') ?? c.req.header('svix-id');
    const id = idHeader !== undefined && idHeader !== '' && idHeader.length <= MAX_ID_LENGTH ? idHeader : undefined;
    const result = await accept({
      id,
      body: Buffer.from(raw).toString('utf8'),
      correlationId: c.req.header('x-correlation-id'),
      traceId,
      via: tlsSocketOf(c) === undefined ? 'http' : 'https',
    });
    if (result.ok) return c.json({ status: result.duplicate ? 'duplicate' : 'accepted', id: id ?? null }, 200);
    if (result.reason === 'invalid_body') return problemResponse(result.problem);
    return problemResponse(
      createProblem({
        status: 503,
        traceId,
        title: 'Service Unavailable',
        errors: { sink: ['The message could not be stored; retry later.'] },
      }),
    );
  });

  const servers = new Set<Server>();

  return {
    app,
    accept,
    async serve(serveOptions = {}) {
      const listener = getRequestListener(app.fetch);
      const server: Server =
        options.tls === undefined
          ? createHttpServer(listener)
          : createHttpsServer(
              {
                cert: options.tls.certPem,
                key: options.tls.keyPem,
                minVersion: 'TLSv1.2',
                ...(mtls === undefined ? {} : mtls.serverOptions),
              },
              listener,
            );
      const host = serveOptions.host ?? '127.0.0.1';
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(serveOptions.port ?? 0, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.add(server);
      const port = (server.address() as AddressInfo).port;
      const scheme = options.tls === undefined ? 'http' : 'https';
      const urlHost = host.includes(':') ? `[${host}]` : host;
      return {
        port,
        url: `${scheme}://${urlHost}:${port}${path}`,
        server,
        close: () =>
          new Promise<void>((resolve) => {
            servers.delete(server);
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      };
    },
    async close() {
      await Promise.all(
        [...servers].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      servers.clear();
      await Promise.allSettled([...inFlight.values()]);
      await sink.close();
      dedupe.close();
    },
  };
}
