import type { Dispatcher } from 'undici';

/** Tiny remainders are drained so the connection can be reused; more than this closes it instead. */
export const DRAIN_LIMIT_BYTES = 64 * 1024;

export interface ExchangeResult {
  statusCode: number;
  retryAfter: string | string[] | undefined;
  /** The first `maxResponseBytes` of the body, decoded as UTF-8. */
  excerpt: string;
}

export interface Exchange {
  result: Promise<ExchangeResult>;
  /** Status of the response once its head has arrived. */
  statusCode(): number | undefined;
  /** Aborts now, or as soon as undici hands the request a socket. */
  abort(reason: Error): void;
}

/**
 * One POST through undici's dispatcher API. A raw handler instead of `request()`: no body stream,
 * no abort-signal plumbing, the excerpt taken straight from the parser's chunks.
 */
export function startExchange(
  dispatcher: Dispatcher,
  opts: { origin: string; path: string; headers: Record<string, string>; body: string | Uint8Array },
  maxResponseBytes: number,
): Exchange {
  let controllerRef: Dispatcher.DispatchController | null = null;
  let abortReason: Error | null = null;
  let status: number | undefined;

  const result = new Promise<ExchangeResult>((resolve, reject) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let discardedBytes = 0;
    let retryAfter: string | string[] | undefined;
    const finish = (): void => {
      resolve({
        statusCode: status as number,
        retryAfter,
        excerpt: keptBytes === 0 ? '' : Buffer.concat(kept, keptBytes).toString('utf8'),
      });
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        if (abortReason !== null) {
          controller.abort(abortReason);
          return;
        }
        controllerRef = controller;
      },
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        retryAfter = headers['retry-after'];
      },
      onResponseData(controller, chunk) {
        const room = maxResponseBytes - keptBytes;
        if (room > 0) {
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          kept.push(part);
          keptBytes += part.length;
          discardedBytes += chunk.length - part.length;
        } else {
          discardedBytes += chunk.length;
        }
        // Past a small drain allowance the connection is dropped: an endless body costs nothing more.
        if (discardedBytes > DRAIN_LIMIT_BYTES) {
          finish();
          controller.abort(new Error('response body discarded'));
        }
      },
      onResponseEnd() {
        finish();
      },
      onResponseError(_controller, err) {
        reject(err);
      },
    };
    dispatcher.dispatch(
      { origin: opts.origin, path: opts.path, method: 'POST', headers: opts.headers, body: opts.body },
      handler,
    );
  });

  return {
    result,
    statusCode: () => status,
    abort(reason) {
      if (abortReason !== null) return;
      abortReason = reason;
      controllerRef?.abort(reason);
    },
  };
}
