import type { Channel, DeliveryPlan } from '@herald/store';

/** Whether a message type is one of the `*Progress` types (the only ones coalescing applies to). */
export function isProgressType(type: string): boolean {
  return type.endsWith('Progress');
}

function keyValue(message: Record<string, unknown>, field: string): string | null {
  const value = Object.hasOwn(message, field) ? message[field] : undefined;
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/**
 * One delivery per active channel: the ordering key is the value of the channel's `orderingKey`
 * field in the message (null when the message lacks it); the coalescing key is the
 * `ImageRenderProcessId` of a progress message on a channel with `coalesceProgress`.
 */
export function planDeliveries(
  channels: readonly Channel[],
  message: Record<string, unknown>,
  type: string,
): DeliveryPlan[] {
  const progress = isProgressType(type);
  return channels.map((channel) => {
    const field = channel.options.orderingKey;
    return {
      channelId: channel.id,
      orderingKey: field ? keyValue(message, field) : null,
      coalesceKey:
        progress && channel.options.coalesceProgress === true ? keyValue(message, 'ImageRenderProcessId') : null,
    };
  });
}
