export {
  type AmqpDestination,
  type AmqpTarget,
  type AmqpTlsOptions,
  type ParseAmqpUrlResult,
  parseAmqpUrl,
} from './amqp-destination.ts';
export {
  type AmqpDestinationPolicy,
  type AmqpMessage,
  type AmqpPublisher,
  type AmqpPublisherOptions,
  createAmqpPublisher,
} from './amqp-publisher.ts';
export { AmqpTransportError, type AmqpTransportErrorCode } from './amqp-transport-error.ts';
export {
  ALL_ROUTING_KEYS,
  EXCHANGE_NAME,
  ROUTING_KEYS,
  type RoutingKey,
  routingKeyFor,
} from './routing-key.ts';
export {
  type ConsumeNotificationsOptions,
  consumeNotifications,
  DEAD_REASON_HEADER,
  type NotificationConsumer,
  REDELIVERIES_HEADER,
  type ReceivedNotification,
} from './consume-notifications.ts';
