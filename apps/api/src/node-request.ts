import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * Under @hono/node-server the request is a lazy proxy: reading `c.req.header()` builds a WHATWG Headers
 * object, and touching `c.req.raw.body` builds a full Request with a web ReadableStream over the socket.
 * Measured on the publish path, those two cost more than the JSON parsing and validation together. These
 * helpers read the node request directly when there is one and fall back to the web Request otherwise
 * (`app.request()` in tests, other runtimes).
 */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming;
}

/** A request header by its lower-case name; repeated headers are joined with ", " as the Fetch API does. */
export function requestHeader(c: Context, lowerCaseName: string): string | undefined {
  const incoming = nodeIncoming(c);
  if (incoming === undefined) return c.req.header(lowerCaseName);
  const value = incoming.headers[lowerCaseName];
  return Array.isArray(value) ? value.join(', ') : value;
}

export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Reads the whole body of a node request, refusing it as soon as more than `limit` bytes have arrived
 * (a chunked body of any length is cut off at the limit, never buffered whole).
 */
export function readIncomingBody(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (incoming.readableDidRead || incoming.readableEnded) {
      reject(new Error('the request body was already read'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // The rest is discarded as it arrives; the answer closes the connection.
        incoming.resume();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      if (incoming.complete) return;
      cleanup();
      reject(new Error('the client closed the connection before the body was complete'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}
