import type { View } from './cli-api.ts';
import type { Output } from './output.ts';

export function s(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The documented channel view as a table row. */
export function channelRow(v: View): Record<string, string> {
  let target = '';
  try {
    const cfg = JSON.parse(String(v['notificationChannelConfigurationJSON'] ?? '{}')) as Record<string, unknown>;
    target = s(cfg['WebHookUrl'] ?? (cfg['Url'] !== undefined ? `${s(cfg['Url'])} → ${s(cfg['QueueName'])}` : ''));
  } catch {
    target = '';
  }
  const kind =
    v['channel'] === 0 ? 'WebHook' : v['channel'] === 2 ? 'RabbitMQ' : v['channel'] === 1 ? 'SignalR' : s(v['channel']);
  return { id: s(v['id']), channel: kind, active: v['isActive'] ? 'yes' : 'no', target };
}

export function stateColor(out: Output, state: string): string {
  if (state === 'delivered') return out.c.green(state);
  if (state === 'dead' || state === 'failed') return out.c.red(state);
  if (state === 'delivering') return out.c.cyan(state);
  return out.c.yellow(state);
}

export function deliveryRow(out: Output, v: View): Record<string, string> {
  return {
    id: s(v['id']),
    message: s(v['messageId']),
    state: stateColor(out, s(v['state'])),
    attempts: s(v['attempts']),
    last: [s(v['lastOutcome']), s(v['lastStatusCode'])].filter((x) => x !== '').join(' '),
    updated: s(v['updatedAt']),
  };
}

export function formatKeyValues(v: View): string {
  const width = Math.max(...Object.keys(v).map((k) => k.length));
  return Object.entries(v)
    .map(([k, value]) => `${k.padEnd(width)}  ${s(value)}`)
    .join('\n');
}
