import type { ChannelModel } from 'amqplib';

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
