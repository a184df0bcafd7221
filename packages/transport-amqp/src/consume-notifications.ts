import type { HeraldMessageType } from '@herald/schemas';
import { isHeraldMessageType, parseHeraldMessage } from '@herald/schemas';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import amqp from 'amqplib';
import type { AmqpTlsOptions } from './amqp-destination.ts';
import { parseAmqpUrl } from './amqp-destination.ts';
import { closeChannel, closeModel } from './close-model.ts';
import { AmqpTransportError } from './amqp-transport-error.ts';
import { classifyConnectError } from './classify-amqp-error.ts';
import { buildConnectOptions } from './connect-options.ts';
import { ALL_ROUTING_KEYS, EXCHANGE_NAME } from './routing-key.ts';

/** Header carrying why a message was dead-lettered. */
export const DEAD_REASON_HEADER = 'x-herald-dead-reason';
/** Header counting how often the helper has put a message back after a failing handler. */
export const REDELIVERIES_HEADER = 'x-herald-redeliveries';

/** One validated notification handed to the handler. */
export interface ReceivedNotification {
  type: HeraldMessageType;
  /** The message, validated by `parseHeraldMessage` of `@herald/schemas`. */
  message: unknown;
  messageId: string | undefined;
  correlationId: string | undefined;
  /** The body as received. */
  raw: Buffer;
  /** How many times this message was put back after a failing handler (0 on first delivery). */
  redeliveries: number;
}

export interface ConsumeNotificationsOptions {
  /** `amqp[s]://host[:port][/vhost]`, without credentials. */
  url: string;
  username: string;
  password: string;
  queue: string;
  /** Unacknowledged messages in flight at most. Default 16. */
  prefetch?: number;
  /** Times a message is put back after a failing handler before it is dead-lettered. Default 5. */
  maxRedeliveries?: number;
  /** Dead-letter exchange (fanout) and queue, both declared durable. Default `<queue>.dead` for both. */
  deadLetter?: { exchange?: string; queue?: string };
  /** Declare the notifications exchange, the queue and its bindings. Default true. */
  assertTopology?: boolean;
  tls?: AmqpTlsOptions;
  /** Deadline for connecting. Default 10 000. */
  connectTimeoutMs?: number;
  heartbeatSeconds?: number;
  /**
   * Called once (code `CONSUMER_LOST`) when the connection or channel is lost or the broker cancels
   * the consumer; the consumer then ends (`closed` resolves) and the application decides whether to restart.
   */
  onError?: (error: Error) => void;
  /** Resolves to acknowledge; rejects (or throws) to have the message put back, up to `maxRedeliveries`. */
  handler: (notification: ReceivedNotification) => Promise<void>;
}

export interface NotificationConsumer {
  /** Cancels the consumer, waits for in-flight handlers (at most `timeoutMs`, default 10 000), then closes. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Handlers running now. */
  readonly inFlight: number;
  /** Resolves when the connection has ended, by `stop()` or by a loss. */
  readonly closed: Promise<void>;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new AmqpTransportError('INVALID_CONFIG', `${name} must be an integer >= ${min}; received ${String(value)}`);
  }
  return v;
}

/**
 * Uses an existing queue as it is (quorum, `x-delivery-limit`, dead-letter arguments...) and
 * declares a missing one durable. Each probe runs on a throw-away channel: a 404 closes it.
 */
async function ensureQueue(model: ChannelModel, name: string): Promise<void> {
  const probe = await model.createChannel();
  probe.on('error', () => {});
  try {
    await probe.checkQueue(name);
    await probe.close();
    return;
  } catch {
    // Missing: declared below.
  }
  const declare = await model.createChannel();
  declare.on('error', () => {});
  await declare.assertQueue(name, { durable: true });
  await declare.close();
}

function redeliveriesOf(msg: ConsumeMessage): number {
  const v: unknown = msg.properties.headers?.[REDELIVERIES_HEADER];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : 0;
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

function clip(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Consumes Herald notifications from `queue` with manual acks. Each message is validated; an invalid
 * one is dead-lettered at once with the reason in `x-herald-dead-reason`. A failing handler has the
 * message republished to the queue with `x-herald-redeliveries` + 1 (then the original is acked), up
 * to `maxRedeliveries`, after which it is dead-lettered. Republishes are publisher-confirmed before
 * the original is acked, so nothing is lost between the two.
 *
 * Throws `AmqpTransportError` for bad options (`INVALID_CONFIG`) or when the broker cannot be
 * reached or the topology cannot be declared (`CONSUMER_START_FAILED`; the text has no secret).
 */
export async function consumeNotifications(options: ConsumeNotificationsOptions): Promise<NotificationConsumer> {
  const prefetch = nonNegativeInt('prefetch', options.prefetch, 16, 1);
  const maxRedeliveries = nonNegativeInt('maxRedeliveries', options.maxRedeliveries, 5, 0);
  const connectTimeoutMs = nonNegativeInt('connectTimeoutMs', options.connectTimeoutMs, 10_000, 1);
  const heartbeatSeconds = nonNegativeInt('heartbeatSeconds', options.heartbeatSeconds, 30, 1);
  if (typeof options.queue !== 'string' || options.queue === '') {
    throw new AmqpTransportError('INVALID_CONFIG', 'queue must be a non-empty string');
  }
  if (typeof options.handler !== 'function') {
    throw new AmqpTransportError('INVALID_CONFIG', 'handler must be a function');
  }
  const parsed = parseAmqpUrl(options.url);
  if (!parsed.ok) throw new AmqpTransportError('INVALID_CONFIG', parsed.error);
  const target = parsed.target;
  const queue = options.queue;
  const deadExchange = options.deadLetter?.exchange ?? `${queue}.dead`;
  const deadQueue = options.deadLetter?.queue ?? `${queue}.dead`;

  const built = buildConnectOptions({
    target,
    username: options.username,
    password: options.password,
    tls: options.tls,
    heartbeatSeconds,
    connectTimeoutMs,
    connectionName: `herald consumer ${queue}`,
  });
  let model: ChannelModel;
  try {
    model = await amqp.connect(built.connect, built.socket);
  } catch (err) {
    const c = classifyConnectError(err, target.label);
    throw new AmqpTransportError('CONSUMER_START_FAILED', `${c.error} [${c.code}]`, { cause: c });
  }
  let lostError: Error | undefined;
  model.on('error', (err: Error) => {
    lostError = err;
  });

  let ch: ConfirmChannel;
  try {
    ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => {
      lostError = err;
    });
    if (options.assertTopology ?? true) {
      await ch.assertExchange(EXCHANGE_NAME, 'topic', { durable: true });
      await ensureQueue(model, queue);
      for (const key of ALL_ROUTING_KEYS) await ch.bindQueue(queue, EXCHANGE_NAME, key);
      await ch.assertExchange(deadExchange, 'fanout', { durable: true });
      await ensureQueue(model, deadQueue);
      await ch.bindQueue(deadQueue, deadExchange, '');
    }
    await ch.prefetch(prefetch);
  } catch (err) {
    await closeModel(model, 2000);
    const reason = err instanceof Error ? err.message : 'unknown error';
    throw new AmqpTransportError(
      'CONSUMER_START_FAILED',
      `could not set up ${queue} at ${target.label}: ${clip(reason, 300)}`,
      {
        cause: err,
      },
    );
  }

  let inFlight = 0;
  let stopping = false;
  let channelOpen = true;
  let idleWaiters: (() => void)[] = [];
  let resolveClosed = (): void => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });

  let lostReported = false;
  function reportLost(message: string, cause: unknown): void {
    if (stopping || lostReported) return;
    lostReported = true;
    options.onError?.(new AmqpTransportError('CONSUMER_LOST', message, cause === undefined ? undefined : { cause }));
  }
  const lostText = (what: string): string =>
    `${what}${lostError === undefined ? '' : `: ${clip(lostError.message, 300)}`}`;

  model.on('close', (err?: Error) => {
    channelOpen = false;
    lostError ??= err;
    reportLost(lostText(`connection to ${target.label} lost`), lostError);
    resolveClosed();
  });
  ch.on('close', () => {
    channelOpen = false;
    // A consumer without its channel is dead: end the connection too, so `closed` tells the application.
    if (!stopping) {
      // Deferred: when the whole connection went, its close follows and is the better report.
      setImmediate(() => {
        reportLost(lostText(`channel of ${queue} at ${target.label} closed`), lostError);
        void closeModel(model, 2000);
      });
    }
  });

  /** Waits for running handlers (at most `timeoutMs`), then closes the connection. */
  async function drainAndClose(timeoutMs: number): Promise<void> {
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // The channel first: its close-ok proves the broker has the acks sent on it.
    if (channelOpen) await closeChannel(ch, 2000);
    await closeModel(model, 2000);
    resolveClosed();
  }

  /** Publishes with a confirm; resolves true once the broker has it. */
  function publishConfirmed(
    exchange: string,
    routingKey: string,
    msg: ConsumeMessage,
    headers: Record<string, unknown>,
  ) {
    const p = msg.properties;
    const props: Options.Publish = {
      persistent: true,
      headers: { ...(p.headers ?? {}), ...headers },
      ...(p.contentType === undefined ? {} : { contentType: p.contentType as string }),
      ...(p.messageId === undefined ? {} : { messageId: p.messageId as string }),
      ...(p.correlationId === undefined ? {} : { correlationId: p.correlationId as string }),
      ...(p.type === undefined ? {} : { type: p.type as string }),
      ...(p.timestamp === undefined ? {} : { timestamp: p.timestamp as number }),
      ...(p.appId === undefined ? {} : { appId: p.appId as string }),
    };
    return new Promise<boolean>((resolve) => {
      try {
        ch.publish(exchange, routingKey, msg.content, props, (err: unknown) =>
          resolve(err === null || err === undefined),
        );
      } catch {
        resolve(false);
      }
    });
  }

  function settle(msg: ConsumeMessage, action: 'ack' | 'requeue'): void {
    if (!channelOpen) return; // The broker requeues unacked messages of a closed channel.
    try {
      if (action === 'ack') ch.ack(msg);
      else ch.nack(msg, false, true);
    } catch {
      // Channel closed meanwhile: same as above.
    }
  }

  async function deadLetter(msg: ConsumeMessage, reason: string): Promise<void> {
    const ok = await publishConfirmed(deadExchange, msg.fields.routingKey, msg, {
      [DEAD_REASON_HEADER]: clip(reason),
      'x-herald-original-queue': queue,
      'x-herald-original-routing-key': msg.fields.routingKey,
    });
    settle(msg, ok ? 'ack' : 'requeue');
  }

  async function redeliver(msg: ConsumeMessage, count: number): Promise<void> {
    // Via the default exchange straight to the queue: the count travels in a header, which
    // works for classic and quorum queues alike.
    const ok = await publishConfirmed('', queue, msg, { [REDELIVERIES_HEADER]: count });
    settle(msg, ok ? 'ack' : 'requeue');
  }

  async function handle(msg: ConsumeMessage): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      await deadLetter(msg, `invalid JSON: ${err instanceof Error ? err.message : 'unparseable'}`);
      return;
    }
    const declared: unknown = msg.properties.type;
    let type: HeraldMessageType | undefined;
    if (declared !== undefined) {
      if (!isHeraldMessageType(declared)) {
        await deadLetter(msg, `unknown message type ${JSON.stringify(String(declared).slice(0, 80))}`);
        return;
      }
      type = declared;
    }
    const result = parseHeraldMessage(body, type);
    if (!result.ok) {
      const details = Object.entries(result.problem.errors)
        .map(([field, errors]) => `${field}: ${errors.join('; ')}`)
        .join(' | ');
      await deadLetter(msg, `invalid message: ${details || 'does not match its schema'}`);
      return;
    }
    const redeliveries = redeliveriesOf(msg);
    try {
      await options.handler({
        type: result.type,
        message: result.message,
        messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
        correlationId: typeof msg.properties.correlationId === 'string' ? msg.properties.correlationId : undefined,
        raw: msg.content,
        redeliveries,
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (redeliveries >= maxRedeliveries) {
        await deadLetter(msg, `handler failed ${redeliveries + 1} times; last error: ${why}`);
      } else {
        await redeliver(msg, redeliveries + 1);
      }
      return;
    }
    settle(msg, 'ack');
  }

  let consumeReply: { consumerTag: string };
  try {
    consumeReply = await ch.consume(
      queue,
      (msg) => {
        if (msg === null) {
          // Cancelled by the broker (e.g. queue deleted): nothing more will arrive.
          reportLost(`consumer of ${queue} at ${target.label} cancelled by the broker`, undefined);
          void drainAndClose(10_000);
          return;
        }
        inFlight += 1;
        handle(msg)
          .catch(() => settle(msg, 'requeue'))
          .finally(() => {
            inFlight -= 1;
            if (inFlight === 0) {
              const waiters = idleWaiters;
              idleWaiters = [];
              for (const w of waiters) w();
            }
          });
      },
      { noAck: false },
    );
  } catch (err) {
    await closeModel(model, 2000);
    throw new AmqpTransportError('CONSUMER_START_FAILED', `could not consume ${queue} at ${target.label}`, {
      cause: err,
    });
  }
  const consumerTag = consumeReply.consumerTag;

  return {
    get inFlight() {
      return inFlight;
    },
    closed,
    async stop(opts = {}) {
      if (stopping) return closed;
      stopping = true;
      const timeoutMs = opts.timeoutMs ?? 10_000;
      if (channelOpen) await ch.cancel(consumerTag).catch(() => {});
      await drainAndClose(timeoutMs);
    },
  };
}
