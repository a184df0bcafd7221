import type { ReceivedMessage, Sink } from './sink.ts';

export interface ForwardSinkOptions {
  url: string;
  timeoutMs?: number;
  /** Injected for tests and for callers with their own dispatcher; default global fetch. */
  fetch?: typeof fetch;
}

/** POSTs the raw body to a local URL; the local service must answer 2xx. */
export function createForwardSink(options: ForwardSinkOptions): Sink {
  const url = new URL(options.url).toString();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? fetch;
  return {
    async write(message: ReceivedMessage) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (message.id !== undefined) headers['webhook-id'] = message.id;
      if (message.correlationId !== undefined) headers['x-correlation-id'] = message.correlationId;
      headers['x-herald-message-type'] = message.messageType;
      const response = await doFetch(url, {
        method: 'POST',
        headers,
        body: message.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) {
        throw new Error(`forward target answered ${response.status}; expected 2xx`);
      }
    },
    close: async () => {},
  };
}
