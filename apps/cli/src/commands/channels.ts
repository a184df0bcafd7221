import type { Command } from 'commander';
import { ORDERING_KEYS } from '@herald/schemas';
import type { OrderingKey, RabbitMqChannelInput, WebHookChannelInput } from '../cli-api.ts';
import type { CliContext } from '../cli-context.ts';
import { usageError } from '../cli-error.ts';
import { channelRow, formatKeyValues } from '../format.ts';

function intOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw usageError(`${name} must be a whole number, got ${value}`);
  return n;
}

function orderingKeyOption(value: string): OrderingKey {
  if (!(ORDERING_KEYS as readonly string[]).includes(value))
    throw usageError(`--ordering-key must be one of ${ORDERING_KEYS.join(', ')}`);
  return value as OrderingKey;
}

function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw usageError(`${name} must be a number, got ${value}`);
  return n;
}

interface WebHookFlags {
  webhookUrl: string;
  retryCount?: string;
  backoffFactor?: string;
  inactive?: boolean;
  imageData: boolean;
  secretHeaderName?: string;
  secretHeaderValue?: string;
  signingSecret?: string;
  sourceAddress?: string;
  clientCertificate?: boolean;
  orderingKey?: string;
  coalesceProgress?: boolean;
  maxInFlight?: string;
}

function webHookInput(f: WebHookFlags): WebHookChannelInput {
  return {
    isActive: f.inactive !== true,
    includeImageData: f.imageData,
    webHookUrl: f.webhookUrl,
    retryCount: intOption('--retry-count', f.retryCount, 5),
    exponentialBackoffFactor: numberOption('--backoff-factor', f.backoffFactor, 2),
    ...(f.secretHeaderName === undefined ? {} : { secretHeaderName: f.secretHeaderName }),
    ...(f.secretHeaderValue === undefined ? {} : { secretHeaderValue: f.secretHeaderValue }),
    ...(f.signingSecret === undefined ? {} : { signingSecret: f.signingSecret }),
    ...(f.sourceAddress === undefined ? {} : { sourceAddress: f.sourceAddress }),
    ...(f.clientCertificate === true ? { clientCertificate: 'generate' as const } : {}),
    ...(f.orderingKey === undefined ? {} : { orderingKey: orderingKeyOption(f.orderingKey) }),
    ...(f.coalesceProgress === true ? { coalesceProgress: true } : {}),
    ...(f.maxInFlight === undefined ? {} : { maxInFlight: intOption('--max-in-flight', f.maxInFlight, 8) }),
  };
}

function withWebHookFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--webhook-url <url>', 'endpoint URL (https)')
    .option('--retry-count <n>', 'attempts before a delivery is dead (default 5)')
    .option('--backoff-factor <x>', 'exponential backoff factor (default 2)')
    .option('--inactive', 'create/update the channel as inactive')
    .option('--no-image-data', 'strip ImageContentBytes from pushes')
    .option('--secret-header-name <name>', 'shared secret header name')
    .option('--secret-header-value <value>', 'shared secret header value')
    .option('--signing-secret <whsec>', 'Standard Webhooks signing secret (whsec_…)')
    .option('--source-address <ip>', 'fixed source IP the pushes come from')
    .option('--client-certificate', 'mutual TLS: Herald generates a client certificate for this channel')
    .option('--ordering-key <field>', 'deliver in order per value of this message field')
    .option('--coalesce-progress', 'supersede pending older progress messages')
    .option('--max-in-flight <n>', 'deliveries of this channel in flight at once');
}

interface RabbitFlags {
  brokerUrl: string;
  username: string;
  password: string;
  queue: string;
  inactive?: boolean;
  imageData: boolean;
}

function withRabbitFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--broker-url <url>', 'broker URL (amqp:// or amqps://, without credentials)')
    .requiredOption('--username <name>', 'broker user')
    .requiredOption('--password <password>', 'broker password (stored encrypted, never shown again)')
    .requiredOption('--queue <name>', 'queue bound to image-render.notifications')
    .option('--inactive', 'create/update the channel as inactive')
    .option('--no-image-data', 'strip ImageContentBytes from messages');
}

function rabbitInput(f: RabbitFlags): RabbitMqChannelInput {
  return {
    isActive: f.inactive !== true,
    includeImageData: f.imageData,
    url: f.brokerUrl,
    username: f.username,
    password: f.password,
    queueName: f.queue,
  };
}

export function registerChannels(program: Command, ctx: () => CliContext): void {
  const channels = program.command('channels').description('notification channel configurations');
  const columns = ['id', 'channel', 'active', 'target'];
  channels
    .command('list')
    .description('list every channel configuration')
    .action(async () => {
      const c = ctx();
      const list = await c.api().listChannels();
      c.out.result(list, () => c.out.table(list.map(channelRow), columns));
    });
  channels
    .command('active')
    .description('list the active channel configurations')
    .action(async () => {
      const c = ctx();
      const list = await c.api().listActiveChannels();
      c.out.result(list, () => c.out.table(list.map(channelRow), columns));
    });
  channels
    .command('get <id>')
    .description('show one channel with Herald’s settings (secrets appear only as flags)')
    .action(async (id: string) => {
      const c = ctx();
      const channel = await c.api().getChannelDetails(id);
      c.out.result(channel, () => formatKeyValues(channel));
    });
  channels
    .command('delete <id>')
    .description('delete a channel configuration')
    .action(async (id: string) => {
      const c = ctx();
      await c.api().deleteChannel(id);
      c.out.result({ deleted: id }, () => `${c.out.c.green('✓')} channel ${id} deleted`);
    });
  withWebHookFlags(channels.command('create-webhook').description('create a WebHook channel')).action(
    async (f: WebHookFlags) => {
      const c = ctx();
      const channel = await c.api().createWebHookChannel(webHookInput(f));
      c.out.result(channel, () => `${c.out.c.green('✓')} WebHook channel created\n${formatKeyValues(channel)}`);
    },
  );
  withWebHookFlags(
    channels
      .command('update-webhook <id>')
      .description('update a WebHook channel (omitted auth options keep their value)'),
  ).action(async (id: string, f: WebHookFlags) => {
    const c = ctx();
    const channel = await c.api().updateWebHookChannel(id, webHookInput(f));
    c.out.result(channel, () => `${c.out.c.green('✓')} WebHook channel updated\n${formatKeyValues(channel)}`);
  });
  withRabbitFlags(channels.command('create-rabbitmq').description('create a RabbitMQ channel')).action(
    async (f: RabbitFlags) => {
      const c = ctx();
      const channel = await c.api().createRabbitMqChannel(rabbitInput(f));
      c.out.result(channel, () => `${c.out.c.green('✓')} RabbitMQ channel created\n${formatKeyValues(channel)}`);
    },
  );
  withRabbitFlags(channels.command('update-rabbitmq <id>').description('update a RabbitMQ channel')).action(
    async (id: string, f: RabbitFlags) => {
      const c = ctx();
      const channel = await c.api().updateRabbitMqChannel(id, rabbitInput(f));
      c.out.result(channel, () => `${c.out.c.green('✓')} RabbitMQ channel updated\n${formatKeyValues(channel)}`);
    },
  );
  channels
    .command('rotate-signing-secret <id>')
    .description(
      'generate a new signing secret for a WebHook channel (shown once; the previous one keeps signing alongside)',
    )
    .action(async (id: string) => {
      const c = ctx();
      const result = await c.api().rotateSigningSecret(id);
      c.out.result(result, () => formatKeyValues(result));
    });
}
