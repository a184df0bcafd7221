import type { Command } from 'commander';
import type { DeliveryFilter, View } from '../cli-api.ts';
import type { CliContext } from '../cli-context.ts';
import { usageError } from '../cli-error.ts';
import { deliveryRow, formatKeyValues, s, stateColor } from '../format.ts';
import { waitForStop } from '../wait-for-stop.ts';

const COLUMNS = ['id', 'message', 'state', 'attempts', 'last', 'updated'];
const STATES = ['pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded'];

/** `--since` as an ISO time or a duration back from now (`90s`, `15m`, `2h`, `7d`). */
export function parseSince(text: string, nowMs: number): string {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (m !== null) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(nowMs - Number(m[1]) * unit).toISOString();
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw usageError(`--since must be an ISO time or a duration like 15m, 2h, 7d; got ${text}`);
  return new Date(t).toISOString();
}

interface ListFlags {
  state?: string;
  channel?: string;
  message?: string;
  since?: string;
  limit?: string;
}

function filterOf(f: ListFlags): DeliveryFilter {
  if (f.state !== undefined && !STATES.includes(f.state))
    throw usageError(`--state must be one of ${STATES.join(', ')}`);
  const limit = f.limit === undefined ? undefined : Number(f.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500))
    throw usageError('--limit must be 1-500');
  return {
    ...(f.state === undefined ? {} : { state: f.state }),
    ...(f.channel === undefined ? {} : { channelId: f.channel }),
    ...(f.message === undefined ? {} : { messageId: f.message }),
    ...(f.since === undefined ? {} : { since: parseSince(f.since, Date.now()) }),
    ...(limit === undefined ? {} : { limit }),
  };
}

function timeline(c: CliContext, delivery: View): string {
  const attempts = Array.isArray(delivery['attemptLog']) ? (delivery['attemptLog'] as View[]) : [];
  const { attemptLog: _log, ...rest } = delivery;
  const lines = [formatKeyValues(rest), '', c.out.c.bold('attempts')];
  if (attempts.length === 0) lines.push(c.out.c.dim('  (none yet)'));
  for (const a of attempts) {
    const mark = a['ok'] ? c.out.c.green('✓') : c.out.c.red('✗');
    const detail = [s(a['outcome']), s(a['statusCode']), s(a['brokerReply']), s(a['error'])]
      .filter((x) => x !== '')
      .join(' · ');
    lines.push(`  ${mark} #${s(a['attemptNumber'])}  ${s(a['startedAt'])}  ${s(a['durationMs'])} ms  ${detail}`);
  }
  return lines.join('\n');
}

export function registerDeliveries(program: Command, ctx: () => CliContext): void {
  const deliveries = program
    .command('deliveries')
    .description('the delivery log: list, show, tail, redeliver, recover');
  const withFilters = (cmd: Command) =>
    cmd
      .option('--state <state>', `one of ${STATES.join(', ')}`)
      .option('--channel <id>', 'channel configuration id')
      .option('--message <id>', 'message id')
      .option('--since <time>', 'ISO time or duration back from now (15m, 2h, 7d)');
  withFilters(deliveries.command('list').description('list deliveries, newest first'))
    .option('--limit <n>', 'page size (1-500)', '50')
    .action(async (f: ListFlags) => {
      const c = ctx();
      const page = await c.api().listDeliveries(filterOf(f));
      c.out.result(page, () =>
        [
          c.out.table(
            page.items.map((d) => deliveryRow(c.out, d)),
            COLUMNS,
          ),
          page.nextCursor ? c.out.c.dim('(more: narrow with --since or --state)') : '',
        ]
          .filter((x) => x !== '')
          .join('\n'),
      );
    });
  deliveries
    .command('show <id>')
    .description('one delivery with its attempt timeline')
    .action(async (id: string) => {
      const c = ctx();
      const delivery = await c.api().getDelivery(id);
      c.out.result(delivery, () => timeline(c, delivery));
    });
  withFilters(deliveries.command('tail').description('print deliveries as they change, until Ctrl-C'))
    .option('--interval <seconds>', 'poll interval', '1')
    .option('--max-seconds <n>', 'stop after this long (default: until interrupted)')
    .action(async (f: ListFlags & { interval: string; maxSeconds?: string }) => {
      const c = ctx();
      const intervalMs = Math.max(100, Number(f.interval) * 1000);
      if (!Number.isFinite(intervalMs)) throw usageError('--interval must be a number of seconds');
      const maxMs = f.maxSeconds === undefined ? Number.POSITIVE_INFINITY : Number(f.maxSeconds) * 1000;
      const filter = { ...filterOf(f), limit: 100 };
      const seen = new Map<string, string>();
      let stopped = false;
      void waitForStop().then(() => {
        stopped = true;
      });
      const started = Date.now();
      c.out.note(c.out.c.dim('tailing deliveries (Ctrl-C to stop)…'));
      while (!stopped && Date.now() - started < maxMs) {
        const page = await c.api().listDeliveries(filter);
        for (const d of [...page.items].reverse()) {
          const key = `${s(d['state'])}:${s(d['attempts'])}`;
          if (seen.get(s(d['id'])) === key) continue;
          seen.set(s(d['id']), key);
          c.out.result(d, () =>
            `${s(d['updatedAt'])}  ${s(d['id'])}  ${stateColor(c.out, s(d['state']))}  attempts ${s(d['attempts'])}  ${s(d['lastOutcome'])} ${s(d['lastStatusCode'])}`.trimEnd(),
          );
        }
        if (seen.size > 50_000) seen.clear();
        await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, maxMs - (Date.now() - started)))));
      }
    });
  deliveries
    .command('redeliver <id>')
    .description('deliver one delivery again (dead or failed; --force for a delivered one)')
    .option('--force', 'also redeliver a delivered delivery')
    .action(async (id: string, f: { force?: boolean }) => {
      const c = ctx();
      const d = await c.api().redeliver(id, f.force === true);
      c.out.result(d, () => `${c.out.c.green('✓')} ${id} is ${stateColor(c.out, s(d['state']))} again`);
    });
  deliveries
    .command('recover')
    .description('deliver again every failed or dead delivery created since a time')
    .requiredOption('--since <time>', 'ISO time or duration back from now (15m, 2h, 7d)')
    .option('--channel <id>', 'only this channel')
    .action(async (f: { since: string; channel?: string }) => {
      const c = ctx();
      const r = await c.api().recover(parseSince(f.since, Date.now()), f.channel);
      c.out.result(r, () => `${c.out.c.green('✓')} ${s(r['recovered'])} deliveries pending again`);
    });
}
