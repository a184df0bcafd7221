import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DeliveryOutcome, OutcomeCode } from '@herald/schemas';
import { createDestinationPolicy, type DestinationPolicy } from '@herald/ssrf';
import type { Channel, ChannelModel, ConfirmChannel, Message, Options, SocketOptions } from 'amqplib';
import amqp from 'amqplib';
import type { AmqpDestination, AmqpTarget } from './amqp-destination.ts';
import { parseAmqpUrl } from './amqp-destination.ts';
import { closeModel } from './close-model.ts';
import { buildConnectOptions } from './connect-options.ts';
import { AmqpTransportError } from './amqp-transport-error.ts';
import { brokerReplyOf, classifyConnectError, isAccessRefused } from './classify-amqp-error.ts';
import { ALL_ROUTING_KEYS, EXCHANGE_NAME, routingKeyFor } from './routing-key.ts';

/** The part of `@herald/ssrf`'s `DestinationPolicy` the publisher uses. */
export type AmqpDestinationPolicy = Pick<DestinationPolicy, 'isAllowedDialHost' | 'lookup'>;

export interface AmqpPublisherOptions {
  /** SSRF guard for broker hosts; default `createDestinationPolicy()` (public addresses only). */
  policy?: AmqpDestinationPolicy;
  /** TCP + TLS + AMQP handshake deadline. Default 10 000. */
  connectTimeoutMs?: number;
  /** Heartbeat interval asked of the broker. Default 30. */
  heartbeatSeconds?: number;
  /** Deadline for the broker's ack/nack of one publish. Default 15 000. */
  confirmTimeoutMs?: number;
  /** Open connections at most; the idlest is closed to make room. Default 64. */
  maxConnections?: number;
  /** A connection with nothing in flight for this long is closed. Default 60 000. */
  idleCloseMs?: number;
  /** Backoff after a failed connect or a lost connection: `baseMs × 2^(n-1)`, capped, with jitter. Default 500 / 30 000. */
  reconnect?: { baseMs: number; maxMs: number };
  /** CA bundle trusted for every `amqps:` destination that brings none of its own. */
  tls?: { ca?: string };
  /** Default for `AmqpDestination.assertTopology`. Default true. */
  assertTopology?: boolean;
  /** `app-id` property when the message gives none. Default `herald`. */
  appId?: string;
  /** Clock (ms since epoch) for backoff and idle bookkeeping; injected by tests. */
  now?: () => number;
  /** Random source in [0, 1) for jitter; injected by tests. */
  random?: () => number;
}

/** One message to publish. `body` is the JSON text (or its UTF-8 bytes). */
export interface AmqpMessage {
  body: string | Uint8Array;
  /** The stable Herald message id (AMQP `message-id`), so receivers can drop duplicates. */
  messageId: string;
  /** A Herald message type; decides the routing key and becomes the AMQP `type`. */
  messageType: string;
  correlationId?: string;
  /** Sent as the AMQP `timestamp` (whole seconds). Default: now. */
  timestamp?: Date;
  appId?: string;
  headers?: Record<string, string>;
}

export interface AmqpPublisher {
  /** Publishes and waits for the broker's confirm. Never throws for an expected failure. */
  publish(dest: AmqpDestination, msg: AmqpMessage): Promise<DeliveryOutcome>;
  /** Number of open (or opening) broker connections. */
  readonly connectionCount: number;
  /** Closes every connection; publishes still waiting fail with `cancelled`. */
  close(): Promise<void>;
}

interface Failure {
  code: OutcomeCode;
  retryable: boolean;
  error: string;
  brokerReply?: string;
}

interface PendingPublish {
  messageId: string;
  returned: { replyText: string } | undefined;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  settle: (f: Failure | null) => void;
  /** Resolves when settled; a second publish of the same id waits for it. */
  done: Promise<void>;
}

interface BrokerConnection {
  key: string;
  target: AmqpTarget;
  model: ChannelModel;
  channel: Promise<ConfirmChannel | Failure> | undefined;
  /** The open confirm channel once `channel` has resolved (fast path: no promise, no timer). */
  openChannel: ConfirmChannel | undefined;
  /** Queue names ('' = exchange only) whose topology is declared on this connection. */
  topologyDone: Set<string>;
  /** Per queue name ('' = exchange only): the topology assertion, run once per connection. */
  topology: Map<string, Promise<Failure | null>>;
  /**
   * Unconfirmed publishes by message id. A basic.return carries the message id and precedes the
   * ack of the same publish; at most one publish per id is in flight, so the match is exact.
   */
  byMessageId: Map<string, PendingPublish>;
  drain: Promise<void> | undefined;
  inFlight: number;
  lastUsedMs: number;
  idleTimer: NodeJS.Timeout | undefined;
  lastError: unknown;
  /** Set while the broker has blocked publishing (resource alarm), for the timeout text. */
  blockedReason: string | undefined;
  closed: boolean;
  /** Whether a publish was confirmed on it (a loss then does not delay the first reconnect). */
  confirmedAny: boolean;
}

interface Backoff {
  failures: number;
  retryAtMs: number;
  last: Failure;
}

type Slot =
  | { state: 'connecting'; promise: Promise<BrokerConnection | Failure> }
  | { state: 'open'; conn: BrokerConnection };

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) {
    throw new AmqpTransportError('INVALID_CONFIG', `${name} must be a positive integer; received ${String(value)}`);
  }
  return v;
}

function toBuffer(body: string | Uint8Array): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

const NACKED = 'message nacked';
const TIMED_OUT = Symbol('timed out');

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
const CLOSE_GRACE_MS = 2000;
const MAX_BACKOFF_ENTRIES = 10_000;

/**
 * Creates a publisher that keeps one connection and confirm channel per destination (host, port,
 * vhost, user, TLS identity), opened lazily and shared. Throws `AmqpTransportError`
 * (`INVALID_CONFIG`) for bad options.
 */
export function createAmqpPublisher(options: AmqpPublisherOptions = {}): AmqpPublisher {
  const connectTimeoutMs = positiveInt('connectTimeoutMs', options.connectTimeoutMs, 10_000);
  const heartbeatSeconds = positiveInt('heartbeatSeconds', options.heartbeatSeconds, 30);
  const confirmTimeoutMs = positiveInt('confirmTimeoutMs', options.confirmTimeoutMs, 15_000);
  const maxConnections = positiveInt('maxConnections', options.maxConnections, 64);
  const idleCloseMs = positiveInt('idleCloseMs', options.idleCloseMs, 60_000);
  const baseMs = positiveInt('reconnect.baseMs', options.reconnect?.baseMs, 500);
  const maxMs = positiveInt('reconnect.maxMs', options.reconnect?.maxMs, 30_000);
  if (maxMs < baseMs) throw new AmqpTransportError('INVALID_CONFIG', 'reconnect.maxMs must be >= reconnect.baseMs');
  const policy = options.policy ?? createDestinationPolicy({});
  const defaultCa = options.tls?.ca;
  const defaultAssertTopology = options.assertTopology ?? true;
  const defaultAppId = options.appId ?? 'herald';
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  // Keys hold a keyed hash of the credentials, so a changed password opens a fresh connection
  // while the key itself reveals nothing.
  const keySecret = randomBytes(32);

  const slots = new Map<string, Slot>();
  /** Parsed, accepted destination URLs (credential-free), bounded. */
  const parsedUrls = new Map<string, ReturnType<typeof parseAmqpUrl>>();
  const backoffs = new Map<string, Backoff>();
  let closed = false;

  function backoffDelayMs(failures: number): number {
    const capped = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
    // Equal jitter: never below half the step, so a dead broker is not hammered.
    return Math.round(capped / 2 + (capped / 2) * random());
  }

  function recordFailure(key: string, failure: Failure, lost: boolean): void {
    const failures = (backoffs.get(key)?.failures ?? 0) + 1;
    const waitMs = lost && failures === 1 ? 0 : backoffDelayMs(lost ? failures - 1 : failures);
    backoffs.delete(key);
    // Bounded: a fleet of dead destinations must not grow the map forever (oldest entry goes).
    if (backoffs.size >= MAX_BACKOFF_ENTRIES) {
      const oldest = backoffs.keys().next();
      if (oldest.done !== true) backoffs.delete(oldest.value);
    }
    backoffs.set(key, { failures, retryAtMs: now() + waitMs, last: failure });
  }

  function destinationKey(dest: AmqpDestination, target: AmqpTarget): string {
    // A secret-prefixed SHA-256 (not HMAC): same purpose here, without building a key object per publish.
    const identity = createHash('sha256')
      .update(keySecret)
      .update(
        JSON.stringify([
          dest.username,
          dest.password,
          dest.tls?.ca ?? defaultCa ?? '',
          dest.tls?.cert ?? '',
          dest.tls?.key ?? '',
        ]),
      )
      .digest('base64url');
    return `${target.protocol}://${target.label}#${identity}`;
  }

  function dropConnection(conn: BrokerConnection): void {
    const slot = slots.get(conn.key);
    if (slot?.state === 'open' && slot.conn === conn) slots.delete(conn.key);
    if (conn.idleTimer !== undefined) clearTimeout(conn.idleTimer);
  }

  function failAllPending(conn: BrokerConnection, failure: Failure): void {
    for (const p of [...conn.byMessageId.values()]) p.settle(failure);
  }

  function closedFailure(conn: BrokerConnection, what: string): Failure {
    const reply = brokerReplyOf(conn.lastError);
    return {
      code: 'broker_closed',
      retryable: true,
      error: `${what} to ${conn.target.label} closed before the broker confirmed`,
      ...(reply === undefined ? {} : { brokerReply: reply }),
    };
  }

  function closeConnection(conn: BrokerConnection, failure: Failure): void {
    if (conn.closed) return;
    conn.closed = true;
    dropConnection(conn);
    failAllPending(conn, failure);
    void closeModel(conn.model, CLOSE_GRACE_MS);
  }

  function scheduleIdleClose(conn: BrokerConnection): void {
    if (conn.idleTimer !== undefined) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = undefined;
      if (conn.inFlight === 0 && !conn.closed) {
        closeConnection(conn, { code: 'broker_closed', retryable: true, error: 'idle connection closed' });
      }
    }, idleCloseMs);
    conn.idleTimer.unref();
  }

  function evictForRoom(): void {
    if (slots.size < maxConnections) return;
    let victim: BrokerConnection | undefined;
    for (const slot of slots.values()) {
      if (slot.state !== 'open') continue;
      const c = slot.conn;
      // Prefer connections with nothing in flight, then the least recently used.
      if (
        victim === undefined ||
        (c.inFlight === 0 && victim.inFlight > 0) ||
        ((c.inFlight === 0) === (victim.inFlight === 0) && c.lastUsedMs < victim.lastUsedMs)
      ) {
        victim = c;
      }
    }
    if (victim !== undefined) {
      closeConnection(victim, {
        code: 'broker_closed',
        retryable: true,
        error: `connection to ${victim.target.label} closed to stay within maxConnections`,
      });
    }
  }

  async function connect(key: string, dest: AmqpDestination, target: AmqpTarget): Promise<BrokerConnection | Failure> {
    const ca = dest.tls?.ca ?? defaultCa;
    const tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(dest.tls?.cert === undefined ? {} : { cert: dest.tls.cert }),
      ...(dest.tls?.key === undefined ? {} : { key: dest.tls.key }),
    };
    const built = buildConnectOptions({
      target,
      username: dest.username,
      password: dest.password,
      tls,
      heartbeatSeconds,
      connectTimeoutMs,
      lookup: policy.lookup as SocketOptions['lookup'],
      connectionName: `herald publisher ${target.label}`,
    });
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const attempt = amqp.connect(built.connect, built.socket);
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve('timeout');
      }, connectTimeoutMs);
    });
    let model: ChannelModel;
    try {
      const winner = await Promise.race([attempt, deadline]);
      if (winner === 'timeout') {
        attempt.then(
          (late) => {
            late.on('error', () => {});
            void closeModel(late, CLOSE_GRACE_MS);
          },
          () => {},
        );
        return { code: 'timeout', retryable: true, error: `connection to ${target.label} timed out` };
      }
      model = winner;
    } catch (err) {
      return timedOut
        ? { code: 'timeout', retryable: true, error: `connection to ${target.label} timed out` }
        : classifyConnectError(err, target.label);
    } finally {
      clearTimeout(timer);
    }
    const conn: BrokerConnection = {
      key,
      target,
      model,
      channel: undefined,
      openChannel: undefined,
      topologyDone: new Set(),
      topology: new Map(),
      byMessageId: new Map(),
      drain: undefined,
      inFlight: 0,
      lastUsedMs: now(),
      idleTimer: undefined,
      lastError: undefined,
      blockedReason: undefined,
      closed: false,
      confirmedAny: false,
    };
    model.on('error', (err: unknown) => {
      conn.lastError = err;
    });
    model.on('blocked', (reason: string) => {
      conn.blockedReason = String(reason).slice(0, 200);
    });
    model.on('unblocked', () => {
      conn.blockedReason = undefined;
    });
    model.on('close', () => {
      if (conn.closed) return;
      conn.closed = true;
      dropConnection(conn);
      const failure = closedFailure(conn, 'connection');
      recordFailure(key, failure, conn.confirmedAny);
      failAllPending(conn, failure);
    });
    return conn;
  }

  async function acquireConnection(
    key: string,
    dest: AmqpDestination,
    target: AmqpTarget,
  ): Promise<BrokerConnection | Failure> {
    const slot = slots.get(key);
    if (slot?.state === 'open') return slot.conn;
    if (slot?.state === 'connecting') return slot.promise;
    evictForRoom();
    const promise = connect(key, dest, target).then((result) => {
      if ('model' in result) {
        if (closed) {
          result.closed = true;
          void closeModel(result.model, CLOSE_GRACE_MS);
          slots.delete(key);
          return { code: 'cancelled', retryable: true, error: 'publisher closed' } satisfies Failure;
        }
        slots.set(key, { state: 'open', conn: result });
      } else {
        slots.delete(key);
        recordFailure(key, result, false);
      }
      return result;
    });
    slots.set(key, { state: 'connecting', promise });
    return promise;
  }

  function openChannel(conn: BrokerConnection): Promise<ConfirmChannel | Failure> {
    if (conn.channel !== undefined) return conn.channel;
    const opening = conn.model.createConfirmChannel().then(
      (ch) => {
        ch.on('error', (err: unknown) => {
          conn.lastError = err;
        });
        ch.on('return', (msg: Message) => {
          const id = msg.properties.messageId;
          const p = typeof id === 'string' ? conn.byMessageId.get(id) : undefined;
          // Marked now, reported when the ack for the same publish arrives.
          if (p !== undefined) {
            const replyText: unknown = (msg.fields as { replyText?: unknown }).replyText;
            p.returned = { replyText: typeof replyText === 'string' ? replyText : 'NO_ROUTE' };
          }
        });
        ch.on('close', () => {
          if (conn.channel === opening) {
            conn.channel = undefined;
            conn.openChannel = undefined;
          }
          // The broker closes a channel on e.g. a publish to a deleted exchange: declare again next time.
          conn.topologyDone.clear();
          conn.topology.clear();
          failAllPending(conn, closedFailure(conn, 'channel'));
        });
        if (conn.channel === opening) conn.openChannel = ch;
        return ch;
      },
      (err: unknown): Failure => {
        conn.channel = undefined;
        const c = classifyConnectError(err, conn.target.label);
        return { ...c, code: c.code === 'network' ? 'broker_closed' : c.code };
      },
    );
    conn.channel = opening;
    return opening;
  }

  async function declareTopology(conn: BrokerConnection, queueName: string | undefined): Promise<Failure | null> {
    const where = conn.target.label;
    let step = `declare exchange ${EXCHANGE_NAME}`;
    let ch: Channel | undefined;
    try {
      ch = await conn.model.createChannel();
      ch.on('error', () => {});
      await ch.assertExchange(EXCHANGE_NAME, 'topic', { durable: true });
      if (queueName !== undefined) {
        step = `declare queue ${queueName}`;
        // Passive check first: a pre-provisioned queue (quorum, dead-letter args, ...) is used as it is.
        try {
          await ch.checkQueue(queueName);
        } catch {
          ch = await conn.model.createChannel();
          ch.on('error', () => {});
          await ch.assertQueue(queueName, { durable: true });
        }
        for (const key of ALL_ROUTING_KEYS) {
          step = `bind queue ${queueName} to ${key}`;
          await ch.bindQueue(queueName, EXCHANGE_NAME, key);
        }
      }
      void ch.close().catch(() => {});
      return null;
    } catch (err) {
      ch?.close().catch(() => {});
      const reply = brokerReplyOf(err);
      const withReply = reply === undefined ? {} : { brokerReply: reply };
      if (isAccessRefused(err)) {
        return {
          code: 'broker_auth',
          retryable: true,
          ...withReply,
          error: `broker at ${where} refused to ${step}: the user needs configure/write/read permission on it, or set assertTopology: false for a pre-provisioned broker`,
        };
      }
      return { code: 'broker_closed', retryable: true, ...withReply, error: `could not ${step} at ${where}` };
    }
  }

  function ensureTopology(conn: BrokerConnection, queueName: string | undefined): Promise<Failure | null> {
    const k = queueName ?? '';
    let p = conn.topology.get(k);
    if (p === undefined) {
      p = declareTopology(conn, queueName).then((r) => {
        if (r !== null) conn.topology.delete(k);
        else conn.topologyDone.add(k);
        return r;
      });
      conn.topology.set(k, p);
    }
    return p;
  }

  function untrack(conn: BrokerConnection, p: PendingPublish): void {
    if (conn.byMessageId.get(p.messageId) === p) conn.byMessageId.delete(p.messageId);
  }

  function waitForDrain(conn: BrokerConnection, ch: ConfirmChannel): Promise<void> {
    conn.drain ??= new Promise<void>((resolve) => {
      const done = (): void => {
        ch.off('drain', done);
        ch.off('close', done);
        conn.drain = undefined;
        resolve();
      };
      ch.on('drain', done);
      ch.on('close', done);
    });
    return conn.drain;
  }

  function publishConfirmed(
    conn: BrokerConnection,
    ch: ConfirmChannel,
    routingKey: string,
    content: Buffer,
    props: Options.Publish,
    messageId: string,
  ): Promise<Failure | null> {
    return new Promise((resolve) => {
      let markDone = (): void => {};
      const p: PendingPublish = {
        messageId,
        returned: undefined,
        settled: false,
        timer: undefined,
        done: new Promise<void>((r) => {
          markDone = r;
        }),
        settle: (f) => {
          if (p.settled) return;
          p.settled = true;
          if (p.timer !== undefined) clearTimeout(p.timer);
          untrack(conn, p);
          markDone();
          resolve(f);
        },
      };
      conn.byMessageId.set(messageId, p);
      let writable: boolean;
      try {
        writable = ch.publish(EXCHANGE_NAME, routingKey, content, props, (err: unknown) => {
          if (err === null || err === undefined) {
            p.settle(
              p.returned === undefined
                ? null
                : {
                    code: 'broker_returned',
                    retryable: true,
                    brokerReply: p.returned.replyText,
                    error: `broker returned the message as unroutable: no queue bound to ${routingKey} on ${EXCHANGE_NAME}`,
                  },
            );
          } else if (err instanceof Error && err.message === NACKED) {
            p.settle({ code: 'broker_nack', retryable: true, error: 'broker refused the message (basic.nack)' });
          } else {
            p.settle(closedFailure(conn, 'channel'));
          }
        });
      } catch {
        p.settle(closedFailure(conn, 'channel'));
        return;
      }
      if (!writable) void waitForDrain(conn, ch);
      p.timer = setTimeout(() => {
        const blocked =
          conn.blockedReason === undefined ? '' : ` (publishing blocked by the broker: ${conn.blockedReason})`;
        p.settle({
          code: 'timeout',
          retryable: true,
          error: `broker did not confirm within ${confirmTimeoutMs} ms${blocked}`,
        });
      }, confirmTimeoutMs);
    });
  }

  async function publishOnce(dest: AmqpDestination, msg: AmqpMessage): Promise<Failure | null> {
    if (closed) return { code: 'cancelled', retryable: true, error: 'publisher closed' };
    let routingKey: string;
    try {
      routingKey = routingKeyFor(msg.messageType);
    } catch (err) {
      return { code: 'internal', retryable: false, error: err instanceof Error ? err.message : 'unknown message type' };
    }
    let parsed = parsedUrls.get(dest.url);
    if (parsed === undefined) {
      parsed = parseAmqpUrl(dest.url);
      // Only accepted URLs are kept: a refused one may hold credentials.
      if (parsed.ok) {
        if (parsedUrls.size >= 1000) parsedUrls.clear();
        parsedUrls.set(dest.url, parsed);
      }
    }
    if (!parsed.ok) return { code: 'invalid_destination', retryable: false, error: parsed.error };
    const target = parsed.target;
    if ((dest.tls?.cert === undefined) !== (dest.tls?.key === undefined)) {
      return {
        code: 'invalid_destination',
        retryable: false,
        error: 'tls.cert and tls.key must be given together (client certificate)',
      };
    }
    const key = destinationKey(dest, target);
    // Checked whenever a dial may follow; an open connection already passed it.
    if (slots.get(key) === undefined && !policy.isAllowedDialHost(target.hostname)) {
      return {
        code: 'blocked',
        retryable: false,
        error: `broker host of ${target.label} is not an allowed destination`,
      };
    }
    const backoff = backoffs.get(key);
    if (backoff !== undefined && slots.get(key) === undefined && now() < backoff.retryAtMs) {
      return {
        ...backoff.last,
        error: `${backoff.last.error}; not retried for ${backoff.retryAtMs - now()} ms (reconnect backoff)`,
      };
    }
    const conn = await acquireConnection(key, dest, target);
    if (!('model' in conn)) return conn;
    conn.inFlight += 1;
    conn.lastUsedMs = now();
    if (conn.idleTimer !== undefined) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = undefined;
    }
    try {
      const stepTimeout = (what: string): Failure => ({
        code: 'timeout',
        retryable: true,
        error: `broker at ${target.label} did not answer (${what}) within ${confirmTimeoutMs} ms`,
      });
      if ((dest.assertTopology ?? defaultAssertTopology) && !conn.topologyDone.has(dest.queueName ?? '')) {
        const topo = await withDeadline(ensureTopology(conn, dest.queueName), confirmTimeoutMs);
        if (topo === TIMED_OUT) return stepTimeout('declaring the topology');
        if (topo !== null) return topo;
      }
      const ch = conn.openChannel ?? (await withDeadline(openChannel(conn), confirmTimeoutMs));
      if (ch === TIMED_OUT) return stepTimeout('opening a channel');
      if (!('publish' in ch)) return ch;
      // Bounded: each wait ends on drain, channel close, a settled twin or the deadline.
      for (let i = 0; i < 1000 && !conn.closed; i++) {
        const twin = conn.byMessageId.get(msg.messageId);
        const wait = twin?.done ?? conn.drain;
        if (wait === undefined) break;
        if ((await withDeadline(wait, confirmTimeoutMs)) === TIMED_OUT) return stepTimeout('waiting to write');
      }
      if (conn.closed) return closedFailure(conn, 'connection');
      const props: Options.Publish = {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: msg.messageId,
        type: msg.messageType,
        timestamp: Math.floor((msg.timestamp?.getTime() ?? now()) / 1000),
        appId: msg.appId ?? defaultAppId,
        ...(msg.correlationId === undefined ? {} : { correlationId: msg.correlationId }),
        ...(msg.headers === undefined ? {} : { headers: msg.headers }),
      };
      const result = await publishConfirmed(conn, ch, routingKey, toBuffer(msg.body), props, msg.messageId);
      if (result === null) {
        conn.confirmedAny = true;
        backoffs.delete(key);
      } else if (result.code === 'broker_returned' && dest.queueName !== undefined) {
        // The queue this destination declares (and binds) is gone, deleted while the connection stayed up:
        // declare it again on the next publish instead of returning every retry as unroutable.
        conn.topologyDone.delete(dest.queueName);
        conn.topology.delete(dest.queueName);
      }
      return result;
    } finally {
      conn.inFlight -= 1;
      conn.lastUsedMs = now();
      if (conn.inFlight === 0 && !conn.closed) scheduleIdleClose(conn);
    }
  }

  return {
    async publish(dest, msg) {
      const started = performance.now();
      let failure: Failure | null;
      try {
        failure = await publishOnce(dest, msg);
      } catch (err) {
        // A bug or an amqplib surprise; still an outcome, never a throw.
        failure = {
          code: 'internal',
          retryable: true,
          error: `unexpected error while publishing: ${err instanceof Error ? err.name : 'unknown'}`,
        };
      }
      const durationMs = Math.round(performance.now() - started);
      if (failure === null) return { ok: true, code: 'delivered', retryable: false, disableChannel: false, durationMs };
      return {
        ok: false,
        code: failure.code,
        retryable: failure.retryable,
        disableChannel: false,
        durationMs,
        error: failure.error,
        ...(failure.brokerReply === undefined ? {} : { brokerReply: failure.brokerReply }),
      };
    },
    get connectionCount() {
      return slots.size;
    },
    async close() {
      if (closed) return;
      closed = true;
      const open: BrokerConnection[] = [];
      const connecting: Promise<unknown>[] = [];
      for (const slot of slots.values()) {
        if (slot.state === 'open') open.push(slot.conn);
        else connecting.push(slot.promise);
      }
      slots.clear();
      await Promise.all(connecting);
      await Promise.all(
        open.map(async (conn) => {
          if (conn.closed) return;
          conn.closed = true;
          if (conn.idleTimer !== undefined) clearTimeout(conn.idleTimer);
          failAllPending(conn, { code: 'cancelled', retryable: true, error: 'publisher closed' });
          await closeModel(conn.model, CLOSE_GRACE_MS);
        }),
      );
    },
  };
}
