import { z } from 'zod';
import { ApiTimestamp } from './api-timestamp.ts';
import { Uuid } from './fields.ts';
import { NotificationChannelValue } from './notification-channel.ts';
import { SchemasError } from './schemas-error.ts';
import { formatDouble } from './format-double.ts';

/** What Herald prints instead of a stored RabbitMQ password. */
export const PASSWORD_MASK = '********';

/** The nested `notificationChannelConfiguration` of list and get responses. */
export const NotificationChannelSettings = z.object({
  isActive: z.boolean(),
  includeImageData: z.boolean(),
  notificationChannel: NotificationChannelValue,
});
export type NotificationChannelSettings = z.infer<typeof NotificationChannelSettings>;

/**
 * One channel configuration as the API returns it. `notificationChannelConfiguration` is present in
 * list/get responses and absent from create/update responses, as in the documents. Unknown keys are
 * stripped (not rejected) so a client keeps working when the server adds fields.
 */
export const ChannelConfigurationResponse = z.object({
  id: Uuid,
  applicationId: Uuid,
  channel: NotificationChannelValue,
  /** A JSON text: see `WebHookChannelConfigurationJson` / `RabbitMqChannelConfigurationJson`. */
  notificationChannelConfigurationJSON: z.string(),
  notificationChannelConfiguration: NotificationChannelSettings.optional(),
  isActive: z.boolean(),
  includeImageData: z.boolean(),
  createdAt: ApiTimestamp,
  updatedAt: ApiTimestamp,
});
export type ChannelConfigurationResponse = z.infer<typeof ChannelConfigurationResponse>;

/** `GET .../ChannelConfiguration/All`: a plain array. */
export const ChannelConfigurationListResponse = z.array(ChannelConfigurationResponse);
export type ChannelConfigurationListResponse = z.infer<typeof ChannelConfigurationListResponse>;

/** `GET .../ChannelConfiguration/Active`: the .NET reference-preserving wrapper `{ "$id", "$values" }`. */
export const ActiveChannelConfigurationsResponse = z.object({
  $id: z.string(),
  $values: z.array(ChannelConfigurationResponse),
});
export type ActiveChannelConfigurationsResponse = z.infer<typeof ActiveChannelConfigurationsResponse>;

/** `DELETE .../ChannelConfiguration`: `true`. */
export const DeleteChannelConfigurationResponse = z.boolean();
export type DeleteChannelConfigurationResponse = z.infer<typeof DeleteChannelConfigurationResponse>;

/** Content of `notificationChannelConfigurationJSON` for a WebHook channel. */
export const WebHookChannelConfigurationJson = z.object({
  WebHookUrl: z.string(),
  RetryCount: z.int(),
  ExponentialBackoffFactor: z.number(),
});
export type WebHookChannelConfigurationJson = z.infer<typeof WebHookChannelConfigurationJson>;

/** Content of `notificationChannelConfigurationJSON` for a RabbitMQ channel (Herald masks `Password`). */
export const RabbitMqChannelConfigurationJson = z.object({
  Url: z.string(),
  Username: z.string(),
  Password: z.string(),
  QueueName: z.string(),
});
export type RabbitMqChannelConfigurationJson = z.infer<typeof RabbitMqChannelConfigurationJson>;

export interface WebHookConfigurationFields {
  webHookUrl: string;
  retryCount: number;
  exponentialBackoffFactor: number;
}

export interface RabbitMqConfigurationFields {
  url: string;
  username: string;
  /** Must already be masked (`PASSWORD_MASK`) or empty: Herald never returns a broker password in clear. */
  password: string;
  queueName: string;
}

/**
 * The `notificationChannelConfigurationJSON` text, byte for byte as the documents print it
 * (`{"WebHookUrl":"https://example.com/webhook","RetryCount":5,"ExponentialBackoffFactor":2.0}`).
 * Throws `SchemasError` (code UNMASKED_SECRET) when the RabbitMQ password is not masked.
 */
export function toChannelConfigurationJson(kind: 'WebHook', config: WebHookConfigurationFields): string;
export function toChannelConfigurationJson(kind: 'RabbitMQ', config: RabbitMqConfigurationFields): string;
export function toChannelConfigurationJson(
  kind: 'WebHook' | 'RabbitMQ',
  config: WebHookConfigurationFields | RabbitMqConfigurationFields,
): string {
  if (kind === 'WebHook') {
    const c = config as WebHookConfigurationFields;
    if (!Number.isInteger(c.retryCount)) {
      throw new SchemasError('INVALID_ARGUMENT', `retryCount must be a whole number; received ${c.retryCount}`);
    }
    return `{"WebHookUrl":${JSON.stringify(c.webHookUrl)},"RetryCount":${c.retryCount},"ExponentialBackoffFactor":${formatDouble(c.exponentialBackoffFactor)}}`;
  }
  if (kind === 'RabbitMQ') {
    const c = config as RabbitMqConfigurationFields;
    // Only '*' characters (or nothing) may pass: a clear password here is a bug that would leak it.
    if (!/^\**$/.test(c.password)) {
      throw new SchemasError('UNMASKED_SECRET', 'RabbitMQ password must be masked before it is put in a response');
    }
    return `{"Url":${JSON.stringify(c.url)},"Username":${JSON.stringify(c.username)},"Password":${JSON.stringify(c.password)},"QueueName":${JSON.stringify(c.queueName)}}`;
  }
  throw new SchemasError('INVALID_ARGUMENT', `unknown channel kind ${JSON.stringify(kind)}`);
}

export type ParseChannelConfigurationJsonResult =
  | { ok: true; channel: 'WebHook'; config: WebHookChannelConfigurationJson }
  | { ok: true; channel: 'RabbitMQ'; config: RabbitMqChannelConfigurationJson }
  | { ok: false; reason: string };

/** Reads a `notificationChannelConfigurationJSON` text of a WebHook (0) or RabbitMQ (2) channel. */
export function parseChannelConfigurationJson(
  channel: NotificationChannelValue,
  text: string,
): ParseChannelConfigurationJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'notificationChannelConfigurationJSON is not valid JSON' };
  }
  if (channel === 0) {
    const r = WebHookChannelConfigurationJson.safeParse(value);
    return r.success
      ? { ok: true, channel: 'WebHook', config: r.data }
      : { ok: false, reason: z.prettifyError(r.error) };
  }
  if (channel === 2) {
    const r = RabbitMqChannelConfigurationJson.safeParse(value);
    return r.success
      ? { ok: true, channel: 'RabbitMQ', config: r.data }
      : { ok: false, reason: z.prettifyError(r.error) };
  }
  return { ok: false, reason: 'SignalR channels have no documented configuration JSON' };
}
