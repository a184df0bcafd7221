import { pino } from 'pino';
import { loadEnv } from './env.ts';
import { loadReceiverConfigFile, parseReceiverConfigJson } from './receiver-config.ts';
import { startReceiver } from './start-receiver.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  const env = loadEnv();
  // Logs go to stderr: the stdout sink owns stdout.
  const logger = pino({ level: env.HERALD_LOG_LEVEL, name: 'herald-receiver' }, pino.destination(2));
  const config =
    env.HERALD_RECEIVER_CONFIG === undefined
      ? parseReceiverConfigJson(env.HERALD_RECEIVER_CONFIG_JSON ?? '', process.cwd())
      : loadReceiverConfigFile(env.HERALD_RECEIVER_CONFIG);
  const started = await startReceiver(config, {
    logger,
    ...(env.HERALD_RECEIVER_PORT === undefined ? {} : { port: env.HERALD_RECEIVER_PORT }),
    ...(env.HERALD_RECEIVER_HOST === undefined ? {} : { host: env.HERALD_RECEIVER_HOST }),
  });
  if (started.http !== undefined) logger.info({ url: started.http.url }, 'receiver listening');
  if (config.amqp !== undefined) logger.info({ queue: config.amqp.queue }, 'receiver consuming');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'receiver stopping');
    const timer = setTimeout(() => {
      logger.error({}, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    timer.unref();
    started.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  // URLs in driver errors may carry credentials; never print them.
  const text = (error instanceof Error ? error.message : String(error)).replace(/\/\/[^/@\s]*@/g, '//***@');
  process.stderr.write(`herald-receiver: ${text}\n`);
  process.exit(1);
});
