import { z } from 'zod';
import { describeValue } from './describe-value.ts';

/** The documents' channel enum: the integers travel on the wire. */
export const NotificationChannel = { WebHook: 0, SignalR: 1, RabbitMQ: 2 } as const;
export type NotificationChannelName = keyof typeof NotificationChannel;
export type NotificationChannel = (typeof NotificationChannel)[NotificationChannelName];

export const NotificationChannelValue = z.union([z.literal(0), z.literal(1), z.literal(2)], {
  error: (i) =>
    `expected a channel number: 0 (WebHook), 1 (SignalR) or 2 (RabbitMQ); received ${describeValue(i.input)}`,
});
export type NotificationChannelValue = z.infer<typeof NotificationChannelValue>;

const names: Record<NotificationChannel, NotificationChannelName> = { 0: 'WebHook', 1: 'SignalR', 2: 'RabbitMQ' };

export function notificationChannelName(value: NotificationChannel): NotificationChannelName {
  return names[value];
}
