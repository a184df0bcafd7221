export { classifyFailure, collectErrorCodes, type FailureClass } from './classify-failure.ts';
export { parseRetryAfter } from './parse-retry-after.ts';
export { TransportConfigError, type TransportConfigErrorCode } from './transport-config-error.ts';
export {
  createWebhookClient,
  type WebhookClient,
  type WebhookClientOptions,
  type WebhookRequest,
} from './webhook-client.ts';
export { buildWebhookHeaders, type WebhookHeaderInput } from './webhook-headers.ts';
