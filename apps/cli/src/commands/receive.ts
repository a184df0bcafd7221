import { loadReceiverConfigFile, startReceiver } from '@herald/receiver';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { waitForStop } from '../wait-for-stop.ts';

export function registerReceive(program: Command, ctx: () => CliContext): void {
  program
    .command('receive')
    .description('run the reference receiver (HTTPS and/or AMQP) from a JSON config file')
    .requiredOption('-c, --config <file>', 'receiver config file (see docs/receiver.md)')
    .option('--port <port>', 'override listen.port')
    .action(async (opts: { config: string; port?: string }) => {
      const c = ctx();
      const config = loadReceiverConfigFile(opts.config);
      const started = await startReceiver(config, opts.port === undefined ? {} : { port: Number(opts.port) });
      if (started.http !== undefined) c.out.note(`receiver listening on ${started.http.url}`);
      if (config.amqp !== undefined) c.out.note(`receiver consuming queue ${config.amqp.queue}`);
      if (c.out.json) c.out.result({ event: 'listening', url: started.http?.url ?? null }, () => '');
      await waitForStop();
      await started.close();
    });
}
