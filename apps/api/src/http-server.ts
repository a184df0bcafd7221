import { createServer, type Server } from 'node:http';
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

/**
 * A node:http server for a fetch handler (hono), with request/header timeouts and problem bodies for
 * requests refused before they reach the app. Not yet listening.
 */
export function createHttpServer(options: HttpServerOptions): Server {
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
  const server = createServer(
    {
      headersTimeout: t.headersTimeoutMs,
      requestTimeout: t.requestTimeoutMs,
      keepAliveTimeout: t.keepAliveTimeoutMs,
      connectionsCheckingInterval: t.checkIntervalMs,
    },
    listener,
  );
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.on('clientError', onClientError);
  return server;
}
