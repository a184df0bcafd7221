import type { DeliveryOutcome } from '@herald/schemas';
import type { AttemptResolution, Channel } from '@herald/store';
import { EngineError } from './engine-error.ts';

/** Platform-wide retry settings; a channel supplies its own retry count and backoff factor. */
export interface RetryPolicy {
  /** Delay before the first retry, before window scaling. */
  baseDelayMs: number;
  /** No single delay is longer than this (before jitter). */
  maxDelayMs: number;
  /** Jitter adds up to this fraction of the delay (0.2 = up to +20 %); it never shortens a delay. */
  jitterRatio: number;
  /**
   * The retries of a delivery span at least this long: when base × Σ factor^(i−1) over the channel's
   * retries is shorter, the base grows so the sum reaches it (capped delays may still fall short).
   */
  minRetryWindowMs: number;
  /** A `Retry-After` longer than this is cut to it. */
  maxRetryAfterMs: number;
  /** Retry count of channels that configure none (RabbitMQ, SignalR). */
  defaultRetryCount: number;
  /** Backoff factor of channels that configure none. */
  defaultBackoffFactor: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseDelayMs: 60_000,
  maxDelayMs: 6 * 3_600_000,
  jitterRatio: 0.2,
  minRetryWindowMs: 6 * 3_600_000,
  maxRetryAfterMs: 24 * 3_600_000,
  defaultRetryCount: 8,
  defaultBackoffFactor: 2,
});

/** Backoff factors below 1 would shrink delays; above this they overflow the cap at once anyway. */
const MAX_FACTOR = 100;
/** Retry counts above this are treated as this (keeps the window sum finite and cheap). */
const MAX_RETRY_COUNT = 1_000;

/** Merges overrides over the defaults and validates them; throws EngineError('invalid_config'). */
export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  const checks: [keyof RetryPolicy, boolean][] = [
    ['baseDelayMs', Number.isFinite(policy.baseDelayMs) && policy.baseDelayMs > 0],
    ['maxDelayMs', Number.isFinite(policy.maxDelayMs) && policy.maxDelayMs >= policy.baseDelayMs],
    ['jitterRatio', Number.isFinite(policy.jitterRatio) && policy.jitterRatio >= 0 && policy.jitterRatio <= 1],
    ['minRetryWindowMs', Number.isFinite(policy.minRetryWindowMs) && policy.minRetryWindowMs >= 0],
    ['maxRetryAfterMs', Number.isFinite(policy.maxRetryAfterMs) && policy.maxRetryAfterMs >= 0],
    ['defaultRetryCount', Number.isInteger(policy.defaultRetryCount) && policy.defaultRetryCount >= 0],
    [
      'defaultBackoffFactor',
      Number.isFinite(policy.defaultBackoffFactor) &&
        policy.defaultBackoffFactor >= 1 &&
        policy.defaultBackoffFactor <= MAX_FACTOR,
    ],
  ];
  for (const [name, valid] of checks) {
    if (!valid) {
      throw new EngineError(
        'invalid_config',
        `retry.${name} is invalid: received ${String(policy[name])} (baseDelayMs > 0, maxDelayMs >= baseDelayMs, jitterRatio 0..1, counts >= 0, factor 1..${MAX_FACTOR})`,
      );
    }
  }
  return policy;
}

/** The retry count and backoff factor a channel asks for, with the policy's defaults and bounds. */
export function channelRetrySettings(channel: Channel, policy: RetryPolicy): { retryCount: number; factor: number } {
  const config = channel.config as { retryCount?: unknown; exponentialBackoffFactor?: unknown };
  const retryCount =
    typeof config.retryCount === 'number' && Number.isInteger(config.retryCount) && config.retryCount >= 0
      ? Math.min(config.retryCount, MAX_RETRY_COUNT)
      : policy.defaultRetryCount;
  const factor =
    typeof config.exponentialBackoffFactor === 'number' && Number.isFinite(config.exponentialBackoffFactor)
      ? Math.min(Math.max(config.exponentialBackoffFactor, 1), MAX_FACTOR)
      : policy.defaultBackoffFactor;
  return { retryCount, factor };
}

/** The base delay after window scaling: max(baseDelayMs, minRetryWindowMs / Σ_{i=1..retryCount} factor^(i−1)). */
export function effectiveBaseDelayMs(retryCount: number, factor: number, policy: RetryPolicy): number {
  if (retryCount <= 0 || policy.minRetryWindowMs <= 0) return policy.baseDelayMs;
  let sum = 0;
  let term = 1;
  for (let i = 0; i < Math.min(retryCount, MAX_RETRY_COUNT); i++) {
    sum += term;
    term *= factor;
    if (!Number.isFinite(sum)) break;
  }
  return Math.max(policy.baseDelayMs, policy.minRetryWindowMs / sum);
}

/** The delay before retry `n` (1-based) without jitter: min(maxDelayMs, base × factor^(n−1)). */
export function backoffDelayMs(n: number, retryCount: number, factor: number, policy: RetryPolicy): number {
  const base = effectiveBaseDelayMs(retryCount, factor, policy);
  return Math.min(policy.maxDelayMs, base * factor ** (n - 1));
}

export interface NextAttemptInput {
  /** Attempts made including the one just finished (1 after the first try). */
  attemptsMade: number;
  /** Retries allowed after the first try: at most retryCount + 1 attempts in all. */
  retryCount: number;
  factor: number;
  policy: RetryPolicy;
  outcome: DeliveryOutcome;
  now: number;
  /** Uniform in [0, 1); injected so schedules can be tested exactly. */
  random: () => number;
}

/**
 * What happens to a delivery after an attempt: delivered on success, failed on a permanent failure,
 * dead once retries are spent, else pending at now + max(backoff × (1 + jitter), bounded Retry-After).
 */
export function computeNextAttempt(input: NextAttemptInput): AttemptResolution {
  const { attemptsMade, retryCount, factor, policy, outcome, now, random } = input;
  if (outcome.ok) return { state: 'delivered' };
  if (!outcome.retryable) return { state: 'failed' };
  if (attemptsMade > retryCount) return { state: 'dead' };
  const delay = backoffDelayMs(attemptsMade, retryCount, factor, policy);
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = delay * (1 + policy.jitterRatio * r);
  const retryAfter =
    outcome.retryAfterMs !== undefined && Number.isFinite(outcome.retryAfterMs) && outcome.retryAfterMs > 0
      ? Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs)
      : 0;
  return { state: 'pending', nextAttemptAt: now + Math.round(Math.max(jittered, retryAfter)) };
}
