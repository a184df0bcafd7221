import { createServer, type Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { createProblem, traceIdFromTraceparent } from '@herald/schemas';

/** Time limits of the API's HTTP server; slow or stalled clients are cut off, others are not held up. */
export const SERVER_TIMEOUTS = {
  /** All request headers must arrive within this (slowloris). */
  headersTimeoutMs: 15_000,
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: 60_000,
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often the two limits above are checked. */
  checkIntervalMs: 1_000,
} as const;

export interface HttpServerOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  hostname: string;
  timeouts?: Partial<Record<keyof typeof SERVER_TIMEOUTS, number>>;
}

function problemBody(status: number, message: string): string {
  return JSON.stringify(createProblem({ status, traceId: traceIdFromTraceparent(), errors: { $: [message] } }));
}

function problemResponse(status: number, message: string): string {
  const body = problemBody(status, message);
  const reason =
    status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/problem+json; charset=utf-8\r\n` +
    `x-content-type-options: nosniff\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Requests Node's parser refuses (bad framing, oversized headers, timeouts) get a problem body too. */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'expected request headers of at most 16 KiB']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'expected the request to arrive sooner']
        : [400, 'expected a well-formed HTTP/1.1 request'];
  socket.end(problemResponse(status, message));
}

/** The API's HTTP server, with a graceful shutdown. */
export interface HttpServer extends Server {
  /**
   * Stops taking connections and lets the open ones finish: every answer from now on carries
   * `Connection: close`, so a keep-alive client gets the answer to the request it sent and then reconnects
   * elsewhere instead of having it cut. Connections still idle after `graceMs` (nothing sent) are closed;
   * whatever is left at `deadlineMs` is cut. Resolves with the number of connections cut that way.
   */
  shutdown(options: { deadlineMs: number; graceMs?: number }): Promise<{ cutConnections: number }>;
}

const SHUTDOWN_POLL_MS = 25;

/**
 * A node:http server for a fetch handler (hono), with request/header timeouts and problem bodies for
 * requests refused before they reach the app. Not yet listening.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const t = { ...SERVER_TIMEOUTS, ...options.timeouts };
  const listener = getRequestListener(options.fetch, {
    hostname: options.hostname,
    // The adapter's own refusals (e.g. an invalid Host header) answer an empty 400 otherwise.
    errorHandler: (err) => {
      const status = err instanceof RequestError ? 400 : 500;
      const message = status === 400 ? 'expected a well-formed HTTP request' : 'An unexpected error occurred.';
      return new Response(problemBody(status, message), {
        status,
        headers: { 'content-type': 'application/problem+json; charset=utf-8', 'x-content-type-options': 'nosniff' },
      });
    },
  });
  let draining = false;
  const sockets = new Set<Socket>();
  const server = createServer(
    {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      keepAliveTimeout: t.keepAliveTimeoutMs,
      connectionsCheckingInterval: t.checkIntervalMs,
    },
    (req, res) => {
      if (draining) res.setHeader('connection', 'close');
      return listener(req, res);
    },
  );
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.on('clientError', onClientError);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const shutdown: HttpServer['shutdown'] = async ({ deadlineMs, graceMs = 1_000 }) => {
    draining = true;
    // net.Server's close stops accepting without http.Server's closeIdleConnections(), which would reset a
    // keep-alive connection whose next request is already on its way but not yet parsed.
    const listening = server.listening
      ? new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()))
      : Promise.resolve();
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const pause = () => new Promise((resolve) => setTimeout(resolve, SHUTDOWN_POLL_MS));
    // Answers in progress end their connections (Connection: close); a request already sent on an idle
    // connection arrives within the grace and is answered the same way.
    while (sockets.size > 0 && elapsed() < Math.min(graceMs, deadlineMs)) await pause();
    // Then idle connections are closed as they turn up; busy ones end with their answer (Connection: close).
    server.closeIdleConnections();
    while (sockets.size > 0 && elapsed() < deadlineMs) {
      await pause();
      server.closeIdleConnections();
    }
    const cutConnections = sockets.size;
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    await listening;
    return { cutConnections };
  };
  return Object.assign(server, { shutdown });
}
