import { randomUUID } from 'node:crypto';
import { StoreConfigError, StoreError, StoreInputError } from './errors.ts';
import type {
  Channel,
  Delivery,
  DeliveryPlan,
  DeliveryState,
  MessageRecord,
  NewMessage,
  PublishResult,
} from './types.ts';

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'pending',
  'delivering',
  'delivered',
  'failed',
  'dead',
  'superseded',
];

export const PRUNE_BATCH = 1000;

/** Operational event recorded when a claim finds a channel whose secrets cannot be decrypted. */
export const SECRETS_UNREADABLE_EVENT = 'channel.secrets_unreadable';
/** A claim that keeps meeting unreadable channels stops refilling its batch after this many rounds. */
export const MAX_CLAIM_ROUNDS = 8;

/** disabledReason of a channel the claim deactivated because its stored secrets (or settings) cannot be read. */
export function unreadableChannelReason(code: string): string {
  return `channel secrets cannot be read (${code}): re-enter them, or restore the encryption key they were written with, then re-enable the channel`;
}

/**
 * SQL condition on a delivery `d`: the ordering rule, authoritative whatever the blocked flags say (no earlier
 * delivery of the same channel and ordering key is still pending or delivering).
 */
export const ORDERING_FREE = `(d.ordering_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM deliveries e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
    AND e.seq < d.seq AND e.state IN ('pending', 'delivering')))`;

/** A message as publish stores it: a time-ordered id unless the caller chose one, absent options as null. */
export function newMessageRecord(message: NewMessage, now: number): MessageRecord {
  return {
    id: message.id ?? timeOrderedId(),
    applicationId: message.applicationId,
    type: message.type,
    body: message.body,
    correlationId: message.correlationId ?? null,
    traceparent: message.traceparent ?? null,
    idempotencyKey: message.idempotencyKey ?? null,
    bodyHash: message.bodyHash,
    createdAt: now,
  };
}

/** A delivery as publish writes it (pending, due now, no attempt yet), built without reading the row back. */
export function newDelivery(
  id: string,
  messageId: string,
  applicationId: string,
  plan: DeliveryPlan,
  now: number,
): Delivery {
  return {
    id,
    messageId,
    applicationId,
    channelId: plan.channelId,
    state: 'pending',
    attempts: 0,
    attemptsSinceReset: 0,
    nextAttemptAt: now,
    leaseOwner: null,
    leaseExpiresAt: null,
    orderingKey: plan.orderingKey,
    coalesceKey: plan.coalesceKey,
    lastOutcome: null,
    lastStatusCode: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
  };
}

/** A repeat of an idempotency key: the first message when the body is the same, a conflict otherwise. */
export function duplicateOrConflict(
  first: MessageRecord,
  bodyHash: string,
  deliveries: () => Delivery[],
): PublishResult {
  if (first.bodyHash !== bodyHash) return { ok: false, reason: 'idempotency_conflict', messageId: first.id };
  return { ok: true, message: first, deliveries: deliveries(), duplicate: true };
}

/** The engine's plan may only name channels it was given (active, same application), each once. */
export function checkPlans(plans: DeliveryPlan[], channels: readonly Channel[]): DeliveryPlan[] {
  const allowed = new Set(channels.map((c) => c.id));
  const seen = new Set<string>();
  for (const p of plans) {
    if (!allowed.has(p.channelId) || seen.has(p.channelId)) {
      throw new StoreError(
        'INVALID_PLAN',
        `delivery plan names channel ${p.channelId}, which is not an active channel of the application or appears twice`,
      );
    }
    seen.add(p.channelId);
  }
  return plans;
}

export function validateCredits<T extends number | null>(n: T): T {
  if (n !== null && (!Number.isSafeInteger(n) || n < 0)) {
    throw new StoreInputError('INVALID_ARGUMENT', `credits must be a non-negative integer (received ${n})`);
  }
  return n;
}

/** The millisecond the cached "tttttttt-tttt-7" prefix of timeOrderedId is for (ids come in bursts). */
let idPrefixMs = -1;
let idPrefix = '';

/**
 * A UUIDv7 (RFC 9562): 48 bits of epoch milliseconds, then 74 random bits. Ids of high-volume rows (messages,
 * deliveries, attempts, events) are time-ordered so their unique indexes grow at one end instead of dirtying a
 * random page per insert: a 64-row insert into a 200,000-row table commits about four times faster on SQLite.
 */
export function timeOrderedId(now: number = Date.now()): string {
  const ms = Math.max(0, Math.floor(now));
  if (ms !== idPrefixMs) {
    const t = ms.toString(16).padStart(12, '0').slice(-12);
    idPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
    idPrefixMs = ms;
  }
  // randomUUID() is a v4 "xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx": from index 15 on, 3 random digits, '-', the RFC
  // 9562 variant digit and 15 more random digits, the tail a v7 needs.
  return idPrefix + randomUUID().slice(15);
}

/**
 * Most message body bytes one claim takes by default (the first delivery is taken whatever its size). Without a
 * bound, a batch of large messages could pass what one string can hold (SQLite's claim crosses its writer thread as
 * one JSON text: SQLite's 1e9 bytes, V8's 2^29 characters) or the worker's heap (PostgreSQL rows), and fail every
 * claim behind it. 64 MiB is 64 messages at the API's default body limit of 1 MiB.
 */
export const CLAIM_BODY_BUDGET_BYTES = 64 * 1024 * 1024;

/** A store's claimBodyBudgetBytes option, checked: the default when absent, StoreConfigError when not a positive integer. */
export function claimBodyBudgetOf(bytes: number | undefined): number {
  const budget = bytes ?? CLAIM_BODY_BUDGET_BYTES;
  if (!Number.isSafeInteger(budget) || budget < 1) {
    throw new StoreConfigError('STORE_OPTION_INVALID', 'claimBodyBudgetBytes must be a positive integer');
  }
  return budget;
}

/**
 * The SET clause (without updated_at) that gives a lease back: pending again, due when it was claimed (its
 * next_attempt_at had been moved to the lease expiry), no owner.
 */
export const GIVE_BACK_LEASE = `state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
  next_attempt_at = COALESCE(leased_at, next_attempt_at), leased_at = NULL`;
