// The SQL of one publish on SQLite, shared by the store's own connection and its writer thread
// (sqlite-writer-thread.ts). Plain data in, plain rows out: it crosses a thread boundary.
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Row } from './rows.ts';
import type { DeliveryPlan, MessageRecord } from './types.ts';

/** A publish whose channels were read and whose plan was made (by the caller, before the transaction). */
export interface PreparedPublish {
  message: MessageRecord;
  now: number;
  /**
   * The application's active channels the plan was made against ([id, updatedAt], in channel order), or null
   * when the caller read them in this same transaction (nothing to check).
   */
  activeChannels: Array<[string, number]> | null;
  plans: DeliveryPlan[];
  /** One new id per plan. */
  deliveryIds: string[];
}

export type AppliedPublish =
  /** Written as prepared. */
  | { kind: 'stored' }
  /** The idempotency key was used before: that message and its deliveries. */
  | { kind: 'existing'; message: Row; deliveries: Row[] }
  /** No plan (no active channel) and no earlier message under the key: nothing written. */
  | { kind: 'no_active_channel' }
  /** The active channels changed since the plan was made: plan again. */
  | { kind: 'stale' };

export interface SqliteStatements {
  get(sql: string, ...params: SQLInputValue[]): Row | undefined;
  all(sql: string, ...params: SQLInputValue[]): Row[];
  run(sql: string, ...params: SQLInputValue[]): number;
}

/** WAL pages after which a commit checkpoints (SQLite's default is 1,000; see docs/storage.md). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** Page cache of the store's own connection (KiB): reads for the API (lists, channels) under a large backlog. */
export const READER_CACHE_KIB = 32_768;
/**
 * Page cache of the writer thread's connection (KiB). Its writes (publishes, claims, attempt records) touch the
 * ends of the tables and indexes, a small set of pages; with a cache of 32 MiB instead of 4 MiB the same drain
 * cost about a third more CPU per delivery on that thread (docs/storage.md), more pages to walk for no more hits.
 */
export const WRITER_CACHE_KIB = 4_096;

/**
 * The settings of every connection of a store (the store's own and its writer thread's); journal_mode is a
 * property of the file, set by the store. Measured with the group-committed publish (docs/storage.md):
 * checkpointing every 10,000 WAL pages instead of 1,000 syncs the database file ten times less often.
 */
export function tuneConnection(db: DatabaseSync, cacheKiB: number): void {
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  db.exec(`PRAGMA cache_size = -${cacheKiB}`);
  db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.exec('PRAGMA temp_store = MEMORY');
}

/** Prepared-statement helpers over one connection (statements compiled once, on first use). */
export function sqliteStatements(db: DatabaseSync): SqliteStatements & { clear(): void } {
  const statements = new Map<string, StatementSync>();
  const q = (sql: string): StatementSync => {
    let s = statements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  return {
    get: (sql, ...params) => q(sql).get(...params) as Row | undefined,
    all: (sql, ...params) => q(sql).all(...params) as Row[],
    run: (sql, ...params) => Number(q(sql).run(...params).changes),
    clear: () => statements.clear(),
  };
}

/** The active channels of an application ([id, updated_at]), in the order publish plans see them. */
export function activeChannelsSignature(sql: SqliteStatements, applicationId: string): Array<[string, number]> {
  return sql
    .all(
      'SELECT id, updated_at FROM channels WHERE application_id = ? AND is_active = 1 ORDER BY created_at, id',
      applicationId,
    )
    .map((r) => [r['id'] as string, Number(r['updated_at'])]);
}

/**
 * Ordering: only the earliest pending/delivering delivery of a (channel, ordering key) is unblocked, so
 * the ones waiting behind it stay out of the due indexes instead of being scanned by every claim.
 */
export function unblockHead(sql: SqliteStatements, channelId: string, orderingKey: string): number {
  return sql.run(
    `UPDATE deliveries SET blocked = 0 WHERE blocked = 1 AND seq = (
       SELECT min(seq) FROM deliveries WHERE channel_id = ? AND ordering_key = ? AND state IN ('pending', 'delivering'))`,
    channelId,
    orderingKey,
  );
}

/** Writes one prepared publish inside the caller's transaction. */
export function applyPublish(
  sql: SqliteStatements,
  p: PreparedPublish,
  activeCache?: Map<string, Array<[string, number]>>,
): AppliedPublish {
  const { message, now } = p;
  if (message.idempotencyKey !== null) {
    const existing = sql.get(
      'SELECT * FROM messages WHERE application_id = ? AND idempotency_key = ?',
      message.applicationId,
      message.idempotencyKey,
    );
    if (existing !== undefined) {
      const deliveries = sql.all(
        'SELECT * FROM deliveries WHERE message_id = ? ORDER BY seq',
        existing['id'] as string,
      );
      return { kind: 'existing', message: existing, deliveries };
    }
  }
  if (p.activeChannels !== null) {
    let current = activeCache?.get(message.applicationId);
    if (current === undefined) {
      current = activeChannelsSignature(sql, message.applicationId);
      activeCache?.set(message.applicationId, current);
    }
    const planned = p.activeChannels;
    if (
      current.length !== planned.length ||
      current.some(([id, at], i) => id !== planned[i]![0] || at !== planned[i]![1])
    ) {
      return { kind: 'stale' };
    }
  }
  if (p.plans.length === 0) return { kind: 'no_active_channel' };
  sql.run(
    `INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    message.id,
    message.applicationId,
    message.type,
    message.body,
    message.correlationId,
    message.traceparent,
    message.idempotencyKey,
    message.bodyHash,
    now,
  );
  const supersededKeys: Array<[string, string]> = [];
  for (const [i, plan] of p.plans.entries()) {
    if (plan.coalesceKey !== null) {
      for (const r of sql.all(
        `UPDATE deliveries SET state = 'superseded', blocked = 0, updated_at = ?
           WHERE channel_id = ? AND coalesce_key = ? AND state = 'pending' RETURNING ordering_key`,
        now,
        plan.channelId,
        plan.coalesceKey,
      )) {
        if (typeof r['ordering_key'] === 'string') supersededKeys.push([plan.channelId, r['ordering_key']]);
      }
    }
    const blocked =
      plan.orderingKey !== null &&
      sql.get(
        `SELECT 1 AS x FROM deliveries WHERE channel_id = ? AND ordering_key = ? AND state IN ('pending', 'delivering') LIMIT 1`,
        plan.channelId,
        plan.orderingKey,
      ) !== undefined;
    sql.run(
      `INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, ordering_key,
           blocked, coalesce_key, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
      p.deliveryIds[i]!,
      message.id,
      message.applicationId,
      plan.channelId,
      now,
      plan.orderingKey,
      blocked ? 1 : 0,
      plan.coalesceKey,
      now,
      now,
    );
  }
  for (const [channelId, orderingKey] of supersededKeys) unblockHead(sql, channelId, orderingKey);
  return { kind: 'stored' };
}

/** What the writer thread is sent: a batch of publishes to commit together. */
export interface WriterRequest {
  batch: number;
  items: PreparedPublish[];
}

/** One outcome per item, in order: an applied publish or the error that failed it. */
export interface WriterResponse {
  batch: number;
  outcomes: Array<AppliedPublish | { kind: 'error'; name: string; message: string; code?: string }>;
}

/**
 * Commits the batch in one transaction; when any publish (or the commit) fails, the batch is rolled back and
 * replayed one transaction per publish, so a failing publish fails only itself.
 */
export function applyBatch(
  db: DatabaseSync,
  sql: SqliteStatements,
  items: PreparedPublish[],
): WriterResponse['outcomes'] {
  const asError = (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    const code = (e as { code?: unknown }).code;
    return { kind: 'error' as const, name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
  };
  const inTx = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const value = fn();
      db.exec('COMMIT');
      return value;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };
  if (items.length > 1) {
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      // The write lock stayed taken past the busy timeout: every publish of the batch fails alike, at once.
      const failed = asError(error);
      return items.map(() => failed);
    }
    try {
      const cache = new Map<string, Array<[string, number]>>();
      const outcomes = items.map((p) => applyPublish(sql, p, cache));
      db.exec('COMMIT');
      return outcomes;
    } catch {
      // Replayed one by one below.
      if (db.isTransaction) db.exec('ROLLBACK');
    }
  }
  return items.map((p) => {
    try {
      return inTx(() => applyPublish(sql, p));
    } catch (error) {
      return asError(error);
    }
  });
}
