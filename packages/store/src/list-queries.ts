import { decodeCursor, encodeCursor, pageLimit } from './page-cursor.ts';
import { num, type Row, str } from './rows.ts';
import type { AttemptFilter, DeliveryFilter, MessageFilter, Page, PageRequest } from './types.ts';

export type Dialect = 'sqlite' | 'postgres';
export type SqlValue = string | number | boolean | null;

/** One page query: `?` placeholders (converted for PostgreSQL by the adapter), limit + 1 rows fetched. */
export interface ListQuery {
  sql: string;
  params: SqlValue[];
  limit: number;
  cursorKind: 'time-id' | 'seq';
}

/** Replaces each `?` with `$1..$n`; the shared SQL never contains a literal question mark. */
export function toPostgresPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function build(
  table: string,
  clauses: Array<[string, SqlValue[]]>,
  page: PageRequest,
  cursorKind: 'time-id' | 'seq',
): ListQuery {
  const limit = pageLimit(page);
  const where = [...clauses];
  if (page.cursor !== undefined && page.cursor !== null && page.cursor !== '') {
    const key = decodeCursor(page.cursor, cursorKind);
    if (cursorKind === 'seq') where.push(['seq < ?', [key[0]]]);
    else where.push(['(created_at < ? OR (created_at = ? AND id < ?))', [key[0], key[0], key[1]!]]);
  }
  const order = cursorKind === 'seq' ? 'seq DESC' : 'created_at DESC, id DESC';
  return {
    sql: `SELECT * FROM ${table} WHERE ${where.map((w) => w[0]).join(' AND ')} ORDER BY ${order} LIMIT ${limit + 1}`,
    params: where.flatMap((w) => w[1]),
    limit,
    cursorKind,
  };
}

export function listMessagesQuery(applicationId: string, f: MessageFilter, page: PageRequest): ListQuery {
  const c: Array<[string, SqlValue[]]> = [['application_id = ?', [applicationId]]];
  if (f.type !== undefined) c.push(['type = ?', [f.type]]);
  if (f.correlationId !== undefined) c.push(['correlation_id = ?', [f.correlationId]]);
  if (f.since !== undefined) c.push(['created_at >= ?', [f.since]]);
  if (f.until !== undefined) c.push(['created_at < ?', [f.until]]);
  return build('messages', c, page, 'time-id');
}

/** `table`: PostgreSQL reads delivery_view (deliveries with the lease state of their queue row). */
export function listDeliveriesQuery(
  applicationId: string,
  f: DeliveryFilter,
  page: PageRequest,
  table: 'deliveries' | 'delivery_view' = 'deliveries',
): ListQuery {
  const c: Array<[string, SqlValue[]]> = [['application_id = ?', [applicationId]]];
  if (f.messageId !== undefined) c.push(['message_id = ?', [f.messageId]]);
  if (f.channelId !== undefined) c.push(['channel_id = ?', [f.channelId]]);
  if (f.state !== undefined) c.push(['state = ?', [f.state]]);
  if (f.since !== undefined) c.push(['created_at >= ?', [f.since]]);
  if (f.until !== undefined) c.push(['created_at < ?', [f.until]]);
  return build(table, c, page, 'seq');
}

export function listAttemptsQuery(
  dialect: Dialect,
  applicationId: string,
  f: AttemptFilter,
  page: PageRequest,
): ListQuery {
  // By delivery or message, the few rows come through attempts_delivery; the tenant check is then a filter, written
  // so that neither planner can choose attempts_application instead (without statistics both did, to save the
  // sort, and read every attempt of the application).
  const throughDelivery = f.deliveryId !== undefined || f.messageId !== undefined;
  const tenant = !throughDelivery
    ? 'application_id = ?'
    : dialect === 'sqlite'
      ? '+application_id = ?'
      : "application_id || '' = ?";
  const c: Array<[string, SqlValue[]]> = [[tenant, [applicationId]]];
  if (f.deliveryId !== undefined) c.push(['delivery_id = ?', [f.deliveryId]]);
  // No attempts index on message_id (PostgreSQL migration 5, SQLite migration 3): a message's attempts are those of
  // its deliveries, found through deliveries_message and attempts_delivery.
  if (f.messageId !== undefined) {
    c.push(['delivery_id IN (SELECT d.id FROM deliveries d WHERE d.message_id = ?)', [f.messageId]]);
  }
  if (f.channelId !== undefined) c.push(['channel_id = ?', [f.channelId]]);
  if (f.ok !== undefined) c.push(['ok = ?', [dialect === 'sqlite' ? (f.ok ? 1 : 0) : f.ok]]);
  if (f.since !== undefined) c.push(['started_at >= ?', [f.since]]);
  return build('attempts', c, page, 'seq');
}

export function listEventsQuery(applicationId: string, page: PageRequest): ListQuery {
  return build('events', [['application_id = ?', [applicationId]]], page, 'seq');
}

/** Turns limit + 1 rows into a page and the cursor of its last item. */
export function toPage<T>(rows: Row[], q: ListQuery, map: (r: Row) => T): Page<T> {
  const more = rows.length > q.limit;
  const kept = more ? rows.slice(0, q.limit) : rows;
  const last = kept.at(-1);
  let nextCursor: string | null = null;
  if (more && last !== undefined) {
    nextCursor =
      q.cursorKind === 'seq'
        ? encodeCursor([num(last, 'seq')])
        : encodeCursor([num(last, 'created_at'), str(last, 'id')]);
  }
  return { items: kept.map(map), nextCursor };
}
