import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createEngine,
  createRabbitMqTransport,
  createWebhookTransport,
  type Engine,
  type EngineLogger,
  type WebhookDeliverer,
} from '@herald/engine';
import { createDestinationPolicy } from '@herald/ssrf';
import { createStore, parseKeyring, type Store } from '@herald/store';
import { createAmqpPublisher } from '@herald/transport-amqp';
import { createWebhookClient } from '@herald/transport-http';
import { type Env, WorkerConfigError } from './env.ts';

/** File names of the one-command start's data directory (shared with apps/api). */
export const SQLITE_FILE_NAME = 'herald.db';
export const KEYRING_FILE_NAME = 'encryption-keys';

export interface WorkerDependencies {
  store: Store;
  engine: Engine;
  /** Closes what the engine does not own (publisher, store). */
  close(): Promise<void>;
}

function readFileOrFail(path: string, label: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new WorkerConfigError(`cannot read ${label} (${path})`);
  }
}

/** Adds the operator's extra CA to every request's trusted roots (on top of the system roots and any channel CA). */
export function withExtraCa(client: WebhookDeliverer, extraCaPem: string): WebhookDeliverer {
  return {
    deliver: (request) =>
      client.deliver({
        ...request,
        tls: { ...request.tls, ca: request.tls?.ca === undefined ? extraCaPem : `${request.tls.ca}\n${extraCaPem}` },
      }),
  };
}

/** The store URL: DATABASE_URL, or the SQLite file of the data directory. */
export function storeUrlFor(env: Env): string {
  if (env.DATABASE_URL !== undefined) return env.DATABASE_URL;
  return `sqlite:${join(env.HERALD_DATA_DIR, SQLITE_FILE_NAME)}`;
}

function keyringSpecFor(env: Env): string {
  if (env.HERALD_ENCRYPTION_KEYS !== undefined) return env.HERALD_ENCRYPTION_KEYS;
  return readFileOrFail(
    join(env.HERALD_DATA_DIR, KEYRING_FILE_NAME),
    'the keyring file of HERALD_DATA_DIR (or set HERALD_ENCRYPTION_KEYS to the keyring the API uses)',
  ).trim();
}

/** Builds store, transports and engine from the validated environment. */
export async function buildWorkerDeps(env: Env, logger: EngineLogger): Promise<WorkerDependencies> {
  const keyring = parseKeyring(keyringSpecFor(env));
  const policy = createDestinationPolicy({
    ...(env.HERALD_ALLOW_CIDRS === undefined ? {} : { allowCidrs: env.HERALD_ALLOW_CIDRS }),
  });
  const extraCa =
    env.HERALD_EXTRA_CA_FILE === undefined
      ? undefined
      : readFileOrFail(env.HERALD_EXTRA_CA_FILE, 'HERALD_EXTRA_CA_FILE');
  const amqpCa =
    env.HERALD_AMQP_CA_FILE === undefined ? undefined : readFileOrFail(env.HERALD_AMQP_CA_FILE, 'HERALD_AMQP_CA_FILE');

  const store = await createStore({ url: storeUrlFor(env), keyring });
  const client = createWebhookClient({
    policy,
    allowHttp: env.HERALD_ALLOW_HTTP,
    timeoutMs: env.HERALD_WEBHOOK_TIMEOUT_MS,
  });
  const publisher = createAmqpPublisher({
    policy,
    confirmTimeoutMs: env.HERALD_AMQP_CONFIRM_TIMEOUT_MS,
    connectTimeoutMs: env.HERALD_AMQP_CONNECT_TIMEOUT_MS,
    maxConnections: env.HERALD_AMQP_MAX_CONNECTIONS,
    ...(amqpCa === undefined ? {} : { tls: { ca: amqpCa } }),
  });
  const engine = createEngine({
    store,
    transports: {
      webhook: createWebhookTransport({ client: extraCa === undefined ? client : withExtraCa(client, extraCa) }),
      rabbitmq: createRabbitMqTransport({ publisher }),
    },
    ...(env.HERALD_WORKER_ID === undefined ? {} : { workerId: env.HERALD_WORKER_ID }),
    batchSize: env.HERALD_WORKER_BATCH_SIZE,
    concurrency: env.HERALD_WORKER_CONCURRENCY,
    leaseMs: env.HERALD_WORKER_LEASE_MS,
    pollIntervalMs: env.HERALD_WORKER_POLL_INTERVAL_MS,
    recordDelayMs: env.HERALD_WORKER_RECORD_DELAY_MS,
    retry: {
      ...(env.HERALD_RETRY_BASE_DELAY_MS === undefined ? {} : { baseDelayMs: env.HERALD_RETRY_BASE_DELAY_MS }),
      ...(env.HERALD_RETRY_MAX_DELAY_MS === undefined ? {} : { maxDelayMs: env.HERALD_RETRY_MAX_DELAY_MS }),
      ...(env.HERALD_RETRY_MIN_WINDOW_MS === undefined ? {} : { minRetryWindowMs: env.HERALD_RETRY_MIN_WINDOW_MS }),
    },
    logger,
  });
  return {
    store,
    engine,
    async close() {
      await publisher.close();
      await client.close();
      await store.close();
    },
  };
}
