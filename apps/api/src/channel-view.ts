import { formatApiTimestamp, PASSWORD_MASK, toChannelConfigurationJson } from '@herald/schemas';
import type { Channel, RabbitMqChannelConfig, WebhookChannelConfig } from '@herald/store';

/** Where SignalR clients connect (negotiate at `${SIGNALR_HUB_PATH}/negotiate`). */
export const SIGNALR_HUB_PATH = '/hubs/notifications';

/** The documents' `notificationChannelConfigurationJSON`, with the broker password always masked. */
export function channelConfigurationJson(channel: Channel): string {
  if (channel.kind === 0) {
    const c = channel.config as WebhookChannelConfig;
    return toChannelConfigurationJson('WebHook', {
      webHookUrl: c.webHookUrl,
      retryCount: c.retryCount,
      exponentialBackoffFactor: c.exponentialBackoffFactor,
    });
  }
  if (channel.kind === 2) {
    const c = channel.config as RabbitMqChannelConfig;
    return toChannelConfigurationJson('RabbitMQ', {
      url: c.url,
      username: c.username,
      password: PASSWORD_MASK,
      queueName: c.queueName,
    });
  }
  // SignalR (a Herald addition): nothing to configure but where clients connect.
  return JSON.stringify({ Hub: SIGNALR_HUB_PATH });
}

/**
 * A channel as the documented API returns it, keys in the documents' order. `nested` adds the
 * `notificationChannelConfiguration` object that list and get responses carry (create/update do not).
 */
export function toChannelConfigurationResponse(channel: Channel, nested: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: channel.id,
    applicationId: channel.applicationId,
    channel: channel.kind,
    notificationChannelConfigurationJSON: channelConfigurationJson(channel),
  };
  if (nested) {
    out['notificationChannelConfiguration'] = {
      isActive: channel.isActive,
      includeImageData: channel.includeImageData,
      notificationChannel: channel.kind,
    };
  }
  out['isActive'] = channel.isActive;
  out['includeImageData'] = channel.includeImageData;
  out['createdAt'] = formatApiTimestamp(new Date(channel.createdAt));
  out['updatedAt'] = formatApiTimestamp(new Date(channel.updatedAt));
  return out;
}

/** Herald's fuller view of a channel: delivery options and auth settings, never a secret. */
export function toHeraldChannelView(channel: Channel): Record<string, unknown> {
  const base = toChannelConfigurationResponse(channel, true);
  const auth: Record<string, unknown> = {};
  if (channel.kind === 0) {
    const c = channel.config as WebhookChannelConfig;
    auth['secretHeaderName'] = c.secretHeaderName ?? null;
    auth['secretHeaderValueSet'] = channel.secrets.secretHeaderValue !== undefined;
    auth['signatures'] = c.signatures === true;
    auth['signingSecretCount'] = channel.secrets.signingSecrets?.length ?? 0;
    auth['sourceAddress'] = c.sourceAddress ?? null;
    auth['clientCertificatePem'] = c.clientCertificatePem ?? null;
  } else if (channel.kind === 2) {
    auth['passwordSet'] = channel.secrets.password !== undefined;
  }
  return {
    ...base,
    auth,
    options: {
      orderingKey: channel.options.orderingKey ?? null,
      coalesceProgress: channel.options.coalesceProgress === true,
      maxInFlight: channel.options.maxInFlight ?? null,
    },
    disabledReason: channel.disabledReason,
    failingSince: channel.failingSince === null ? null : new Date(channel.failingSince).toISOString(),
  };
}
