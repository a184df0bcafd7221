import { hash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type DeliveryOutcome,
  type HeraldMessageType,
  parseHeraldMessage,
  serializeMessage,
  traceIdFromTraceparent,
} from '@herald/schemas';
import {
  type AttemptResolution,
  type Channel,
  type ClaimedDelivery,
  type ClaimOptions,
  type Delivery,
  type MessageRecord,
  type RecordAttemptInput,
  type Store,
  isStoreUnavailableError,
  type UnreadableChannel,
} from '@herald/store';
import { createAttemptRecorder } from './attempt-recorder.ts';
import { EngineError } from './engine-error.ts';
import { planDeliveries } from './plan-deliveries.ts';
import { channelRetrySettings, computeNextAttempt, type RetryPolicy, resolveRetryPolicy } from './retry-policy.ts';
import { stripImageContentBytes } from './strip-image-content.ts';
import { TRANSPORT_BY_KIND, type Transport, type TransportName } from './transport.ts';
import { createTypedEmitter, type TypedEmitter } from './typed-emitter.ts';

export interface EngineLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface RetentionOptions {
  /** Attempts older than this are pruned. */
  attemptsMaxAgeMs: number;
  /** Messages whose deliveries are all terminal, older than this, are pruned with them. */
  deliveredMessagesMaxAgeMs: number;
  /** How often the pruning timer runs while the engine is started. */
  intervalMs: number;
}

export interface EngineOptions {
  store: Store;
  transports: Partial<Record<TransportName, Transport>>;
  /** Lease owner id; default host:pid:random. Unique per engine. */
  workerId?: string;
  /** Epoch milliseconds; injected in tests. */
  clock?: () => number;
  /** Uniform in [0, 1), for retry jitter; injected in tests. */
  random?: () => number;
  /** Most deliveries claimed at once. Default 32. */
  batchSize?: number;
  /** Most deliveries in flight per engine. Default 64. No one channel holds more than three quarters of them. */
  concurrency?: number;
  /** Lease length; must exceed the transports' per-attempt deadline. Default 120 000. */
  leaseMs?: number;
  /** Fallback poll when no wake-up arrives. Default 5 000. */
  pollIntervalMs?: number;
  /** In-flight cap of a channel that sets none. Default 8. */
  maxInFlightPerChannel?: number;
  /**
   * Longest a finished attempt waits for others to be recorded in the same transaction (or until `batchSize`
   * of them wait, or every attempt in flight does: none could join). Larger batches make a busy worker much
   * cheaper per delivery; the delivery itself is not delayed. 0 = record what finished in the same event-loop
   * turn. Default 10.
   */
  recordDelayMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Disable a channel after this long without a successful attempt; null = never. Default 3 days. */
  autoDisable?: { afterMs: number | null };
  /** Pruning timer; null = none. Default: attempts and delivered messages older than 30 days, hourly. */
  retention?: RetentionOptions | null;
  logger?: EngineLogger;
}

export interface PublishInput {
  applicationId: string;
  /** The message as parsed JSON (validated here). */
  body: unknown;
  /** Required for the image-checking notification (its body has no MessageType). */
  type?: HeraldMessageType;
  correlationId?: string | null;
  traceparent?: string | null;
  idempotencyKey?: string | null;
  /** Put on the problem's extensions.traceId when the body is invalid. */
  traceId?: string;
}

type ParseFailure = Extract<ReturnType<typeof parseHeraldMessage>, { ok: false }>;

export type EnginePublishResult =
  | { ok: true; message: MessageRecord; deliveries: Delivery[]; duplicate: boolean }
  | { ok: false; reason: 'invalid'; problem: ParseFailure['problem'] }
  | { ok: false; reason: 'no_active_channel' }
  | { ok: false; reason: 'idempotency_conflict'; messageId: string };

export interface AttemptEvent {
  delivery: Delivery;
  message: MessageRecord;
  channel: Channel;
  outcome: DeliveryOutcome;
  resolution: AttemptResolution;
  /** False when the lease was lost (another worker owns the delivery now) or the store failed. */
  recorded: boolean;
}

export interface ChannelDisabledEvent {
  channel: Channel;
  reason: string;
}

export type EngineEvents = {
  attempt: AttemptEvent;
  'channel.disabled': ChannelDisabledEvent;
};

export interface Engine extends TypedEmitter<EngineEvents> {
  readonly workerId: string;
  publish(input: PublishInput): Promise<EnginePublishResult>;
  /** Starts the worker loop (claim, dispatch, record) and the retention timer. */
  start(): void;
  /** Stops claiming, waits for in-flight attempts up to `deadlineMs`, aborts the rest and releases their leases. */
  stop(options?: { deadlineMs?: number }): Promise<{ aborted: number; released: number }>;
  /** One claim → deliver → record cycle; resolves with the number of deliveries claimed. */
  runOnce(): Promise<number>;
  /** Runs cycles until nothing is claimable; throws EngineError when `timeoutMs` passes first. */
  drain(options?: { timeoutMs?: number }): Promise<number>;
  redeliver(applicationId: string, deliveryId: string, options?: { force?: boolean }): Promise<Delivery | null>;
  recover(applicationId: string, options: { since: number; channelId?: string }): Promise<number>;
  prune(now?: number): Promise<{ attempts: number; messages: number }>;
  /** Deliveries currently in flight in this engine. */
  readonly inFlight: number;
}

const DEFAULT_RECORD_DELAY_MS = 10;
const DEFAULT_AUTO_DISABLE_MS = 3 * 24 * 3_600_000;
const DEFAULT_RETENTION: RetentionOptions = {
  attemptsMaxAgeMs: 30 * 24 * 3_600_000,
  deliveredMessagesMaxAgeMs: 30 * 24 * 3_600_000,
  intervalMs: 3_600_000,
};
/** Idle sleep when due work exists but none is claimable (per-channel caps, ordering); completions wake earlier. */
const BLOCKED_SLEEP_MS = 1_000;
/**
 * A completion that leaves less than a batch of room wakes the claim loop after this long (once per interval,
 * not per completion): when most slots are held by attempts that hang (a tenant's endpoints at their ceilings),
 * the few left keep turning over instead of waiting for the blocked sleep.
 */
const TRICKLE_WAKE_MS = 20;
/** Grace for aborted attempts to settle at shutdown. */
const ABORT_GRACE_MS = 2_000;
/** Backoff after a failed claim (database unreachable...): doubles per consecutive failure up to the max. */
const CLAIM_BACKOFF_MIN_MS = 250;
const CLAIM_BACKOFF_MAX_MS = 5_000;
/**
 * A channel whose every attempt has failed for this long (an endpoint down or hanging) gets at most
 * FAILING_CHANNEL_CAP attempts in flight until one succeeds: it is probed, not flooded, and holds two slots.
 */
const FAILING_CHANNEL_AFTER_MS = 5_000;
const FAILING_CHANNEL_CAP = 2;
/**
 * Stands in for the trace id while parsing: it only appears in a problem, and a failed parse is parsed again
 * with a real one, so a valid publish never pays for random bytes.
 */
const PENDING_TRACE_ID = 'pending-trace-id';

const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new EngineError('invalid_config', `${name} must be a positive integer; received ${String(value)}`);
  }
  return v;
}

/** Name and code of an error, never its message (which may carry a URL or secret). */
/** An error's name and code (its own, its cause's or an AggregateError's first), never its message (may hold data). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const inner = [error, error.cause, ...(error instanceof AggregateError ? error.errors : [])];
  const code = inner.map((e) => (e as { code?: unknown } | undefined)?.code).find((c) => typeof c === 'string');
  const name = typeof code === 'string' ? `${error.name} (${code})` : error.name;
  return isStoreUnavailableError(error) ? `${name}: database unavailable` : name;
}

function internalOutcome(error: string, retryable: boolean): DeliveryOutcome {
  return { ok: false, code: 'internal', retryable, disableChannel: false, durationMs: 0, error };
}

function formatHours(ms: number): string {
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
}

function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Builds the delivery engine. Options are validated here; a bad value throws EngineError('invalid_config'). */
export function createEngine(options: EngineOptions): Engine {
  const { store } = options;
  const transports = { ...options.transports };
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const batchSize = positiveInt('batchSize', options.batchSize, 32);
  const concurrency = positiveInt('concurrency', options.concurrency, 64);
  const leaseMs = positiveInt('leaseMs', options.leaseMs, 120_000);
  const pollIntervalMs = positiveInt('pollIntervalMs', options.pollIntervalMs, 5_000);
  const maxInFlightPerChannel = positiveInt('maxInFlightPerChannel', options.maxInFlightPerChannel, 8);
  // No channel may hold more than three quarters of the slots, whatever its own cap: a channel whose endpoint hangs
  // (each attempt waiting for its deadline) then leaves a quarter of the engine to the others.
  const channelCeiling = Math.max(1, Math.floor((concurrency * 3) / 4));
  // One application's channels together, too: a tenant whose many endpoints hang holds at most seven eighths of
  // the slots, and the other tenants keep the rest. Above the channel ceiling, so that one hung channel still
  // leaves its application's other channels some room.
  const applicationCeiling = Math.max(channelCeiling, Math.floor((concurrency * 7) / 8));
  const recordDelayMs = options.recordDelayMs ?? DEFAULT_RECORD_DELAY_MS;
  if (!(Number.isFinite(recordDelayMs) && recordDelayMs >= 0 && recordDelayMs <= 1_000)) {
    throw new EngineError('invalid_config', `recordDelayMs must be from 0 to 1000; received ${String(recordDelayMs)}`);
  }
  const policy = resolveRetryPolicy(options.retry);
  const autoDisableAfterMs = options.autoDisable === undefined ? DEFAULT_AUTO_DISABLE_MS : options.autoDisable.afterMs;
  if (autoDisableAfterMs !== null && !(Number.isFinite(autoDisableAfterMs) && autoDisableAfterMs >= 0)) {
    throw new EngineError(
      'invalid_config',
      `autoDisable.afterMs must be >= 0 or null; received ${String(autoDisableAfterMs)}`,
    );
  }
  const retention = options.retention === undefined ? DEFAULT_RETENTION : options.retention;
  if (retention !== null) {
    positiveInt('retention.attemptsMaxAgeMs', retention.attemptsMaxAgeMs, 1);
    positiveInt('retention.deliveredMessagesMaxAgeMs', retention.deliveredMessagesMaxAgeMs, 1);
    positiveInt('retention.intervalMs', retention.intervalMs, 1);
  }
  if (typeof store?.claimDueDeliveries !== 'function') {
    throw new EngineError('invalid_config', 'store must implement the Store port of @herald/store');
  }
  for (const [name, t] of Object.entries(transports)) {
    if (t !== undefined && typeof t.deliver !== 'function') {
      throw new EngineError('invalid_config', `transports.${name} must have a deliver(job, signal) method`);
    }
  }

  const emitter = createTypedEmitter<EngineEvents>((event, error) =>
    logger.error('engine event listener threw', { event, error: describeError(error) }),
  );
  const inFlight = new Set<Promise<void>>();
  /**
   * True after a claim that rode along with an attempt batch took less than it asked for (nothing more was
   * claimable then): the loop's next wake-up skips its own claim while deliveries are in flight, since their
   * batches claim again.
   */
  let claimedWithRecord = false;
  let trickleTimer: NodeJS.Timeout | null = null;
  let lastClaimAt = Number.NEGATIVE_INFINITY;
  // A batch of attempts is written once batchSize of them wait or recordDelayMs passed.
  // When the store can (store.recordAttemptsAndClaim), the batch also claims the next deliveries in the same
  // transaction, for the room the batch leaves.
  const recordAttempt = createAttemptRecorder(
    {
      recordAttempt: (input, now) => store.recordAttempt(input, now),
      recordAttempts: (inputs, now) => recordAndClaim(inputs, now),
    },
    { batchTarget: batchSize, maxDelayMs: recordDelayMs, unrecorded: () => inFlight.size },
  );
  let abort = new AbortController();
  let running = false;
  let loopDone: Promise<void> | null = null;
  let wakePending = false;
  let wakeSleeper: (() => void) | null = null;
  /** The claim loop is waiting out a backoff after failed claims (see the completion's wake()). */
  let claimsBackingOff = false;
  let unsubscribe: (() => void) | null = null;
  let retentionTimer: NodeJS.Timeout | null = null;
  /** channel id:updatedAt already reported disabled, so concurrent failures report once. */
  const disabledReported = new Set<string>();

  function wake(): void {
    wakePending = true;
    const s = wakeSleeper;
    wakeSleeper = null;
    s?.();
  }

  function sleep(ms: number): Promise<void> {
    if (wakePending) {
      wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = null;
        wakePending = false;
        resolve();
      }
      wakeSleeper = done;
    });
  }

  function disableReasonFor(channel: Channel, outcome: DeliveryOutcome, now: number): string | undefined {
    if (outcome.ok) return undefined;
    if (outcome.disableChannel) {
      return `the endpoint answered ${outcome.statusCode ?? outcome.code} (gone): disabled at once`;
    }
    if (
      autoDisableAfterMs !== null &&
      channel.failingSince !== null &&
      now - channel.failingSince >= autoDisableAfterMs
    ) {
      return `no successful attempt for ${formatHours(now - channel.failingSince)} (limit ${formatHours(autoDisableAfterMs)})`;
    }
    return undefined;
  }

  async function obtainOutcome(
    transport: Transport | undefined,
    name: TransportName | undefined,
    claimed: ClaimedDelivery,
    attemptNumber: number,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const { delivery, message, channel } = claimed;
    // Retryable: configuring the transport (or a worker that has it) lets the delivery through.
    if (transport === undefined) {
      return internalOutcome(`no ${name ?? `kind ${channel.kind}`} transport is configured in this worker`, true);
    }
    let body: string;
    try {
      body = channel.includeImageData ? message.body : stripImageContentBytes(message.body);
    } catch (error) {
      return internalOutcome(`stored body is not valid JSON (${describeError(error)})`, false);
    }
    try {
      return await transport.deliver({ delivery, message, channel, body, attemptNumber }, signal);
    } catch (error) {
      logger.error('transport threw instead of returning an outcome', {
        deliveryId: delivery.id,
        channelId: channel.id,
        error: describeError(error),
      });
      return internalOutcome(`transport failed unexpectedly: ${describeError(error)}`, true);
    }
  }

  async function attemptOnce(claimed: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    const { delivery, message, channel } = claimed;
    const name = TRANSPORT_BY_KIND[channel.kind];
    const transport = name === undefined ? undefined : transports[name];
    const attemptNumber = delivery.attempts + 1;
    const startedAt = clock();
    const outcome = await obtainOutcome(transport, name, claimed, attemptNumber, signal);
    // Shutdown: the lease is given back without counting an attempt.
    if (signal.aborted && !outcome.ok) return;

    const now = clock();
    const { retryCount, factor } = channelRetrySettings(channel, policy);
    // The retry budget restarts on redeliver/recover; the attempt log keeps numbering.
    const resolution = computeNextAttempt({
      attemptsMade: delivery.attemptsSinceReset + 1,
      retryCount,
      factor,
      policy,
      outcome,
      now,
      random,
    });
    const disableReason = disableReasonFor(channel, outcome, now);
    const input: RecordAttemptInput = {
      deliveryId: delivery.id,
      owner: workerId,
      attempt: {
        deliveryId: delivery.id,
        startedAt,
        durationMs: Math.max(0, Math.round(outcome.durationMs)),
        ok: outcome.ok,
        outcome: outcome.code,
        statusCode: outcome.statusCode ?? null,
        brokerReply: outcome.brokerReply ?? null,
        error: outcome.error ?? null,
        responseExcerpt: outcome.responseExcerpt ?? null,
      },
      resolution,
      ...(disableReason === undefined ? {} : { disableChannel: disableReason }),
    };
    let recorded = false;
    try {
      recorded = await recordAttempt(input, now);
      if (!recorded)
        logger.warn('attempt not recorded: the lease was lost', { deliveryId: delivery.id, owner: workerId });
    } catch (error) {
      // The lease expires and another claim retries: at-least-once.
      logger.error('recording an attempt failed', { deliveryId: delivery.id, error: describeError(error) });
    }
    emitter.emit('attempt', { delivery, message, channel, outcome, resolution, recorded });
    if (recorded && disableReason !== undefined) {
      const key = `${channel.id}:${channel.updatedAt}`;
      if (!disabledReported.has(key)) {
        disabledReported.add(key);
        if (disabledReported.size > 10_000) disabledReported.clear();
        logger.warn('channel disabled', {
          channelId: channel.id,
          applicationId: channel.applicationId,
          reason: disableReason,
        });
        emitter.emit('channel.disabled', { channel, reason: disableReason });
      }
    }
  }

  function roomForBatch(): boolean {
    return concurrency - inFlight.size >= Math.min(batchSize, Math.ceil(concurrency / 2));
  }

  function track(claimed: ClaimedDelivery): Promise<void> {
    const p = attemptOnce(claimed, abort.signal)
      .catch((error: unknown) => {
        // attemptOnce handles transport and store failures itself; anything else is a bug, never a crash.
        logger.error('delivery attempt failed unexpectedly', {
          deliveryId: claimed.delivery.id,
          error: describeError(error),
        });
      })
      .finally(() => {
        inFlight.delete(p);
        // Not while claims back off: completions failing with the database would end every backoff at once.
        if (!running || claimsBackingOff) return;
        if (roomForBatch()) wake();
        else if (trickleTimer === null) {
          trickleTimer = setTimeout(() => {
            trickleTimer = null;
            // Not while claims are frequent anyway (a busy drain, or claims made with each attempt record).
            if (running && !claimsBackingOff && performance.now() - lastClaimAt >= TRICKLE_WAKE_MS) wake();
          }, TRICKLE_WAKE_MS);
          trickleTimer.unref();
        }
      });
    inFlight.add(p);
    return p;
  }

  function reportUnreadable(channel: UnreadableChannel): void {
    // Ids and the error code only: never the blob or anything decrypted.
    logger.error('channel set aside: its stored secrets cannot be read', { ...channel });
  }

  function claimOptions(limit: number): ClaimOptions {
    return {
      owner: workerId,
      limit,
      leaseMs,
      now: clock(),
      maxInFlightPerChannel,
      channelCeiling,
      applicationCeiling,
      failingChannel: { afterMs: FAILING_CHANNEL_AFTER_MS, cap: FAILING_CHANNEL_CAP },
      onUnreadableChannel: reportUnreadable,
    };
  }

  async function claim(limit: number): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    lastClaimAt = performance.now();
    return store.claimDueDeliveries(claimOptions(limit));
  }

  async function recordAndClaim(inputs: RecordAttemptInput[], now: number): Promise<boolean[]> {
    // The recorded attempts are still counted in inFlight: the room is what they leave.
    const limit = Math.min(batchSize, concurrency - inFlight.size + inputs.length);
    if (store.recordAttemptsAndClaim === undefined || !running || limit <= 0) {
      return store.recordAttempts(inputs, now);
    }
    lastClaimAt = performance.now();
    const { recorded, claimed } = await store.recordAttemptsAndClaim(inputs, now, claimOptions(limit));
    if (!running) {
      // stop() began meanwhile and waits only for what was in flight then: give these back at once.
      if (claimed.length > 0) {
        await store
          .releaseLeases(
            workerId,
            claimed.map((c) => c.delivery.id),
          )
          .catch((error: unknown) =>
            logger.error('releasing leases at shutdown failed', { error: describeError(error) }),
          );
      }
      return recorded;
    }
    for (const c of claimed) track(c);
    claimedWithRecord = claimed.length < limit;
    return recorded;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (running) {
      wakePending = false;
      if (claimedWithRecord) {
        claimedWithRecord = false;
        if (inFlight.size > 0) {
          // The last attempt batch claimed all there was; the next one claims again. Re-check within a second.
          await sleep(Math.min(pollIntervalMs, BLOCKED_SLEEP_MS));
          continue;
        }
      }
      const limit = Math.min(batchSize, concurrency - inFlight.size);
      let claimedCount = 0;
      try {
        const batch = await claim(limit);
        claimedCount = batch.length;
        for (const c of batch) track(c);
        if (failures > 0) logger.info('claiming deliveries works again', { failedClaims: failures });
        failures = 0;
      } catch (error) {
        // The database may be restarting or unreachable: back off and keep going (a wake-up, e.g. the
        // LISTEN connection coming back, ends the wait early).
        failures += 1;
        const backoffMs = Math.min(CLAIM_BACKOFF_MAX_MS, CLAIM_BACKOFF_MIN_MS * 2 ** Math.min(failures - 1, 16));
        logger.error('claiming deliveries failed', {
          error: describeError(error),
          consecutiveFailures: failures,
          retryInMs: backoffMs,
        });
        if (!running) break;
        claimsBackingOff = true;
        try {
          await sleep(backoffMs);
        } finally {
          claimsBackingOff = false;
        }
        continue;
      }
      if (!running) break;
      if (limit > 0 && claimedCount === limit) continue;
      let delayMs = pollIntervalMs;
      if (claimedCount > 0) {
        // Work was claimable a moment ago and the rest is held back (caps, ordering, other workers): the
        // completions of what was just claimed wake us, so no nextDueAt round trip; re-check within a second.
        delayMs = Math.min(pollIntervalMs, BLOCKED_SLEEP_MS);
      } else if (limit > 0) {
        try {
          const due = await store.nextDueAt();
          if (due !== null) {
            const untilDueMs = due - clock();
            // Due but unclaimable (caps, ordering, other workers): completions wake us; poll gently meanwhile.
            delayMs = Math.min(pollIntervalMs, untilDueMs > 0 ? untilDueMs : BLOCKED_SLEEP_MS);
          }
        } catch (error) {
          logger.error('reading the next due time failed', { error: describeError(error) });
        }
      }
      if (!running) break;
      await sleep(delayMs);
    }
  }

  async function prune(now: number = clock()): Promise<{ attempts: number; messages: number }> {
    const r = retention ?? DEFAULT_RETENTION;
    return store.prune({
      attemptsBefore: now - r.attemptsMaxAgeMs,
      messagesBefore: now - r.deliveredMessagesMaxAgeMs,
    });
  }

  const engine: Engine = {
    workerId,
    on: emitter.on,
    off: emitter.off,
    get inFlight() {
      return inFlight.size;
    },

    async publish(input) {
      const parsed = parseHeraldMessage(input.body, input.type, { traceId: input.traceId ?? PENDING_TRACE_ID });
      if (!parsed.ok) {
        let problem = parsed.problem;
        if (input.traceId === undefined) {
          // The failure path only: the problem gets the request's trace id (or a new one).
          const traceId = traceIdFromTraceparent(input.traceparent);
          const again = parseHeraldMessage(input.body, input.type, { traceId });
          if (!again.ok) problem = again.problem;
        }
        return { ok: false, reason: 'invalid', problem };
      }
      const body = serializeMessage(parsed.message);
      const fields = parsed.message as unknown as Record<string, unknown>;
      const result = await store.publish(
        {
          applicationId: input.applicationId,
          type: parsed.type,
          body,
          // The hash only serves the idempotency key's conflict check: a message without a key gets none.
          bodyHash: input.idempotencyKey == null ? '' : sha256Hex(body),
          correlationId: input.correlationId ?? null,
          traceparent: input.traceparent ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
        },
        (channels) => planDeliveries(channels, fields, parsed.type),
        clock(),
      );
      if (result.ok && !result.duplicate) wake();
      return result;
    },

    start() {
      if (running) throw new EngineError('already_started', 'the engine is already started');
      running = true;
      abort = new AbortController();
      unsubscribe = store.onNewWork(wake);
      if (retention !== null) {
        retentionTimer = setInterval(() => {
          prune().then(
            (r) => {
              if (r.attempts + r.messages > 0) logger.info('pruned old records', r);
            },
            (error: unknown) => logger.error('pruning failed', { error: describeError(error) }),
          );
        }, retention.intervalMs);
        retentionTimer.unref();
      }
      loopDone = loop();
    },

    async stop(stopOptions = {}) {
      const deadlineMs = stopOptions.deadlineMs ?? 10_000;
      running = false;
      unsubscribe?.();
      unsubscribe = null;
      if (retentionTimer) clearInterval(retentionTimer);
      retentionTimer = null;
      if (trickleTimer) clearTimeout(trickleTimer);
      trickleTimer = null;
      wake();
      await loopDone;
      loopDone = null;
      let aborted = 0;
      if (inFlight.size > 0) {
        const settled = Promise.allSettled([...inFlight]);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([
          settled.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), deadlineMs);
          }),
        ]);
        clearTimeout(timer);
        if (timedOut) {
          aborted = inFlight.size;
          abort.abort();
          await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, ABORT_GRACE_MS).unref())]);
        }
      }
      let released = 0;
      try {
        released = await store.releaseLeases(workerId);
      } catch (error) {
        // The leases expire on their own and another worker claims the work again.
        logger.error('releasing leases at shutdown failed', { error: describeError(error) });
      }
      return { aborted, released };
    },

    async runOnce() {
      const batch = await claim(Math.min(batchSize, concurrency - inFlight.size));
      await Promise.all(batch.map(track));
      return batch.length;
    },

    async drain(drainOptions = {}) {
      const timeoutMs = drainOptions.timeoutMs ?? 30_000;
      const started = performance.now();
      let total = 0;
      for (let i = 0; i < 1_000_000; i++) {
        const n = await engine.runOnce();
        total += n;
        if (n === 0 && inFlight.size === 0) return total;
        if (performance.now() - started > timeoutMs) {
          throw new EngineError(
            'drain_timeout',
            `drain did not finish within ${timeoutMs} ms (${total} deliveries so far)`,
          );
        }
        if (n === 0) await Promise.race([...inFlight]);
      }
      return total;
    },

    async redeliver(applicationId, deliveryId, redeliverOptions) {
      const d = await store.redeliver(applicationId, deliveryId, clock(), redeliverOptions);
      if (d) wake();
      return d;
    },

    async recover(applicationId, recoverOptions) {
      const n = await store.recover(applicationId, recoverOptions, clock());
      if (n > 0) wake();
      return n;
    },

    prune,
  };
  return engine;
}
