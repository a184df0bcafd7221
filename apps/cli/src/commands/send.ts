import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliApi, View } from '../cli-api.ts';
import type { CliContext } from '../cli-context.ts';
import { CliError, usageError } from '../cli-error.ts';
import { EXAMPLE_TYPES, exampleMessage } from '../examples.ts';
import { EXIT_CODES } from '../exit-codes.ts';
import { s, stateColor } from '../format.ts';

interface SendFlags {
  example?: string;
  file?: string;
  listExamples?: boolean;
  type?: string;
  correlationId?: string;
  idempotencyKey?: string;
  wait?: boolean;
  timeout: string;
  interval: string;
}

function parseSeconds(name: string, text: string, min: number, max: number): number {
  const n = Number(text.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < min || n > max) throw usageError(`${name} must be ${min}-${max} seconds, got ${text}`);
  return n;
}

/** Polls the message's deliveries until each is delivered, or one is dead/failed, or the timeout passes. */
async function waitForDeliveries(
  api: CliApi,
  messageId: string,
  expected: number,
  timeoutMs: number,
  intervalMs: number,
  onProgress: (deliveries: View[]) => void,
): Promise<{ outcome: 'delivered' | 'dead' | 'timeout'; deliveries: View[] }> {
  const deadline = Date.now() + timeoutMs;
  let deliveries: View[] = [];
  for (let i = 0; i < Math.ceil(timeoutMs / intervalMs) + 1; i++) {
    deliveries = (await api.listDeliveries({ messageId, limit: 100 })).items;
    onProgress(deliveries);
    if (deliveries.some((d) => d['state'] === 'dead' || d['state'] === 'failed'))
      return { outcome: 'dead', deliveries };
    if (
      deliveries.length >= expected &&
      deliveries.every((d) => d['state'] === 'delivered' || d['state'] === 'superseded')
    ) {
      return { outcome: 'delivered', deliveries };
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return { outcome: 'timeout', deliveries };
}

export function registerSend(program: Command, ctx: () => CliContext): void {
  program
    .command('send')
    .description('publish a message: a built-in example of the documents or a JSON file')
    .option('--example <type>', 'send the documents’ example of this MessageType (see --list-examples)')
    .option('--file <path>', 'send the JSON message in this file ("-" for stdin)')
    .option('--list-examples', 'list the message types with a built-in example')
    .option('--type <type>', 'MessageType when the body does not carry one (the image-checking notification)')
    .option('--correlation-id <id>', 'x-correlation-id carried to every delivery')
    .option('--idempotency-key <key>', 'Idempotency-Key: a retry with the same key and body is not published twice')
    .option('--wait', 'wait until every delivery is delivered (exit 0) or one is dead (exit 5); exit 6 on --timeout')
    .option('--timeout <seconds>', 'how long --wait waits', '60')
    .option('--interval <seconds>', 'poll interval of --wait', '0.5')
    .action(async (f: SendFlags) => {
      const c = ctx();
      if (f.listExamples) {
        c.out.result(EXAMPLE_TYPES, () => EXAMPLE_TYPES.join('\n'));
        return;
      }
      if ((f.example === undefined) === (f.file === undefined))
        throw usageError('give exactly one of --example <type> or --file <path>');
      let message: unknown;
      let type = f.type;
      if (f.example !== undefined) {
        message = exampleMessage(f.example);
        if (message === undefined) throw usageError(`no example for ${f.example}; one of: ${EXAMPLE_TYPES.join(', ')}`);
        if (!('MessageType' in (message as object))) type ??= f.example;
      } else {
        const path = f.file as string;
        let text: string;
        try {
          text = readFileSync(path === '-' ? 0 : path, 'utf8');
        } catch (error) {
          throw new CliError('read_file', `cannot read ${path}`, EXIT_CODES.usage, { cause: error });
        }
        try {
          message = JSON.parse(text);
        } catch {
          throw usageError(`${path} is not valid JSON`);
        }
      }
      const api = c.api();
      // The documents' examples carry their own ApplicationId; the API wants the caller's.
      if (f.example !== undefined && typeof message === 'object' && message !== null && 'ApplicationId' in message) {
        (message as Record<string, unknown>)['ApplicationId'] = await api.applicationId();
      }
      const timeoutMs = parseSeconds('--timeout', f.timeout, 1, 3600) * 1000;
      const intervalMs = parseSeconds('--interval', f.interval, 0.05, 60) * 1000;
      const published = await api.publish(message, {
        ...(type === undefined ? {} : { type }),
        ...(f.correlationId === undefined ? {} : { correlationId: f.correlationId }),
        ...(f.idempotencyKey === undefined ? {} : { idempotencyKey: f.idempotencyKey }),
      });
      const messageId = s(published['id']);
      const expected = Number(published['deliveries'] ?? 1);
      if (!f.wait) {
        c.out.result(
          published,
          () =>
            `${c.out.c.green('✓')} published ${messageId} (${expected} ${expected === 1 ? 'delivery' : 'deliveries'})`,
        );
        return;
      }
      c.out.note(`published ${messageId}; waiting for ${expected} ${expected === 1 ? 'delivery' : 'deliveries'}…`);
      const started = Date.now();
      const waited = await waitForDeliveries(api, messageId, expected, timeoutMs, intervalMs, (ds) => {
        const done = ds.filter((d) => d['state'] === 'delivered').length;
        c.out.progress(`${done}/${expected} delivered · ${Math.round((Date.now() - started) / 1000)} s`);
      });
      c.out.result({ ...published, outcome: waited.outcome, deliveries: waited.deliveries }, () =>
        [
          waited.outcome === 'delivered'
            ? `${c.out.c.green('✓')} ${messageId} delivered`
            : waited.outcome === 'dead'
              ? `${c.out.c.red('✗')} ${messageId}: a delivery is dead`
              : `${c.out.c.yellow('…')} ${messageId}: not delivered after ${f.timeout} s`,
          ...waited.deliveries.map(
            (d) =>
              `  ${s(d['id'])}  ${stateColor(c.out, s(d['state']))}  attempts ${s(d['attempts'])}  ${s(d['lastError'])}`,
          ),
        ].join('\n'),
      );
      if (waited.outcome === 'dead')
        throw new CliError('delivery_dead', 'a delivery is dead', EXIT_CODES.deliveryDead, { reported: true });
      if (waited.outcome === 'timeout')
        throw new CliError('timeout', `not delivered within ${f.timeout} s`, EXIT_CODES.timeout, { reported: true });
    });
}
