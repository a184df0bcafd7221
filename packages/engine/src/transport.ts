import type { DeliveryOutcome } from '@herald/schemas';
import type { Channel, Delivery, MessageRecord } from '@herald/store';

/** One attempt handed to a transport. */
export interface TransportJob {
  delivery: Delivery;
  message: MessageRecord;
  channel: Channel;
  /** The exact text to send: the stored body, without ImageContentBytes when the channel excludes image data. */
  body: string;
  /** 1-based number of this attempt. */
  attemptNumber: number;
}

/**
 * Sends one job. Expected failures are outcome values, never throws; the per-attempt deadline is
 * the transport's own. `signal` aborts the attempt at shutdown.
 */
export interface Transport {
  deliver(job: TransportJob, signal: AbortSignal): Promise<DeliveryOutcome>;
}

/** Transport names by channel kind (WebHook 0, SignalR 1, RabbitMQ 2). */
export type TransportName = 'webhook' | 'signalr' | 'rabbitmq';

export const TRANSPORT_BY_KIND: Readonly<Record<number, TransportName>> = Object.freeze({
  0: 'webhook',
  1: 'signalr',
  2: 'rabbitmq',
});
