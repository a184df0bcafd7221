import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { installRejectionGuard } from '@herald/engine';
import { pino } from 'pino';
import { buildWorkerDeps } from './build-worker-deps.ts';
import { createWorker } from './create-worker.ts';
import { loadEnv } from './env.ts';

async function main(): Promise<void> {
  const env = loadEnv();
  const log = pino({ level: env.HERALD_LOG_LEVEL, name: 'herald-worker' });
  installRejectionGuard((fields, message) => log.error(fields, message));
  const engineLogger = {
    info: (msg: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, msg),
    warn: (msg: string, fields?: Record<string, unknown>) => log.warn(fields ?? {}, msg),
    error: (msg: string, fields?: Record<string, unknown>) => log.error(fields ?? {}, msg),
  };
  const deps = await buildWorkerDeps(env, engineLogger);
  const worker = createWorker({
    engine: deps.engine,
    checkReady: async () => {
      await deps.store.ping();
      return true;
    },
  });
  const server = createServer(getRequestListener(worker.app.fetch));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.HERALD_WORKER_PORT, env.HERALD_WORKER_HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  worker.start();
  log.info(
    {
      workerId: deps.engine.workerId,
      store: deps.store.kind,
      concurrency: env.HERALD_WORKER_CONCURRENCY,
      batchSize: env.HERALD_WORKER_BATCH_SIZE,
      healthUrl: `http://${env.HERALD_WORKER_HOST}:${port}/healthz`,
    },
    'worker started',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, deadlineMs: env.HERALD_WORKER_SHUTDOWN_DEADLINE_MS }, 'worker stopping');
    // Hard stop a little after the engine's own deadline, in case something hangs.
    const hard = setTimeout(() => {
      log.error({}, 'shutdown overran its deadline; exiting');
      process.exit(1);
    }, env.HERALD_WORKER_SHUTDOWN_DEADLINE_MS + 10_000);
    hard.unref();
    (async () => {
      const result = await worker.stop({ deadlineMs: env.HERALD_WORKER_SHUTDOWN_DEADLINE_MS });
      log.info(result, 'worker stopped; leases released');
      await deps.close();
      server.close();
      server.closeAllConnections();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error instanceof Error ? error.name : typeof error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // URLs in driver errors may carry credentials; never print them.
  const text = (error instanceof Error ? error.message : String(error)).replace(/\/\/[^/@\s]*@/g, '//***@');
  process.stderr.write(`herald-worker: ${text}\n`);
  process.exit(1);
});
