/**
 * The storage port of Herald. Two adapters implement it (embedded SQLite, PostgreSQL) and pass one
 * contract suite. Times are epoch milliseconds (numbers); ids are UUID strings unless said otherwise.
 *
 * This file is the contract between @herald/store, @herald/engine and the apps. Change it with care:
 * every adapter, the engine and the API depend on it.
 */

/** Channel enum of the documents: WebHook 0, SignalR 1, RabbitMQ 2. */
export type ChannelKind = 0 | 1 | 2;

export interface Application {
  id: string;
  name: string;
  /** Requests per second allowed for this application's API keys; null = platform default. */
  rateLimitPerSecond: number | null;
  createdAt: number;
}

export type ApiKeyRole = 'application' | 'operator';

export interface ApiKey {
  id: string;
  /** Operator keys may have a null applicationId (platform-wide). */
  applicationId: string | null;
  role: ApiKeyRole;
  /** Public identifier sent as x-api-key. Unique. */
  key: string;
  /** Hash of the secret sent as x-api-secret (the store never sees the clear secret). */
  secretHash: string;
  label: string | null;
  /** Remaining usage credits; null = unlimited. */
  credits: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface NewApiKey {
  applicationId: string | null;
  role: ApiKeyRole;
  key: string;
  secretHash: string;
  label?: string | null;
  credits?: number | null;
}

/** Non-secret webhook settings (the documents' fields plus Herald's optional auth options). */
export interface WebhookChannelConfig {
  webHookUrl: string;
  retryCount: number;
  exponentialBackoffFactor: number;
  /** Header carrying the shared secret (the secret itself is in ChannelSecrets). */
  secretHeaderName?: string;
  /** Local address outgoing connections bind to (fixed source IP). */
  sourceAddress?: string;
  /** Client certificate (PEM) presented for mutual TLS; its key is in ChannelSecrets. */
  clientCertificatePem?: string;
  /** Extra CA (PEM) trusted for this endpoint's server certificate. */
  serverCaPem?: string;
  /** Standard Webhooks signatures on (secrets in ChannelSecrets.signingSecrets). */
  signatures?: boolean;
}

export interface RabbitMqChannelConfig {
  url: string;
  username: string;
  queueName: string;
  retryCount?: number;
  exponentialBackoffFactor?: number;
}

export interface SignalRChannelConfig {
  /** Hub group the pushes go to; defaults to the application id. */
  group?: string;
}

export type ChannelConfig = WebhookChannelConfig | RabbitMqChannelConfig | SignalRChannelConfig;

/**
 * Secret material of a channel. Encrypted at rest as one blob (AES-256-GCM, bound to application and
 * channel id); decrypted only when read through the store. Never logged, never returned by the API.
 */
export interface ChannelSecrets {
  /** Value of the shared-secret header. */
  secretHeaderValue?: string;
  /** Standard Webhooks secrets (`whsec_...`); the first signs, all are sent during a rotation. */
  signingSecrets?: string[];
  /** RabbitMQ password. */
  password?: string;
  /** Private key (PEM) of the mTLS client certificate. */
  clientKeyPem?: string;
}

/** Per-channel delivery behaviour (Herald additions, all optional). */
export interface ChannelOptions {
  /** Deliver messages in publish order per value of this message field (e.g. ImageId, ImageRenderProcessId). */
  orderingKey?: string | null;
  /** Supersede a pending older *Progress message of the same ImageRenderProcessId by a newer one. */
  coalesceProgress?: boolean;
  /** Cap on deliveries of this channel in flight at once (across the claims of one store). */
  maxInFlight?: number | null;
}

export interface Channel {
  id: string;
  applicationId: string;
  kind: ChannelKind;
  isActive: boolean;
  includeImageData: boolean;
  config: ChannelConfig;
  secrets: ChannelSecrets;
  options: ChannelOptions;
  /** Why the platform disabled it (auto-disable), or null. */
  disabledReason: string | null;
  /** Start of the current unbroken run of failed attempts, or null. */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewChannel {
  id?: string;
  applicationId: string;
  kind: ChannelKind;
  isActive: boolean;
  includeImageData: boolean;
  config: ChannelConfig;
  secrets?: ChannelSecrets;
  options?: ChannelOptions;
}

export interface ChannelPatch {
  isActive?: boolean;
  includeImageData?: boolean;
  config?: ChannelConfig;
  /** Replaces the secrets blob entirely when given. */
  secrets?: ChannelSecrets;
  options?: ChannelOptions;
  disabledReason?: string | null;
}

export interface MessageRecord {
  id: string;
  applicationId: string;
  /** MessageType, or 'ImageCheckingNotification' for the image-checking push. */
  type: string;
  /** The JSON text exactly as it will be delivered (documented field order). */
  body: string;
  correlationId: string | null;
  traceparent: string | null;
  idempotencyKey: string | null;
  /**
   * sha256 hex of the body, to refuse a different body under the same idempotency key. The engine leaves it
   * empty ('') for a message without an idempotency key, where nothing compares it.
   */
  bodyHash: string;
  createdAt: number;
}

export interface NewMessage {
  id?: string;
  applicationId: string;
  type: string;
  body: string;
  bodyHash: string;
  correlationId?: string | null;
  traceparent?: string | null;
  idempotencyKey?: string | null;
}

/**
 * pending: waiting for its first or next attempt (nextAttemptAt);
 * delivering: leased by a worker;
 * delivered: 2xx / broker confirm;
 * failed: a permanent failure (non-retryable outcome);
 * dead: retries exhausted;
 * superseded: replaced by a newer progress message before it was sent (coalescing).
 */
export type DeliveryState = 'pending' | 'delivering' | 'delivered' | 'failed' | 'dead' | 'superseded';

export interface Delivery {
  id: string;
  messageId: string;
  applicationId: string;
  channelId: string;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /**
   * Attempts made since the last redeliver/recover (equals `attempts` until then): the engine counts its
   * retry budget with this one, while the attempt log keeps numbering from `attempts`.
   */
  attemptsSinceReset: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** Value of the channel's ordering field in this message, or null. */
  orderingKey: string | null;
  /** Coalescing key (ImageRenderProcessId of a progress message on a coalescing channel), or null. */
  coalesceKey: string | null;
  lastOutcome: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  deliveredAt: number | null;
}

/** What publish creates per active channel; computed by the engine from the channel inside the transaction. */
export interface DeliveryPlan {
  channelId: string;
  orderingKey: string | null;
  coalesceKey: string | null;
}

export interface Attempt {
  id: string;
  deliveryId: string;
  messageId: string;
  channelId: string;
  applicationId: string;
  /** 1-based. */
  attemptNumber: number;
  startedAt: number;
  durationMs: number;
  ok: boolean;
  /** An OutcomeCode of @herald/schemas. */
  outcome: string;
  statusCode: number | null;
  brokerReply: string | null;
  error: string | null;
  /** Capped response excerpt. */
  responseExcerpt: string | null;
}

export type NewAttempt = Omit<Attempt, 'id' | 'applicationId' | 'messageId' | 'channelId' | 'attemptNumber'>;

export interface ClaimedDelivery {
  delivery: Delivery;
  message: MessageRecord;
  channel: Channel;
}

export interface ClaimOptions {
  /** Lease holder id (worker id). */
  owner: string;
  limit: number;
  leaseMs: number;
  now: number;
  /** Default per-channel in-flight cap when the channel sets none. */
  maxInFlightPerChannel: number;
  /**
   * Ceiling on any one channel's in-flight deliveries of this claimer (`owner`), even when the channel's own cap
   * (which counts every claimer's) is higher: the engine sets it below its concurrency, so a channel whose endpoint
   * hangs cannot hold every slot of a worker and stall the others.
   */
  channelCeiling?: number;
  /**
   * Ceiling on one application's in-flight deliveries across all its channels, counting this claimer's (`owner`)
   * leases only: the engine sets it below its concurrency, so one tenant whose many endpoints hang cannot hold every
   * slot of a worker and stall the other tenants, and each added worker adds room.
   */
  applicationCeiling?: number;
  /**
   * A channel whose every attempt has failed for at least `afterMs` (channels.failing_since) gets at most `cap`
   * in flight: an endpoint that is down or hangs is probed, not flooded, and holds few of the engine's slots.
   * The first success ends the streak and the channel's own cap applies again.
   */
  failingChannel?: { afterMs: number; cap: number };
  /**
   * Called (after the claim) for each channel whose stored secrets or settings could not be read
   * (StoreIntegrityError): its deliveries were left pending, not returned, and the channel was deactivated
   * with a disabledReason and a `channel.secrets_unreadable` event (`disabled: false` when another claimer or an
   * update got there first). The other channels' deliveries are claimed as usual.
   */
  onUnreadableChannel?: (channel: UnreadableChannel) => void;
}

/** A channel a claim set aside because its secrets failed to decrypt; see ClaimOptions.onUnreadableChannel. */
export interface UnreadableChannel {
  applicationId: string;
  channelId: string;
  /** The StoreIntegrityError code: SECRETS_UNREADABLE, ENCRYPTION_KEY_UNKNOWN or STORED_VALUE_INVALID. */
  code: string;
  /** True when this claim deactivated the channel (and recorded the event). */
  disabled: boolean;
}

/** The next state after an attempt, decided by the engine's retry policy. */
export type AttemptResolution =
  | { state: 'delivered' }
  | { state: 'pending'; nextAttemptAt: number }
  | { state: 'failed' }
  | { state: 'dead' };

export interface RecordAttemptInput {
  deliveryId: string;
  owner: string;
  attempt: NewAttempt;
  resolution: AttemptResolution;
  /** Disable the channel (auto-disable / HTTP 410) with this reason, in the same transaction. */
  disableChannel?: string;
}

export type PublishResult =
  | { ok: true; message: MessageRecord; deliveries: Delivery[]; duplicate: boolean }
  | { ok: false; reason: 'no_active_channel' }
  | { ok: false; reason: 'idempotency_conflict'; messageId: string };

export interface Page<T> {
  items: T[];
  /** Opaque keyset cursor for the next page, or null at the end. */
  nextCursor: string | null;
}

export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

export interface MessageFilter {
  type?: string;
  since?: number;
  until?: number;
  correlationId?: string;
}

export interface DeliveryFilter {
  messageId?: string;
  channelId?: string;
  state?: DeliveryState;
  since?: number;
  until?: number;
}

export interface AttemptFilter {
  deliveryId?: string;
  messageId?: string;
  channelId?: string;
  ok?: boolean;
  since?: number;
}

export interface OperationalEvent {
  id: string;
  applicationId: string;
  channelId: string | null;
  /** e.g. 'channel.disabled', 'channel.enabled'. */
  type: string;
  detail: string;
  createdAt: number;
}

export interface RejectionCode {
  applicationId: string;
  code: string;
  description: string;
}

export interface PruneOptions {
  /** Attempts that started before this time are removed. */
  attemptsBefore: number;
  /** Messages whose deliveries are all terminal, created before this time, are removed with them. */
  messagesBefore: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Applies pending migrations; harmless when run again or by several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Cheap liveness query for /readyz. */
  ping(): Promise<void>;

  // applications and credentials
  createApplication(input: { id?: string; name: string; rateLimitPerSecond?: number | null }): Promise<Application>;
  getApplication(id: string): Promise<Application | null>;
  listApplications(): Promise<Application[]>;
  createApiKey(input: NewApiKey): Promise<ApiKey>;
  findApiKey(key: string): Promise<ApiKey | null>;
  listApiKeys(applicationId: string): Promise<ApiKey[]>;
  revokeApiKey(id: string, now: number): Promise<boolean>;
  /** Atomically spends `n` credits; `ok: false` when fewer remain. Unlimited keys always succeed. */
  spendCredits(apiKeyId: string, n: number): Promise<{ ok: true; remaining: number | null } | { ok: false }>;
  setCredits(apiKeyId: string, credits: number | null): Promise<boolean>;

  // channels (always scoped by application: another application's channel is "not found")
  createChannel(input: NewChannel): Promise<Channel>;
  getChannel(applicationId: string, id: string): Promise<Channel | null>;
  listChannels(applicationId: string, opts?: { activeOnly?: boolean }): Promise<Channel[]>;
  updateChannel(applicationId: string, id: string, patch: ChannelPatch): Promise<Channel | null>;
  deleteChannel(applicationId: string, id: string): Promise<boolean>;

  // rejection codes catalogue
  upsertRejectionCode(input: RejectionCode): Promise<RejectionCode>;
  listRejectionCodes(applicationId: string): Promise<RejectionCode[]>;
  deleteRejectionCode(applicationId: string, code: string): Promise<boolean>;

  /**
   * In one transaction: honour the idempotency key (same key + same bodyHash → the first message with
   * duplicate: true; same key + different hash → idempotency_conflict), read the application's active
   * channels, call `plan` with them, store the message and one pending delivery per plan entry, and
   * supersede older pending deliveries with the same coalesceKey on the same channel. With no active
   * channel nothing is stored. The channels given to `plan` are read-only (frozen) and their `secrets` are
   * decrypted only if the callback reads them (a plan needs ids and options).
   */
  publish(
    message: NewMessage,
    plan: (activeChannels: Channel[]) => DeliveryPlan[],
    now: number,
  ): Promise<PublishResult>;

  /**
   * Leases due pending deliveries (and deliveries whose lease expired) to `owner`: never the same
   * delivery to two owners at once (FOR UPDATE SKIP LOCKED on PostgreSQL); respects the per-channel
   * in-flight cap; skips a delivery with an ordering key while an earlier delivery of the same channel
   * and key is still pending or delivering; only active channels. A channel whose secrets fail to decrypt does
   * not fail the claim: its deliveries stay pending and it is deactivated (see ClaimOptions.onUnreadableChannel).
   */
  claimDueDeliveries(opts: ClaimOptions): Promise<ClaimedDelivery[]>;
  /** Records the attempt and moves the delivery on; false (and nothing written) when `owner` lost the lease. */
  recordAttempt(input: RecordAttemptInput, now: number): Promise<boolean>;
  /**
   * Like recordAttempt for several deliveries in one transaction (one commit); one boolean per input,
   * in order.
   */
  recordAttempts(inputs: RecordAttemptInput[], now: number): Promise<boolean[]>;
  /**
   * Optional: `recordAttempts(inputs, now)` then `claimDueDeliveries(claim)` in one transaction. The claim runs
   * after the records, so the deliveries just recorded no longer count as in flight and the next delivery of a
   * finished ordering key can be claimed. `recorded` is what recordAttempts returns. The engine uses it for its
   * attempt batches when present (SQLite has it; on PostgreSQL, measured, one multi-statement round trip cost
   * more server CPU than the separate statements, so the adapter leaves it out).
   */
  recordAttemptsAndClaim?(
    inputs: RecordAttemptInput[],
    now: number,
    claim: ClaimOptions,
  ): Promise<{ recorded: boolean[]; claimed: ClaimedDelivery[] }>;
  /** Gives leased deliveries back (graceful shutdown) without counting an attempt. */
  releaseLeases(owner: string, deliveryIds?: string[]): Promise<number>;
  /** Earliest nextAttemptAt among pending deliveries of active channels, or null. */
  nextDueAt(): Promise<number | null>;

  // delivery log
  getMessage(applicationId: string, id: string): Promise<MessageRecord | null>;
  listMessages(applicationId: string, filter: MessageFilter, page: PageRequest): Promise<Page<MessageRecord>>;
  getDelivery(applicationId: string, id: string): Promise<Delivery | null>;
  listDeliveries(applicationId: string, filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;
  listAttempts(applicationId: string, filter: AttemptFilter, page: PageRequest): Promise<Page<Attempt>>;

  // recovery
  /** Puts one delivery (in any terminal state but delivered unless `force`) back to pending now. */
  redeliver(
    applicationId: string,
    deliveryId: string,
    now: number,
    opts?: { force?: boolean },
  ): Promise<Delivery | null>;
  /** Puts every failed or dead delivery of the application (optionally one channel) created since `since` back to pending. */
  recover(applicationId: string, opts: { since: number; channelId?: string }, now: number): Promise<number>;

  // operational events
  recordEvent(event: Omit<OperationalEvent, 'id' | 'createdAt'>, now: number): Promise<OperationalEvent>;
  listEvents(applicationId: string, page: PageRequest): Promise<Page<OperationalEvent>>;

  // retention and metrics
  prune(opts: PruneOptions): Promise<{ attempts: number; messages: number }>;
  countDeliveriesByState(): Promise<Record<DeliveryState, number>>;

  /**
   * Calls `listener` soon after new work is committed by any process sharing the database
   * (LISTEN/NOTIFY on PostgreSQL, an in-process signal on SQLite). Returns an unsubscribe function.
   */
  onNewWork(listener: () => void): () => void;

  /** Re-encrypts every channel's secrets with the keyring's current key (key rotation); returns how many changed. */
  reencryptSecrets(): Promise<number>;
}
