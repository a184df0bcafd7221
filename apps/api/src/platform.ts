import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type CertificateAuthority, createCertificateAuthority, generateWebhookSecret } from '@herald/auth';
import { createEngine, createRabbitMqTransport, createWebhookTransport, type EngineLogger } from '@herald/engine';
import { createSignalRHub, createSignalRTransport } from '@herald/realtime';
import { createDestinationPolicy } from '@herald/ssrf';
import { createStore, generateKeyringSpec, parseKeyring } from '@herald/store';
import { createAmqpPublisher } from '@herald/transport-amqp';
import { createWebhookClient } from '@herald/transport-http';
import type { Logger } from 'pino';
import { createBrokerReadiness } from './broker-readiness.ts';
import { createApp } from './app.ts';
import { SIGNALR_HUB_PATH } from './channel-view.ts';
import { bootstrapPlatform } from './bootstrap.ts';
import { ensureDataDir, readOrCreateSecret, writePrivateFile } from './data-dir.ts';
import { type ApiEnv, EnvError } from './env.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createLogger } from './logger.ts';
import { createApiMetrics } from './metrics.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { createClientCertificateIssuer, createCredentialService, createTokenService } from './services.ts';

export interface Platform {
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly dataDir: string;
  /** Written on the first start of an empty database, else null. */
  readonly credentialsFile: string | null;
  readonly embeddedWorker: boolean;
  /** Stops accepting requests, stops the worker within the deadline, closes transports and the store. Idempotent. */
  close(): Promise<void>;
}

function readCaFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new EnvError(
      `HERALD_EXTRA_CA_FILE: cannot read ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new EnvError(`HERALD_EXTRA_CA_FILE: ${path} holds no PEM certificate`);
  }
  return text;
}

/** The CA signing mTLS client certificates of webhook channels, kept in the data directory (0600). */
async function loadOrCreateClientCa(dataDir: string): Promise<CertificateAuthority> {
  const path = resolve(dataDir, 'client-ca.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as CertificateAuthority;
  const ca = await createCertificateAuthority({ commonName: 'Herald client certificates', validDays: 3650 });
  writePrivateFile(path, `${JSON.stringify({ certPem: ca.certPem, keyPem: ca.keyPem })}\n`);
  return ca;
}

function engineLogger(logger: Logger): EngineLogger {
  return {
    info: (message, fields) => logger.info({ component: 'engine', ...fields }, message),
    warn: (message, fields) => logger.warn({ component: 'engine', ...fields }, message),
    error: (message, fields) => logger.error({ component: 'engine', ...fields }, message),
  };
}

/** Wires the whole API process from validated configuration: store, transports, engine, app, server. */
export async function startPlatform(env: ApiEnv, options: { logger?: Logger } = {}): Promise<Platform> {
  const logger = options.logger ?? createLogger({ level: env.HERALD_LOG_LEVEL });
  const dataDir = resolve(env.HERALD_DATA_DIR);
  ensureDataDir(dataDir);
  const keyringSpec =
    env.HERALD_ENCRYPTION_KEYS ?? readOrCreateSecret(dataDir, 'encryption-keys', () => generateKeyringSpec()).value;
  const jwtSecret =
    env.HERALD_JWT_SECRET ??
    readOrCreateSecret(dataDir, 'jwt-secret', () => randomBytes(48).toString('base64url')).value;
  const ca = await loadOrCreateClientCa(dataDir);
  const extraCa = env.HERALD_EXTRA_CA_FILE === undefined ? undefined : readCaFile(env.HERALD_EXTRA_CA_FILE);

  const store = await createStore({
    url: env.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'herald.db')}`,
    keyring: parseKeyring(keyringSpec),
  });
  const policy = createDestinationPolicy({ allowCidrs: env.HERALD_ALLOW_CIDRS });
  const webhookClient = createWebhookClient({ policy, allowHttp: env.HERALD_ALLOW_HTTP });
  const publisher = createAmqpPublisher({ policy, ...(extraCa === undefined ? {} : { tls: { ca: extraCa } }) });
  const deliverer =
    extraCa === undefined
      ? webhookClient
      : {
          // The operator's extra CA is trusted beside the system roots (and any CA of the channel).
          deliver: (req: Parameters<typeof webhookClient.deliver>[0]) =>
            webhookClient.deliver({
              ...req,
              tls: { ...req.tls, ca: [req.tls?.ca, extraCa].filter((x) => x !== undefined).join('\n') },
            }),
        };
  const tokens = createTokenService({ secret: jwtSecret, ttlSeconds: env.HERALD_JWT_TTL_SECONDS });
  const embeddedWorker = env.HERALD_EMBEDDED_WORKER ?? store.kind === 'sqlite';
  // The SignalR hub lives where its WebSockets are served; its transport runs in the embedded worker.
  const realtimeHub = createSignalRHub({
    path: SIGNALR_HUB_PATH,
    authenticate: async (token) => {
      if (token === null) return null;
      const verified = await tokens.verify(token);
      if (!verified.ok || verified.claims.role !== 'application' || verified.claims.applicationId === null) return null;
      return { applicationId: verified.claims.applicationId };
    },
  });
  const engine = createEngine({
    store,
    transports: {
      webhook: createWebhookTransport({ client: deliverer }),
      rabbitmq: createRabbitMqTransport({ publisher }),
      signalr: createSignalRTransport({ hub: realtimeHub }),
    },
    leaseMs: env.HERALD_WORKER_LEASE_MS,
    logger: engineLogger(logger),
  });
  const metrics = createApiMetrics();
  engine.on('attempt', (e) => metrics.recordAttempt(e.outcome.code, e.outcome.ok, e.outcome.durationMs));

  const credentials = createCredentialService();
  const app = createApp({
    store,
    engine,
    tokens,
    realtimeHub,
    credentials,
    destinationPolicy: policy,
    allowHttp: env.HERALD_ALLOW_HTTP,
    logger,
    generateSigningSecret: () => generateWebhookSecret(),
    clientCertificates: createClientCertificateIssuer(ca),
    bodyLimitBytes: env.HERALD_BODY_LIMIT_BYTES,
    apiKeyCacheMs: env.HERALD_API_KEY_CACHE_MS,
    rateLimiter: createRateLimiter({
      perSecond: env.HERALD_RATE_LIMIT_PER_SECOND,
      ...(env.HERALD_RATE_LIMIT_BURST === undefined ? {} : { burst: env.HERALD_RATE_LIMIT_BURST }),
    }),
    metrics,
    ...(env.HERALD_METRICS_TOKEN === undefined ? {} : { metricsToken: env.HERALD_METRICS_TOKEN }),
    ...(env.HERALD_READY_AMQP_URL === undefined
      ? {}
      : { readiness: [createBrokerReadiness(env.HERALD_READY_AMQP_URL)] }),
  });

  const server = await new Promise<HttpServer>((resolveServer, reject) => {
    const s = createHttpServer({ fetch: app.fetch, hostname: env.HERALD_HOST });
    s.listen(env.HERALD_PORT, env.HERALD_HOST, () => resolveServer(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new EnvError(
              `HERALD_HOST/HERALD_PORT: cannot listen on ${env.HERALD_HOST}:${env.HERALD_PORT} (${err.code})`,
            )
          : err,
      ),
    );
  });
  realtimeHub.attach(server);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = env.HERALD_PUBLIC_URL?.replace(/\/$/, '') ?? `http://${host}:${address.port}`;

  const boot = env.HERALD_BOOTSTRAP
    ? await bootstrapPlatform({ store, credentials, dataDir, apiUrl: url })
    : { credentialsFile: null, demoApplicationId: null };
  if (embeddedWorker) engine.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Upgraded WebSockets count as open connections: the hub closes them. The HTTP server and the engine
      // wind down side by side, each within the deadline: requests in progress are answered (publishes stored),
      // in-flight deliveries finish or are released. Only then do the pools and the database close.
      const hubClosed = realtimeHub.close();
      const [http, stopped] = await Promise.all([
        server.shutdown({ deadlineMs: env.HERALD_SHUTDOWN_DEADLINE_MS }),
        engine.stop({ deadlineMs: env.HERALD_SHUTDOWN_DEADLINE_MS }),
      ]);
      await hubClosed;
      logger.info({ ...stopped, cutConnections: http.cutConnections }, 'engine and HTTP server stopped');
      await Promise.allSettled([webhookClient.close(), publisher.close()]);
      await store.close();
    })();
    return closing;
  };
  return { url, dataDir, credentialsFile: boot.credentialsFile, embeddedWorker, close };
}
