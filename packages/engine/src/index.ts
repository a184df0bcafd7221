export {
  type AttemptEvent,
  type ChannelDisabledEvent,
  createEngine,
  type Engine,
  type EngineEvents,
  type EngineLogger,
  type EngineOptions,
  type EnginePublishResult,
  type PublishInput,
  type RetentionOptions,
} from './engine.ts';
export { EngineError, type EngineErrorCode } from './engine-error.ts';
export { isProgressType, planDeliveries } from './plan-deliveries.ts';
export { createRabbitMqTransport, type AmqpPublishTarget } from './rabbitmq-transport.ts';
export {
  createRecordingTransport,
  deliveredOutcome,
  hangUntilAborted,
  permanentOutcome,
  type RecordedAnswer,
  type RecordingTransport,
  retryableOutcome,
} from './recording-transport.ts';
export {
  backoffDelayMs,
  channelRetrySettings,
  computeNextAttempt,
  DEFAULT_RETRY_POLICY,
  effectiveBaseDelayMs,
  type NextAttemptInput,
  type RetryPolicy,
  resolveRetryPolicy,
} from './retry-policy.ts';
export { describeUnhandled, installRejectionGuard } from './process-guards.ts';
export { stripImageContentBytes } from './strip-image-content.ts';
export { TRANSPORT_BY_KIND, type Transport, type TransportJob, type TransportName } from './transport.ts';
export type { TypedEmitter } from './typed-emitter.ts';
export { createWebhookTransport, type WebhookDeliverer } from './webhook-transport.ts';
