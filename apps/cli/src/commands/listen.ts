import {
  createDedupeIndex,
  createForwardSink,
  createReceiver,
  type ReceivedMessage,
  type Sink,
} from '@herald/receiver';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { usageError } from '../cli-error.ts';
import { loadOrCreateListenSecret } from '../listen-secret.ts';
import { waitForStop } from '../wait-for-stop.ts';

function printingSink(ctx: CliContext, forward: Sink, target: string): Sink {
  const { out } = ctx;
  return {
    async write(message: ReceivedMessage) {
      const when = new Date(message.receivedAtMs).toISOString();
      try {
        await forward.write(message);
        if (out.json) {
          out.result(
            {
              event: 'forwarded',
              id: message.id ?? null,
              messageType: message.messageType,
              receivedAt: when,
              message: message.message,
            },
            () => '',
          );
        } else {
          out.result(
            null,
            () =>
              `${out.c.dim(when)}  ${out.c.cyan(message.messageType)}  ${message.id ?? '-'}  ${out.c.green('→')} ${target} ${out.c.green('2xx')}`,
          );
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (out.json)
          out.result(
            {
              event: 'forward_failed',
              id: message.id ?? null,
              messageType: message.messageType,
              receivedAt: when,
              error: reason,
            },
            () => '',
          );
        else
          out.result(
            null,
            () =>
              `${out.c.dim(when)}  ${out.c.cyan(message.messageType)}  ${message.id ?? '-'}  ${out.c.red(`✗ ${reason}`)} (Herald will retry)`,
          );
        throw error;
      }
    },
    close: () => forward.close(),
  };
}

/** Re-sends the channel's own settings with this signing secret (the documented update needs them all). */
async function applySecretToChannel(c: CliContext, channelId: string, signingSecret: string): Promise<void> {
  const api = c.api();
  const channel = await api.getChannel(channelId);
  if (channel['channel'] !== 0) throw usageError(`channel ${channelId} is not a WebHook channel`);
  const config = JSON.parse(String(channel['notificationChannelConfigurationJSON'] ?? '{}')) as Record<string, unknown>;
  await api.updateWebHookChannel(channelId, {
    isActive: channel['isActive'] === true,
    includeImageData: channel['includeImageData'] === true,
    webHookUrl: String(config['WebHookUrl']),
    retryCount: Number(config['RetryCount']),
    exponentialBackoffFactor: Number(config['ExponentialBackoffFactor']),
    signingSecret,
  });
  c.out.note(`channel ${channelId} now signs its pushes with this listener's secret`);
}

export function registerListen(program: Command, ctx: () => CliContext): void {
  program
    .command('listen')
    .description('run a local receiver that verifies each push, prints it and forwards it to a local URL')
    .requiredOption('--forward-to <url>', 'local URL each verified push is POSTed to (must answer 2xx)')
    .option('--port <port>', 'port to listen on', '8787')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--path <path>', 'path that accepts pushes', '/')
    .option('--print-secret', 'print the signing secret (to configure it on the channel yourself)')
    .option('--channel <id>', 'set the signing secret on this WebHook channel through the API (needs credentials)')
    .addHelpText(
      'after',
      '\nThe signing secret is created on first use in the config dir ($HERALD_CONFIG_DIR, default ~/.config/herald)\nand reused on every restart. Pushes without a valid Standard Webhooks signature get a 401.',
    )
    .action(
      async (opts: {
        forwardTo: string;
        port: string;
        host: string;
        path: string;
        printSecret?: boolean;
        channel?: string;
      }) => {
        const c = ctx();
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535)
          throw usageError(`--port must be 0-65535, got ${opts.port}`);
        let target: URL;
        try {
          target = new URL(opts.forwardTo);
        } catch {
          throw usageError(`--forward-to must be a URL, got ${opts.forwardTo}`);
        }
        const { secret, path: secretPath, created } = loadOrCreateListenSecret(c.env.configDir);
        if (opts.channel !== undefined) await applySecretToChannel(c, opts.channel, secret);
        const receiver = createReceiver({
          auth: { signature: { secrets: [secret] } },
          sink: printingSink(c, createForwardSink({ url: target.toString() }), target.toString()),
          dedupe: createDedupeIndex(':memory:'),
          allowPlainHttp: true,
          path: opts.path,
        });
        const running = await receiver.serve({ port, host: opts.host });
        c.out.note(`${c.out.c.bold('herald listen')} ready on ${running.url} → forwarding to ${target.toString()}`);
        c.out.note(
          `signing secret ${created ? 'created' : 'loaded'}: ${secretPath}${opts.printSecret ? '' : ' (--print-secret shows it)'}`,
        );
        if (opts.printSecret) c.out.note(`signing secret: ${secret}`);
        if (c.out.json)
          c.out.result(
            { event: 'listening', url: running.url, forwardTo: target.toString(), secretFile: secretPath },
            () => '',
          );
        await waitForStop();
        await receiver.close();
      },
    );
}
