import type { DeliveryOutcome } from '@herald/schemas';
import type { RabbitMqChannelConfig } from '@herald/store';
import type { Transport } from './transport.ts';

/** The part of @herald/transport-amqp's publisher this transport uses. */
export interface AmqpPublishTarget {
  publish(
    destination: { url: string; username: string; password: string; queueName?: string },
    message: { body: string; messageId: string; messageType: string; correlationId?: string },
  ): Promise<DeliveryOutcome>;
}

/** RabbitMQ channels (kind 2): a confirmed publish to the channel's broker, password from the channel's secrets. */
export function createRabbitMqTransport(options: { publisher: AmqpPublishTarget }): Transport {
  const { publisher } = options;
  return {
    async deliver(job) {
      const { channel, message, body } = job;
      const config = channel.config as RabbitMqChannelConfig;
      if (typeof config.url !== 'string' || typeof config.username !== 'string') {
        return {
          ok: false,
          code: 'invalid_destination',
          retryable: false,
          disableChannel: false,
          durationMs: 0,
          error: 'the channel has no broker url or username',
        };
      }
      return publisher.publish(
        {
          url: config.url,
          username: config.username,
          password: channel.secrets.password ?? '',
          ...(config.queueName ? { queueName: config.queueName } : {}),
        },
        {
          body,
          messageId: message.id,
          messageType: message.type,
          ...(message.correlationId === null ? {} : { correlationId: message.correlationId }),
        },
      );
    },
  };
}
