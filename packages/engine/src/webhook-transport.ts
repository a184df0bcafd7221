import {
  createSharedSecretSender,
  createWebhookSigner,
  type SharedSecretSender,
  type WebhookSigner,
} from '@herald/auth';
import type { DeliveryOutcome } from '@herald/schemas';
import type { Channel, WebhookChannelConfig } from '@herald/store';
import { buildWebhookHeaders } from '@herald/transport-http';
import type { Transport } from './transport.ts';

/** The part of @herald/transport-http's WebhookClient this transport uses. */
export interface WebhookDeliverer {
  deliver(request: {
    url: string;
    body: string;
    headers?: Record<string, string>;
    tls?: { cert?: string; key?: string; ca?: string };
    localAddress?: string;
    timeoutMs?: number;
    signal?: AbortSignal;
  }): Promise<DeliveryOutcome>;
}

interface ChannelSenders {
  updatedAt: number;
  sharedSecret: SharedSecretSender | null;
  signer: WebhookSigner | null;
  /** Why the channel's auth settings are unusable, or null. */
  problem: string | null;
}

/** Sender objects kept for at most this many channels (oldest dropped first). */
const MAX_CACHED_CHANNELS = 10_000;

function invalidChannel(error: string): DeliveryOutcome {
  return { ok: false, code: 'invalid_destination', retryable: false, disableChannel: false, durationMs: 0, error };
}

/** Auth config errors name the setting, never the secret; anything else is reported by name only. */
function describeConfigError(error: unknown): string {
  if (error instanceof Error && error.name === 'AuthConfigError') return error.message;
  return error instanceof Error ? error.name : 'unknown error';
}

function buildSenders(channel: Channel): ChannelSenders {
  const config = channel.config as WebhookChannelConfig;
  const { secrets } = channel;
  const senders: ChannelSenders = { updatedAt: channel.updatedAt, sharedSecret: null, signer: null, problem: null };
  try {
    if (config.secretHeaderName && secrets.secretHeaderValue) {
      senders.sharedSecret = createSharedSecretSender({
        headerName: config.secretHeaderName,
        secret: secrets.secretHeaderValue,
      });
    }
    if (secrets.signingSecrets && secrets.signingSecrets.length > 0) {
      senders.signer = createWebhookSigner({ secrets: secrets.signingSecrets });
    } else if (config.signatures === true) {
      senders.problem = 'signatures are on but the channel has no signing secret';
    }
    if (config.clientCertificatePem && !secrets.clientKeyPem) {
      senders.problem = 'a client certificate is configured without its private key';
    }
  } catch (error) {
    senders.problem = `channel auth settings are unusable: ${describeConfigError(error)}`;
  }
  return senders;
}

/**
 * Webhook channels (kind 0) over a WebhookClient: documented headers, the shared-secret header,
 * Standard Webhooks signatures over the exact body sent, mTLS identity, source address and extra CA.
 * Sender objects are cached per channel and rebuilt when the channel's updatedAt changes.
 */
export function createWebhookTransport(options: {
  client: WebhookDeliverer;
  /** Seconds since the epoch for webhook-timestamp; default the system clock. */
  signingTimestamp?: () => number;
}): Transport {
  const { client } = options;
  const signingTimestamp = options.signingTimestamp ?? (() => Math.floor(Date.now() / 1000));
  const cache = new Map<string, ChannelSenders>();

  function sendersFor(channel: Channel): ChannelSenders {
    const cached = cache.get(channel.id);
    if (cached && cached.updatedAt === channel.updatedAt) return cached;
    const fresh = buildSenders(channel);
    cache.delete(channel.id);
    if (cache.size >= MAX_CACHED_CHANNELS) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(channel.id, fresh);
    return fresh;
  }

  return {
    async deliver(job, signal) {
      const { channel, message, body } = job;
      const config = channel.config as WebhookChannelConfig;
      if (typeof config.webHookUrl !== 'string' || config.webHookUrl === '') {
        return invalidChannel('the channel has no webHookUrl');
      }
      const senders = sendersFor(channel);
      if (senders.problem !== null) return invalidChannel(senders.problem);
      const timestampSeconds = Math.floor(signingTimestamp());
      let headers: Record<string, string>;
      try {
        headers = {
          ...buildWebhookHeaders({
            messageId: message.id,
            timestampSeconds,
            messageType: message.type,
            ...(message.correlationId === null ? {} : { correlationId: message.correlationId }),
            ...(message.traceparent === null ? {} : { traceparent: message.traceparent }),
          }),
          ...(senders.sharedSecret?.headers() ?? {}),
          ...(senders.signer?.sign({ id: message.id, timestampSeconds, body }) ?? {}),
        };
      } catch (error) {
        // A stored header value the transport refuses (e.g. a malformed traceparent): retrying cannot help.
        return invalidChannel(
          `cannot build the request headers: ${error instanceof Error ? error.message : 'unknown error'}`,
        );
      }
      const tls: { cert?: string; key?: string; ca?: string } = {};
      if (config.clientCertificatePem && channel.secrets.clientKeyPem) {
        tls.cert = config.clientCertificatePem;
        tls.key = channel.secrets.clientKeyPem;
      }
      if (config.serverCaPem) tls.ca = config.serverCaPem;
      return client.deliver({
        url: config.webHookUrl,
        body,
        headers,
        signal,
        ...(Object.keys(tls).length > 0 ? { tls } : {}),
        ...(config.sourceAddress ? { localAddress: config.sourceAddress } : {}),
      });
    },
  };
}
