// The SQL of claims and attempt records on SQLite, shared by the store's own connection and its writer thread
// (sqlite-writer-thread.ts). Plain data in, plain rows out: it crosses a thread boundary. Secrets are not
// decrypted here: the store turns the rows into deliveries, messages and channels on its own thread.
import type { DatabaseSync } from 'node:sqlite';
import { num, numOrNull, type Row, str } from './rows.ts';
import { type SqliteStatements, unblockHead } from './sqlite-publish.ts';
import { ORDERING_FREE, timeOrderedId } from './store-common.ts';
import type { RecordAttemptInput } from './types.ts';

/** What a claim needs (ClaimOptions without its callback), plus channels to leave out this round. */
export interface LeaseClaim {
  now: number;
  owner: string;
  limit: number;
  leaseMs: number;
  maxInFlightPerChannel: number;
  /** Channels whose secrets could not be read in an earlier round: their deliveries are not taken. */
  skipChannels: string[];
}

/** The rows of one claim: leased deliveries in claim order, their messages and channels (each once). */
export interface LeaseRows {
  deliveries: Row[];
  messages: Row[];
  channels: Row[];
}

export interface RecordAndLeaseRequest {
  kind: 'lease';
  id: number;
  now: number;
  inputs: RecordAttemptInput[];
  claim: LeaseClaim | null;
}

export interface RecordAndLeaseResult {
  /** Per input: false when the lease was no longer the caller's. */
  recorded: boolean[];
  /** A channel row changed (failure streak, disabled): cached channel lists are stale. */
  channelsChanged: boolean;
  lease: LeaseRows | null;
}

/**
 * A claim's rows as they cross from the writer thread: deliveries and messages as one JSON string (a structured
 * clone of the same objects cost several times as much on both threads), channels as rows (their sealed secrets
 * are bytes).
 */
export interface LeaseWire {
  json: string;
  channels: Row[];
}

export type RecordAndLeaseResponse =
  | ({ kind: 'lease'; id: number; ok: true } & Omit<RecordAndLeaseResult, 'lease'> & { lease: LeaseWire | null })
  | { kind: 'lease'; id: number; ok: false; error: string };

export function leaseToWire(lease: LeaseRows | null): LeaseWire | null {
  if (lease === null) return null;
  return { json: JSON.stringify([lease.deliveries, lease.messages]), channels: lease.channels };
}

export function leaseFromWire(wire: LeaseWire | null): LeaseRows | null {
  if (wire === null) return null;
  const [deliveries, messages] = JSON.parse(wire.json) as [Row[], Row[]];
  return { deliveries, messages, channels: wire.channels };
}

/** The deliveries a claim takes: oldest first, within each active channel's room under its cap. */
function pickDue(sql: SqliteStatements, claim: LeaseClaim): Array<{ seq: number; channelId: string }> {
  const { now, limit, maxInFlightPerChannel } = claim;
  const skip = new Set(claim.skipChannels);
  const inFlight = new Map<string, number>();
  for (const r of sql.all(
    `SELECT channel_id, count(*) AS n FROM deliveries
     WHERE state = 'delivering' AND next_attempt_at > ? GROUP BY channel_id`,
    now,
  )) {
    inFlight.set(str(r, 'channel_id'), num(r, 'n'));
  }
  // Per active channel with room under its cap: the time of its first claimable delivery (one index probe).
  const heads: Array<{ id: string; room: number; firstDue: number }> = [];
  for (const r of sql.all(
    `SELECT c.id, c.max_in_flight, (
       SELECT d.next_attempt_at FROM deliveries d INDEXED BY deliveries_channel_due
       WHERE d.channel_id = c.id AND d.state IN ('pending', 'delivering') AND d.blocked = 0 AND d.next_attempt_at <= ?
         AND ${ORDERING_FREE}
       ORDER BY d.next_attempt_at, d.seq LIMIT 1) AS first_due
     FROM channels c WHERE c.is_active = 1`,
    now,
  )) {
    const firstDue = numOrNull(r, 'first_due');
    if (firstDue === null) continue;
    const id = str(r, 'id');
    if (skip.has(id)) continue;
    const cap = numOrNull(r, 'max_in_flight') ?? maxInFlightPerChannel;
    const room = Math.min(cap - (inFlight.get(id) ?? 0), limit);
    if (room > 0) heads.push({ id, room, firstDue });
  }
  heads.sort((a, b) => a.firstDue - b.firstDue || (a.id < b.id ? -1 : 1));
  // Channels with the oldest work first, until they give a full batch; then oldest first across them.
  const candidates: Array<{ seq: number; at: number; channelId: string }> = [];
  for (const head of heads) {
    if (candidates.length >= limit) break;
    for (const r of sql.all(
      `SELECT d.seq, d.next_attempt_at FROM deliveries d INDEXED BY deliveries_channel_due
       WHERE d.channel_id = ? AND d.state IN ('pending', 'delivering') AND d.blocked = 0 AND d.next_attempt_at <= ?
         AND ${ORDERING_FREE}
       ORDER BY d.next_attempt_at, d.seq LIMIT ?`,
      head.id,
      now,
      head.room,
    )) {
      candidates.push({ seq: num(r, 'seq'), at: num(r, 'next_attempt_at'), channelId: head.id });
    }
  }
  candidates.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return candidates.slice(0, limit);
}

/** Leases the deliveries a claim takes, inside the caller's transaction; null when none is claimable. */
export function leaseDue(sql: SqliteStatements, claim: LeaseClaim): LeaseRows | null {
  if (claim.limit <= 0) return null;
  const picked = pickDue(sql, claim);
  if (picked.length === 0) return null;
  const channels = sql.all(
    'SELECT * FROM channels WHERE id IN (SELECT value FROM json_each(?))',
    JSON.stringify([...new Set(picked.map((p) => p.channelId))]),
  );
  const seqs = picked.map((p) => p.seq);
  const expiresAt = claim.now + claim.leaseMs;
  const leased = sql.all(
    `UPDATE deliveries SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?,
       leased_at = ?, updated_at = ?
     WHERE seq IN (SELECT value FROM json_each(?)) RETURNING *`,
    claim.owner,
    expiresAt,
    expiresAt,
    claim.now,
    claim.now,
    JSON.stringify(seqs),
  );
  const bySeq = new Map(leased.map((r) => [num(r, 'seq'), r]));
  const deliveries: Row[] = [];
  for (const seq of seqs) {
    const row = bySeq.get(seq);
    if (row !== undefined) deliveries.push(row);
  }
  const messages = sql.all(
    'SELECT * FROM messages WHERE id IN (SELECT value FROM json_each(?))',
    JSON.stringify([...new Set(deliveries.map((r) => str(r, 'message_id')))]),
  );
  return { deliveries, messages, channels };
}

/**
 * Records one attempt inside the caller's transaction: moves the delivery on (only while the lease is the
 * caller's), logs the attempt, keeps the channel's failure streak and disables the channel when asked.
 */
export function recordAttemptRow(
  sql: SqliteStatements,
  input: RecordAttemptInput,
  now: number,
): { recorded: boolean; channelsChanged: boolean } {
  const { attempt, resolution } = input;
  const row = sql.get(
    `UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, lease_owner = NULL,
       lease_expires_at = NULL, leased_at = NULL, last_outcome = ?, last_status_code = ?, last_error = ?,
       updated_at = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
     WHERE id = ? AND lease_owner = ? AND state = 'delivering'
     RETURNING message_id, channel_id, application_id, attempts, ordering_key`,
    resolution.state,
    resolution.state === 'pending' ? resolution.nextAttemptAt : now,
    attempt.outcome,
    attempt.statusCode,
    attempt.error,
    now,
    resolution.state,
    now,
    input.deliveryId,
    input.owner,
  );
  if (row === undefined) return { recorded: false, channelsChanged: false };
  const channelId = str(row, 'channel_id');
  const applicationId = str(row, 'application_id');
  const orderingKey = row['ordering_key'];
  if (resolution.state !== 'pending' && typeof orderingKey === 'string') unblockHead(sql, channelId, orderingKey);
  sql.run(
    `INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at,
       duration_ms, ok, outcome, status_code, broker_reply, error, response_excerpt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    timeOrderedId(),
    input.deliveryId,
    str(row, 'message_id'),
    channelId,
    applicationId,
    num(row, 'attempts'),
    attempt.startedAt,
    Math.round(attempt.durationMs),
    attempt.ok ? 1 : 0,
    attempt.outcome,
    attempt.statusCode,
    attempt.brokerReply,
    attempt.error,
    attempt.responseExcerpt,
  );
  let channelsChanged =
    (attempt.ok
      ? sql.run('UPDATE channels SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL', channelId)
      : sql.run(
          'UPDATE channels SET failing_since = ? WHERE id = ? AND failing_since IS NULL',
          attempt.startedAt,
          channelId,
        )) > 0;
  if (input.disableChannel !== undefined) {
    const changed = sql.run(
      'UPDATE channels SET is_active = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND is_active = 1',
      input.disableChannel,
      now,
      channelId,
    );
    if (changed > 0) {
      channelsChanged = true;
      sql.run(
        `INSERT INTO events (id, application_id, channel_id, type, detail, created_at) VALUES (?, ?, ?, 'channel.disabled', ?, ?)`,
        timeOrderedId(),
        applicationId,
        channelId,
        input.disableChannel,
        now,
      );
    }
  }
  return { recorded: true, channelsChanged };
}

/** Attempt records, then a claim for the room they leave, inside the caller's transaction. */
export function recordAndLeaseInTx(
  sql: SqliteStatements,
  inputs: readonly RecordAttemptInput[],
  now: number,
  claim: LeaseClaim | null,
): RecordAndLeaseResult {
  const recorded: boolean[] = [];
  let channelsChanged = false;
  for (const input of inputs) {
    const r = recordAttemptRow(sql, input, now);
    recorded.push(r.recorded);
    if (r.channelsChanged) channelsChanged = true;
  }
  return { recorded, channelsChanged, lease: claim === null ? null : leaseDue(sql, claim) };
}

/** recordAndLeaseInTx in its own BEGIN IMMEDIATE … COMMIT (the writer thread's connection). */
export function recordAndLease(db: DatabaseSync, sql: SqliteStatements, request: RecordAndLeaseRequest) {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = recordAndLeaseInTx(sql, request.inputs, request.now, request.claim);
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
