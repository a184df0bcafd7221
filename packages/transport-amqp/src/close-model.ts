import type { Channel, ChannelModel } from 'amqplib';

/**
 * Closes gracefully, but a broker that never answers connection.close-ok must not hang the
 * caller: after `graceMs` the socket is destroyed.
 */
export async function closeModel(model: ChannelModel, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceful = model.close().then(
    () => true,
    () => true,
  );
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const done = await Promise.race([graceful, expired]);
  clearTimeout(timer);
  if (!done) {
    // amqplib has no public abort for a pending close: destroy its socket and stop its
    // heartbeat timers, which would otherwise keep the process alive for minutes.
    const internals = model.connection as unknown as {
      stream?: { destroy?: () => void };
      heartbeater?: { clear?: () => void };
    };
    internals.stream?.destroy?.();
    internals.heartbeater?.clear?.();
  }
}

/**
 * Closes a channel and waits (at most `graceMs`) for the broker's close-ok. The broker answers
 * only after it has handled every frame sent on the channel before, acks included; closing just
 * the connection right after an ack can lose the ack (RabbitMQ then requeues the message as
 * redelivered). Never throws: a channel already gone is as good as closed.
 */
export async function closeChannel(ch: Channel, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ch.close().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
