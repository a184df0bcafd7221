/**
 * What a transport reports for one attempt. Transports never throw for an expected failure
 * (a refused connection, a 500, a broker nack); they return an outcome value and the engine
 * decides from `retryable` / `disableChannel` what happens next.
 */
export const OUTCOME_CODES = [
  'delivered',
  /** Non-2xx HTTP status; see statusCode. */
  'http_status',
  /** 3xx answer: redirects are never followed. */
  'redirect',
  /** The per-attempt deadline passed (connect, headers or body). */
  'timeout',
  'dns',
  'refused',
  'reset',
  'tls',
  /** The destination (or the address it resolved to) is not allowed by the SSRF guard. */
  'blocked',
  /** The destination URL or channel configuration is unusable (bad scheme, credentials in URL, ...). */
  'invalid_destination',
  'network',
  /** The broker answered basic.nack. */
  'broker_nack',
  /** The broker returned the message as unroutable (mandatory flag). */
  'broker_returned',
  /** The connection or channel closed before the broker confirmed. */
  'broker_closed',
  'broker_auth',
  'cancelled',
  'internal',
] as const;
export type OutcomeCode = (typeof OUTCOME_CODES)[number];

export interface DeliveryOutcome {
  ok: boolean;
  code: OutcomeCode;
  /** The engine schedules another attempt (while retries remain) when true. */
  retryable: boolean;
  /** The channel should be disabled at once (HTTP 410 Gone). */
  disableChannel: boolean;
  durationMs: number;
  statusCode?: number;
  /** Parsed Retry-After, in milliseconds from now. */
  retryAfterMs?: number;
  /** Broker reply text (e.g. "NO_ROUTE"), for AMQP outcomes. */
  brokerReply?: string;
  /** Human-readable error text; never contains secrets or resolved internal addresses. */
  error?: string;
  /** The first bytes of the response body, capped by the transport. */
  responseExcerpt?: string;
}
