import { installRejectionGuard } from '@herald/engine';
import { EnvError, loadEnv } from './env.ts';
import { createLogger } from './logger.ts';
import { startPlatform } from './platform.ts';

// load env → build deps → createApp → serve → close once on SIGTERM/SIGINT within the deadline.
let env: ReturnType<typeof loadEnv>;
try {
  env = loadEnv();
} catch (err) {
  if (err instanceof EnvError) {
    process.stderr.write(`herald-api: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({ level: env.HERALD_LOG_LEVEL });
installRejectionGuard((fields, message) => logger.error(fields, message));
let platform: Awaited<ReturnType<typeof startPlatform>>;
try {
  platform = await startPlatform(env, { logger });
} catch (err) {
  // Misconfiguration found while wiring (unreadable CA file, port taken, bad keyring): say what, exit.
  const code = (err as { code?: unknown }).code;
  process.stderr.write(
    `herald-api: cannot start: ${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? ` [${code}]` : ''}\n`,
  );
  process.exit(err instanceof EnvError ? 2 : 1);
}
logger.info(
  {
    api: platform.url,
    docs: `${platform.url}/docs`,
    credentialsFile: platform.credentialsFile,
    embeddedWorker: platform.embeddedWorker,
  },
  'herald api listening',
);
process.stderr.write(
  [
    `Herald API:   ${platform.url}`,
    `Docs:         ${platform.url}/docs`,
    `Data:         ${platform.dataDir}`,
    platform.credentialsFile === null
      ? 'Credentials:  (created on first start; see credentials.json in the data directory)'
      : `Credentials:  ${platform.credentialsFile}`,
    `Worker:       ${platform.embeddedWorker ? 'embedded (in this process)' : 'external (run apps/worker)'}`,
    '',
  ].join('\n'),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, env.HERALD_SHUTDOWN_DEADLINE_MS + 5000);
  force.unref();
  platform.close().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
