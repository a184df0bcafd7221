import { TransportConfigError } from './transport-config-error.ts';

export interface WebhookHeaderInput {
  /** The message id: sent as `webhook-id`, identical on every retry so receivers can drop duplicates. */
  messageId: string;
  /** Sent as `webhook-timestamp` when given (signers set it too). */
  timestampSeconds?: number;
  correlationId?: string;
  /** W3C trace context, `00-<32 hex>-<16 hex>-<2 hex>`. */
  traceparent?: string;
  messageType?: string;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
// Visible ASCII and spaces only: no CR/LF header injection, no non-ASCII surprises.
const SAFE_VALUE = /^[\x20-\x7e]*$/;

function checkValue(name: string, value: string): string {
  if (typeof value !== 'string' || !SAFE_VALUE.test(value)) {
    throw new TransportConfigError('HERALD_HTTP_INVALID_HEADER', `${name}: expected printable ASCII text`);
  }
  return value;
}

/**
 * The standard Herald headers for one message: `webhook-id`, and when given `webhook-timestamp`,
 * `x-correlation-id`, `traceparent`, `x-herald-message-type`. Combine with auth/signature headers.
 * Throws {@link TransportConfigError} (`HERALD_HTTP_INVALID_HEADER`) for malformed input.
 */
export function buildWebhookHeaders(input: WebhookHeaderInput): Record<string, string> {
  const headers: Record<string, string> = {};
  if (typeof input.messageId !== 'string' || input.messageId === '') {
    throw new TransportConfigError('HERALD_HTTP_INVALID_HEADER', 'messageId: expected a non-empty string');
  }
  headers['webhook-id'] = checkValue('messageId', input.messageId);
  if (input.timestampSeconds !== undefined) {
    if (!Number.isSafeInteger(input.timestampSeconds) || input.timestampSeconds < 0) {
      throw new TransportConfigError('HERALD_HTTP_INVALID_HEADER', 'timestampSeconds: expected a non-negative integer');
    }
    headers['webhook-timestamp'] = String(input.timestampSeconds);
  }
  if (input.correlationId !== undefined) headers['x-correlation-id'] = checkValue('correlationId', input.correlationId);
  if (input.traceparent !== undefined) {
    if (!TRACEPARENT.test(input.traceparent) || input.traceparent.startsWith('ff')) {
      throw new TransportConfigError('HERALD_HTTP_INVALID_HEADER', 'traceparent: expected a W3C traceparent value');
    }
    headers.traceparent = input.traceparent;
  }
  if (input.messageType !== undefined) headers['x-herald-message-type'] = checkValue('messageType', input.messageType);
  return headers;
}
