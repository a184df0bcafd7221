import type { DeliveryOutcome } from '@herald/schemas';
import type { SignalRHub } from './signalr-hub.ts';

/** The parts of an engine delivery job the hub needs (structurally compatible with @herald/engine's TransportJob). */
export interface RealtimeJob {
  message: { id: string; type: string; correlationId: string | null; createdAt: number };
  channel: { applicationId: string };
  /** The JSON body to push (already stripped of image data when the channel asks for it). */
  body: string;
}

export interface SignalRTransportOptions {
  hub: SignalRHub;
  /** Client method invoked with `(message, meta)`. Default `ReceiveNotification`. */
  target?: string;
  clock?: () => number;
}

/**
 * Delivers to the application's connected hub clients. Delivered when at least one connection took the
 * frame; with nobody connected the outcome is retryable, so the message waits (within the channel's
 * retry budget) for a client to connect.
 */
export function createSignalRTransport(options: SignalRTransportOptions) {
  const target = options.target ?? 'ReceiveNotification';
  const now = options.clock ?? Date.now;
  return {
    async deliver(job: RealtimeJob, signal?: AbortSignal): Promise<DeliveryOutcome> {
      const started = now();
      if (signal?.aborted) {
        return { ok: false, code: 'cancelled', retryable: true, disableChannel: false, durationMs: 0 };
      }
      const meta = {
        messageId: job.message.id,
        messageType: job.message.type,
        correlationId: job.message.correlationId,
        publishedAt: new Date(job.message.createdAt).toISOString(),
      };
      const received = await options.hub.sendToApplication(job.channel.applicationId, target, [
        JSON.parse(job.body) as unknown,
        meta,
      ]);
      const durationMs = now() - started;
      if (received > 0) {
        return {
          ok: true,
          code: 'delivered',
          retryable: false,
          disableChannel: false,
          durationMs,
          responseExcerpt: `pushed to ${received} connection(s)`,
        };
      }
      return {
        ok: false,
        code: 'network',
        retryable: true,
        disableChannel: false,
        durationMs,
        error: 'no hub client of this application is connected',
      };
    },
  };
}
