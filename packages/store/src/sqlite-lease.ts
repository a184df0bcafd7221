// The SQL of claims and attempt records on SQLite, shared by the store's own connection and its writer thread
// (sqlite-writer-thread.ts). Plain data in, plain rows out: it crosses a thread boundary. Secrets are not
// decrypted here: the store turns the rows into deliveries, messages and channels on its own thread.
import type { DatabaseSync } from 'node:sqlite';
import { MESSAGE_COLUMNS, num, numOrNull, type Row, str } from './rows.ts';
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
  /** Ceiling on any channel's in-flight count (ClaimOptions.channelCeiling). */
  channelCeiling: number;
  /** Ceiling on any application's in-flight count (ClaimOptions.applicationCeiling). */
  applicationCeiling: number;
  /** ClaimOptions.failingChannel; null when not set. */
  failingChannel: { afterMs: number; cap: number } | null;
  /** Channels whose secrets could not be read in an earlier round: their deliveries are not taken. */
  skipChannels: string[];
  /** Most message body bytes one claim takes (the first delivery is taken whatever its size). */
  bodyBudgetBytes: number;
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
  lease: LeaseWire | null;
}

/**
 * A claim's rows as they leave leaseDue (and cross from the writer thread): deliveries and messages as one JSON
 * text that SQLite builds itself (json_object), channels as rows (their sealed secrets are bytes). Building the
 * text in SQL skips a JavaScript object per row and its JSON.stringify on the writer thread; a structured clone of
 * the same rows cost several times as much on both threads.
 */
export interface LeaseWire {
  /** `[deliveries, messages]`: rows keyed by column name, deliveries in claim order. */
  json: string;
  channels: Row[];
}

export type RecordAndLeaseResponse =
  | ({ kind: 'lease'; id: number; ok: true } & RecordAndLeaseResult)
  | { kind: 'lease'; id: number; ok: false; error: string };

export function leaseFromWire(wire: LeaseWire | null): LeaseRows | null {
  if (wire === null) return null;
  const [deliveries, messages] = JSON.parse(wire.json) as [Row[], Row[]];
  return { deliveries, messages, channels: wire.channels };
}

/** A row as a JSON object keyed by column name, built by SQLite (the columns toDelivery and toMessage read). */
const jsonRow = (alias: string, columns: readonly string[]) =>
  `json_object(${columns.map((c) => `'${c}', ${alias}.${c}`).join(', ')})`;
const DELIVERY_JSON = jsonRow('d', [
  'id',
  'message_id',
  'application_id',
  'channel_id',
  'state',
  'attempts',
  'attempts_at_reset',
  'next_attempt_at',
  'lease_owner',
  'lease_expires_at',
  'ordering_key',
  'coalesce_key',
  'last_outcome',
  'last_status_code',
  'last_error',
  'created_at',
  'updated_at',
  'delivered_at',
]);
const MESSAGE_JSON = jsonRow('m', MESSAGE_COLUMNS);

/** The deliveries a claim takes: oldest first, within each active channel's room under its cap. */
function pickDue(sql: SqliteStatements, claim: LeaseClaim): Array<{ seq: number; channelId: string }> {
  const { now, limit, maxInFlightPerChannel, channelCeiling, applicationCeiling, failingChannel } = claim;
  const failingBefore = failingChannel === null ? null : now - failingChannel.afterMs;
  const skip = new Set(claim.skipChannels);
  const inFlight = new Map<string, number>();
  // This claimer's own leases per channel: the engine's ceilings are per worker.
  const mine = new Map<string, number>();
  // An application's room: its ceiling less what all its channels hold for this claimer (the ceiling is per worker);
  // taken down as candidates are picked.
  const appRoom = new Map<string, number>();
  for (const r of sql.all(
    `SELECT channel_id, application_id, count(*) AS n, sum(lease_owner = ?) AS mine FROM deliveries
     WHERE state = 'delivering' AND next_attempt_at > ? GROUP BY channel_id`,
    claim.owner,
    now,
  )) {
    inFlight.set(str(r, 'channel_id'), num(r, 'n'));
    mine.set(str(r, 'channel_id'), num(r, 'mine'));
    const app = str(r, 'application_id');
    appRoom.set(app, (appRoom.get(app) ?? applicationCeiling) - num(r, 'mine'));
  }
  // Per active channel with room under its cap: the time of its first claimable delivery (one index probe).
  const heads: Array<{ id: string; applicationId: string; room: number; firstDue: number }> = [];
  for (const r of sql.all(
    `SELECT c.id, c.application_id, c.max_in_flight, c.failing_since, (
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
    const applicationId = str(r, 'application_id');
    // The channel's cap counts every claimer's leases; the engine's ceiling, this claimer's.
    let cap = numOrNull(r, 'max_in_flight') ?? maxInFlightPerChannel;
    const failingSince = numOrNull(r, 'failing_since');
    if (failingBefore !== null && failingSince !== null && failingSince <= failingBefore) {
      cap = Math.min(cap, failingChannel!.cap);
    }
    const room = Math.min(
      cap - (inFlight.get(id) ?? 0),
      channelCeiling - (mine.get(id) ?? 0),
      limit,
      appRoom.get(applicationId) ?? applicationCeiling,
    );
    if (room > 0) heads.push({ id, applicationId, room, firstDue });
  }
  heads.sort((a, b) => a.firstDue - b.firstDue || (a.id < b.id ? -1 : 1));
  // Channels with the oldest work first, until they give a full batch; then oldest first across them.
  const candidates: Array<{ seq: number; at: number; channelId: string }> = [];
  for (const head of heads) {
    if (candidates.length >= limit) break;
    const room = Math.min(head.room, appRoom.get(head.applicationId) ?? applicationCeiling);
    if (room <= 0) continue;
    let taken = 0;
    // `LIMIT ? + 0`, not `LIMIT ?`: SQLite reads a bare parameter's value when it plans a LIMIT, so binding it marked
    // the statement stale and every claim compiled it again (4 % of the writer thread's samples in a drain profile).
    for (const r of sql.all(
      `SELECT d.seq, d.next_attempt_at FROM deliveries d INDEXED BY deliveries_channel_due
       WHERE d.channel_id = ? AND d.state IN ('pending', 'delivering') AND d.blocked = 0 AND d.next_attempt_at <= ?
         AND ${ORDERING_FREE}
       ORDER BY d.next_attempt_at, d.seq LIMIT ? + 0`,
      head.id,
      now,
      room,
    )) {
      candidates.push({ seq: num(r, 'seq'), at: num(r, 'next_attempt_at'), channelId: head.id });
      taken++;
    }
    appRoom.set(head.applicationId, (appRoom.get(head.applicationId) ?? applicationCeiling) - taken);
  }
  candidates.sort((a, b) => a.at - b.at || a.seq - b.seq);
  return candidates.slice(0, limit);
}

/** Leases the deliveries a claim takes, inside the caller's transaction; null when none is claimable. */
export function leaseDue(sql: SqliteStatements, claim: LeaseClaim): LeaseWire | null {
  if (claim.limit <= 0) return null;
  const picked = pickDue(sql, claim);
  if (picked.length === 0) return null;
  // The picked deliveries in claim order while their bodies fit the budget (octet_length reads a body's size, not
  // the body). Every kept row is leased: the pick ran in this transaction and nothing else writes in between.
  const kept = sql.get(
    `WITH sized AS (
       SELECT k.key AS ord, d.seq,
         sum(octet_length(m.body)) OVER (ORDER BY k.key ROWS UNBOUNDED PRECEDING) - octet_length(m.body) AS before
       FROM json_each(?) AS k CROSS JOIN deliveries d ON d.seq = k.value CROSS JOIN messages m ON m.id = d.message_id
     )
     SELECT json_group_array(seq ORDER BY ord) AS seqs FROM sized WHERE before < ? OR ord = 0`,
    JSON.stringify(picked.map((p) => p.seq)),
    claim.bodyBudgetBytes,
  );
  const seqs = str(kept!, 'seqs');
  const keptSeqs = new Set(JSON.parse(seqs) as number[]);
  const channels = sql.all(
    'SELECT * FROM channels WHERE id IN (SELECT value FROM json_each(?))',
    JSON.stringify([...new Set(picked.filter((p) => keptSeqs.has(p.seq)).map((p) => p.channelId))]),
  );
  const expiresAt = claim.now + claim.leaseMs;
  sql.run(
    `UPDATE deliveries SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?,
       leased_at = ?, updated_at = ?
     WHERE seq IN (SELECT value FROM json_each(?))`,
    claim.owner,
    expiresAt,
    expiresAt,
    claim.now,
    claim.now,
    seqs,
  );
  const deliveries = sql.get(
    `SELECT json_group_array(${DELIVERY_JSON} ORDER BY k.key) AS j
     FROM json_each(?) AS k CROSS JOIN deliveries d ON d.seq = k.value`,
    seqs,
  );
  const messages = sql.get(
    `SELECT json_group_array(${MESSAGE_JSON}) AS j FROM messages m
     WHERE m.id IN (SELECT d.message_id FROM deliveries d WHERE d.seq IN (SELECT value FROM json_each(?)))`,
    seqs,
  );
  return { json: `[${str(deliveries!, 'j')},${str(messages!, 'j')}]`, channels };
}

/**
 * Records one attempt inside the caller's transaction: moves the delivery on (only while the lease is the
 * caller's), logs the attempt and disables the channel when asked. The channel's failure streak is the caller's
 * (FailureStreaks: once per channel and batch). `channelId`: the recorded delivery's channel.
 */
export function recordAttemptRow(
  sql: SqliteStatements,
  input: RecordAttemptInput,
  now: number,
): { recorded: false; channelsChanged: false } | { recorded: true; channelsChanged: boolean; channelId: string } {
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
  let channelsChanged = false;
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
  return { recorded: true, channelsChanged, channelId };
}

/**
 * The failure streaks (channels.failing_since) a batch of recorded attempts leaves, written once per channel. In
 * order, a success ends a channel's streak and the first failure after it starts one; with no success in the batch
 * a failure starts a streak only where none is running. The same end state as writing after every attempt.
 */
class FailureStreaks {
  readonly #byChannel = new Map<string, { okSeen: boolean; failingSince: number | null }>();

  add(channelId: string, ok: boolean, startedAt: number): void {
    let streak = this.#byChannel.get(channelId);
    if (streak === undefined) {
      streak = { okSeen: false, failingSince: null };
      this.#byChannel.set(channelId, streak);
    }
    if (ok) {
      streak.okSeen = true;
      streak.failingSince = null;
    } else if (streak.failingSince === null) {
      streak.failingSince = startedAt;
    }
  }

  /** Writes the streaks; true when a channel row changed. */
  write(sql: SqliteStatements): boolean {
    let changed = 0;
    for (const [channelId, { okSeen, failingSince }] of this.#byChannel) {
      if (!okSeen) {
        changed += sql.run(
          'UPDATE channels SET failing_since = ? WHERE id = ? AND failing_since IS NULL',
          failingSince,
          channelId,
        );
      } else if (failingSince === null) {
        changed += sql.run(
          'UPDATE channels SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL',
          channelId,
        );
      } else {
        changed += sql.run(
          'UPDATE channels SET failing_since = ? WHERE id = ? AND failing_since IS NOT ?',
          failingSince,
          channelId,
          failingSince,
        );
      }
    }
    return changed > 0;
  }
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
  const streaks = new FailureStreaks();
  for (const input of inputs) {
    const r = recordAttemptRow(sql, input, now);
    recorded.push(r.recorded);
    if (!r.recorded) continue;
    if (r.channelsChanged) channelsChanged = true;
    streaks.add(r.channelId, input.attempt.ok, input.attempt.startedAt);
  }
  if (streaks.write(sql)) channelsChanged = true;
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
