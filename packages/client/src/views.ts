/** Herald's own response shapes (the documented channel API's shapes come from @herald/schemas). */

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

export interface TokenResponse {
  token: string;
  tokenType: 'Bearer';
  expiresIn: number;
  applicationId: string | null;
  role: 'application' | 'operator';
}

export interface PublishResponse {
  id: string;
  /** Deliveries created: one per active channel. */
  deliveries: number;
  /** True when an earlier request with the same Idempotency-Key and body was answered. */
  duplicate: boolean;
}

export type DeliveryState = 'pending' | 'delivering' | 'delivered' | 'failed' | 'dead' | 'superseded';

export interface MessageView {
  id: string;
  applicationId: string;
  type: string;
  correlationId: string | null;
  traceparent: string | null;
  createdAt: string;
  body: unknown;
}

export interface DeliveryView {
  id: string;
  messageId: string;
  applicationId: string;
  channelId: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string | null;
  lastOutcome: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

export interface AttemptView {
  id: string;
  deliveryId: string;
  messageId: string;
  channelId: string;
  attemptNumber: number;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  outcome: string;
  statusCode: number | null;
  brokerReply: string | null;
  error: string | null;
  responseExcerpt: string | null;
}

export interface EventView {
  id: string;
  channelId: string | null;
  type: string;
  detail: string;
  createdAt: string;
}

export interface ChannelDetails {
  id: string;
  applicationId: string;
  channel: 0 | 1 | 2;
  notificationChannelConfigurationJSON: string;
  isActive: boolean;
  includeImageData: boolean;
  createdAt: string;
  updatedAt: string;
  /** Auth settings; secrets only as flags (`secretHeaderValueSet`, `passwordSet`) or counts. */
  auth: Record<string, unknown>;
  options: { orderingKey: string | null; coalesceProgress: boolean; maxInFlight: number | null };
  disabledReason: string | null;
  failingSince: string | null;
}

export interface RejectionCodeView {
  code: string;
  description: string;
}

export interface ApplicationView {
  id: string;
  name: string;
  rateLimitPerSecond: number | null;
  createdAt: string;
}

export interface ApiKeyView {
  id: string;
  applicationId: string | null;
  role: 'application' | 'operator';
  key: string;
  label: string | null;
  credits: number | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface NewApiKeyView extends ApiKeyView {
  /** The x-api-secret: shown once. */
  secret: string;
}

export interface UsageView {
  applicationId: string | null;
  key: string;
  credits: number | null;
}

export interface ReadinessView {
  status: 'ready' | 'not_ready';
  checks: Record<string, boolean>;
}
