import { consumeNotifications, type NotificationConsumer } from '@herald/transport-amqp';
import type { Receiver, ReceiverLogger } from './create-receiver.ts';
import type { ReceiverConfig } from './receiver-config.ts';

const RECONNECT_BASE_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

/**
 * Consumes the client's queue and hands each message to the receiver's validation, dedupe and
 * sink; a message is acknowledged only once the sink has it (or it is a known duplicate). A
 * failing sink makes the helper put the message back (and dead-letter it after its redelivery
 * limit). A lost connection is re-established with capped backoff until `stop()`.
 */
export async function startAmqpMode(
  receiver: Receiver,
  config: NonNullable<ReceiverConfig['amqp']>,
  logger?: ReceiverLogger,
): Promise<{ stop(): Promise<void> }> {
  let stopped = false;
  let consumer: NotificationConsumer | undefined;
  let wake: (() => void) | undefined;

  const connect = () =>
    consumeNotifications({
      url: config.url,
      username: config.username,
      password: config.password,
      queue: config.queue,
      ...(config.prefetch === undefined ? {} : { prefetch: config.prefetch }),
      onError: (error) => logger?.warn({ err: error.message }, 'AMQP connection lost'),
      handler: async (n) => {
        const result = await receiver.accept({
          id: n.messageId,
          body: n.raw.toString('utf8'),
          correlationId: n.correlationId,
          via: 'amqp',
        });
        if (!result.ok)
          throw new Error(result.reason === 'sink_failed' ? 'the sink refused the message' : 'invalid message');
      },
    });

  // The first connection must work: a wrong URL or password should stop the start-up.
  consumer = await connect();
  const loop = (async () => {
    let delayMs = RECONNECT_BASE_MS;
    for (;;) {
      await consumer?.closed;
      if (stopped) return;
      consumer = undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, delayMs);
      });
      if (stopped) return;
      try {
        consumer = await connect();
        logger?.info({ queue: config.queue }, 'AMQP consumer reconnected');
        delayMs = RECONNECT_BASE_MS;
      } catch (error) {
        logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'AMQP reconnect failed');
        delayMs = Math.min(RECONNECT_MAX_MS, delayMs * 2);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await consumer?.stop();
      await loop;
    },
  };
}
