import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { StoreConfigError, StoreError, StoreInputError, StoreIntegrityError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import {
  type ListQuery,
  listAttemptsQuery,
  listDeliveriesQuery,
  listEventsQuery,
  listMessagesQuery,
  toPage,
  toPostgresPlaceholders,
} from './list-queries.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';
import {
  bytes,
  createSecretsCodec,
  num,
  numOrNull,
  type Row,
  str,
  toApiKey,
  toApplication,
  toAttempt,
  toChannel,
  toDelivery,
  toEvent,
  toLazyChannel,
  toMessage,
  toRejectionCode,
  MESSAGE_COLUMNS,
} from './rows.ts';
import {
  checkPlans,
  claimBodyBudgetOf,
  DELIVERY_STATES,
  duplicateOrConflict,
  MAX_CLAIM_ROUNDS,
  newDelivery,
  newMessageRecord,
  PRUNE_BATCH,
  SECRETS_UNREADABLE_EVENT,
  timeOrderedId,
  unreadableChannelReason,
  validateCredits,
} from './store-common.ts';
import type {
  Channel,
  ChannelOptions,
  ClaimedDelivery,
  DeliveryPlan,
  DeliveryState,
  NewMessage,
  PublishResult,
  RecordAttemptInput,
  Store,
  UnreadableChannel,
} from './types.ts';

export interface PostgresStoreOptions {
  /** `postgres://` or `postgresql://` connection URL. */
  url: string;
  keyring: Keyring;
  /** Connections in the pool (default 10); one more is used for LISTEN once onNewWork is called. */
  poolSize?: number;
  clock?: () => number;
  /** Most message body bytes one claim takes; the first delivery is taken whatever its size. Default 64 MiB. */
  claimBodyBudgetBytes?: number;
}

const NEW_WORK_CHANNEL = 'herald_new_work';
/** Arbitrary constant: serialises migrations of all Herald processes sharing one database. */
const MIGRATION_LOCK_KEY = 4_712_389_201;
const MAX_PRUNE_BATCHES = 100_000;
const MAX_PUBLISH_TRIES = 3;
/** How often (in claim-clock time) a store sweeps stale ordering flags; see healOrdering. */
const HEAL_INTERVAL_MS = 10_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5_000;

const INT8_OID = 20;
/** Times and counters are bigint columns holding epoch milliseconds: safe as JS numbers. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const CHANNEL_COLUMNS = [
  'id',
  'application_id',
  'kind',
  'is_active',
  'include_image_data',
  'config',
  'secrets',
  'options',
  'max_in_flight',
  'disabled_reason',
  'failing_since',
  'created_at',
  'updated_at',
];
const prefixed = (alias: string, cols: readonly string[], prefix: string) =>
  cols.map((c) => `${alias}.${c} AS ${prefix}${c}`).join(', ');

// Claims and attempt records commit asynchronously (synchronous_commit = off for their own transaction only, set
// inside the statement so that no extra round trip is needed): the commit returns before its WAL is flushed, and a
// server crash can lose the last few hundred milliseconds of them. That is safe under at-least-once delivery: a lost
// claim leaves the delivery pending (claimed again), a lost attempt record leaves it leased until the lease expires,
// then it is sent again (receivers drop the duplicate by its webhook-id / message-id). WAL is flushed in order, so any
// later synchronous commit (a publish, a channel change) makes every earlier claim and record durable too.
// Referenced from the UPDATE's FROM list: whenever the statement changes a row, the setting was applied.
const ASYNC_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true) AS async_commit) ac`;

// The ordering rule on a queue row `d` (store-common's ORDERING_FREE, read in delivery_queue, which holds open
// deliveries only): no earlier delivery of the same channel and ordering key is still open.
const QUEUE_ORDERING_FREE = `(d.ordering_key IS NULL OR NOT EXISTS (
  SELECT 1 FROM delivery_queue e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
    AND e.seq < d.seq))`;

// Giving a lease back in delivery_queue (store-common's GIVE_BACK_LEASE, for the queue's columns): pending again, due
// when it was claimed.
const QUEUE_GIVE_BACK = `state = 'pending', lease_owner = NULL, next_attempt_at = COALESCE(leased_at, next_attempt_at),
  leased_at = NULL`;

// A claim returns its channel's columns on the first row of each channel only (NULL on the others): the store reads
// each channel once (readClaimRows), and a batch of 128 from one channel no longer carries its configuration and
// sealed secrets 128 times, to be sent, parsed and dropped.
const CLAIM_CHANNEL_COLUMNS = CHANNEL_COLUMNS.filter((c) => c !== 'id')
  .map((c) => `CASE WHEN row_number() OVER per_channel = 1 THEN c.${c} END AS c_${c}`)
  .join(', ');

/** The largest PostgreSQL integer: "no ceiling" for a claim's channel cap. */
const MAX_INT4 = 2_147_483_647;

// One round trip, in delivery_queue (open deliveries only). Per active channel, its leases are counted
// (delivery_queue_leased holds leased rows only) and one index probe finds its first claimable delivery. The channels
// with the oldest work (at most one per batch slot) count their claimable deliveries up to their room under the cap,
// and share the batch in that order, each up to what it has: no more rows than the batch are locked. When a single
// channel has room, both probes are skipped (the batch is its own, and the candidates scan finds what it has): each
// walks the same head of the index, where the entries of rows just claimed wait to be cleaned up. The rows are locked
// with SKIP LOCKED (concurrent claimers take disjoint rows), leased, and returned with their delivery, message and
// channel. Work behind a saturated channel or an ordering key is never scanned. (channel_id leads the ORDER BY so
// the planner walks delivery_queue_due even when one channel holds most rows.) A channel's cap is its own or the
// default ($2), and $9 for a channel whose failure streak began at or before $8, counting every claimer's leases.
// The engine's ceilings count this claimer's ($4) leases only, so that each added worker adds room: a channel holds
// at most $7 of them, an application's active channels together at most $10 (the batch is shared within what it has
// left).
const CLAIM_SQL = `
WITH counted AS (
  SELECT c.id, c.application_id, i.mine,
    LEAST(
      LEAST(COALESCE(c.max_in_flight, $2),
        CASE WHEN c.failing_since <= $8::bigint THEN $9::int ELSE COALESCE(c.max_in_flight, $2) END) - i.n,
      $7::int - i.mine) AS ch_room
  FROM channels c
  CROSS JOIN LATERAL (
    SELECT count(*) AS n, count(*) FILTER (WHERE l.lease_owner = $4) AS mine FROM delivery_queue l
    WHERE l.channel_id = c.id AND l.state = 'delivering' AND l.next_attempt_at > $1
  ) i
  WHERE c.is_active
), open AS (
  SELECT id, application_id, app_room, LEAST(ch_room, $3, app_room) AS room, count(*) OVER () = 1 AS alone
  FROM (
    SELECT id, application_id, ch_room, ($10::int - sum(mine) OVER (PARTITION BY application_id))::bigint AS app_room
    FROM counted
  ) k
  WHERE LEAST(ch_room, $3, app_room) > 0
), heads AS (
  -- A channel alone with room needs neither its first due time nor its count (below): the batch is all its own.
  SELECT k.id, k.application_id, k.app_room, k.room, k.alone, h.first_due
  FROM open k
  CROSS JOIN LATERAL (
    SELECT CASE WHEN k.alone THEN $1::bigint ELSE (
      SELECT d.next_attempt_at FROM delivery_queue d
      WHERE d.channel_id = k.id AND NOT d.blocked AND d.next_attempt_at <= $1 AND ${QUEUE_ORDERING_FREE}
      ORDER BY d.channel_id, d.next_attempt_at, d.seq LIMIT 1) END AS first_due
  ) h
  WHERE h.first_due IS NOT NULL
), oldest AS (
  SELECT o.id, o.application_id, o.app_room, o.first_due, a.due
  FROM (SELECT id, application_id, app_room, room, alone, first_due FROM heads ORDER BY first_due, id LIMIT $3) o
  CROSS JOIN LATERAL (
    SELECT CASE WHEN o.alone THEN o.room ELSE (
      SELECT count(*) FROM (
        SELECT 1 FROM delivery_queue d
        WHERE d.channel_id = o.id AND NOT d.blocked AND d.next_attempt_at <= $1 AND ${QUEUE_ORDERING_FREE}
        ORDER BY d.channel_id, d.next_attempt_at, d.seq LIMIT o.room
      ) q) END AS due
  ) a
), chosen AS (
  -- Oldest first: each channel's share is what it has, within what the batch and its application have left.
  SELECT id, share FROM (
    SELECT id, LEAST(
      due,
      $3 - COALESCE(sum(due) OVER (ORDER BY first_due, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
      app_room - COALESCE(sum(due) OVER (PARTITION BY application_id ORDER BY first_due, id
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS share
    FROM oldest
  ) budget WHERE share > 0
), candidates AS (
  SELECT x.ctid, x.seq, x.next_attempt_at, x.message_id, x.body_bytes FROM chosen ch CROSS JOIN LATERAL (
    SELECT d.ctid, d.seq, d.next_attempt_at, d.message_id, d.body_bytes FROM delivery_queue d
    WHERE d.channel_id = ch.id AND NOT d.blocked AND d.next_attempt_at <= $1 AND ${QUEUE_ORDERING_FREE}
    ORDER BY d.channel_id, d.next_attempt_at, d.seq
    LIMIT ch.share
    FOR UPDATE OF d SKIP LOCKED
  ) x
), ordered AS (
  -- Oldest first, while the message bodies before each fit the budget ($6). The size was written on the delivery
  -- at publish (migration 6); for a delivery from before, octet_length reads a (toasted) body's size, not the body.
  -- Locked rows left out are unlocked at commit, still pending.
  SELECT c.ctid, c.seq, c.next_attempt_at,
    row_number() OVER w AS n, sum(b.bytes) OVER w - b.bytes AS before
  FROM (SELECT * FROM candidates ORDER BY next_attempt_at, seq LIMIT $3) c
  CROSS JOIN LATERAL (SELECT COALESCE(c.body_bytes,
    (SELECT octet_length(m.body) FROM messages m WHERE m.id = c.message_id LIMIT 1)) AS bytes) b
  WINDOW w AS (ORDER BY c.next_attempt_at, c.seq ROWS UNBOUNDED PRECEDING)
), picked AS (
  SELECT ctid, seq, next_attempt_at FROM ordered WHERE n = 1 OR before < $6::bigint
), leased AS (
  -- The rows are locked, so their ctid is stable: a TID scan, never a join that could scan the table. The lease
  -- lives in the queue row only: the deliveries row is not written (delivery_view shows the two together).
  UPDATE delivery_queue q SET state = 'delivering', lease_owner = $4, next_attempt_at = $5, leased_at = $1
  FROM ${ASYNC_COMMIT} WHERE q.ctid = ANY (ARRAY(SELECT ctid FROM picked)) AND ac.async_commit = 'off'
  RETURNING q.delivery_id, q.seq, q.channel_id, q.message_id
)
SELECT d.*, m.*, c.id AS c_id, ${CLAIM_CHANNEL_COLUMNS}
FROM leased l
JOIN picked p ON p.seq = l.seq
-- LIMIT 1 keeps these primary-key probes per leased row whatever the (generic) plan estimates.
CROSS JOIN LATERAL (
  SELECT d.seq, d.id, d.message_id, d.application_id, d.channel_id, 'delivering' AS state, d.attempts,
    d.attempts_at_reset, $5::bigint AS next_attempt_at, $4::text AS lease_owner, $5::bigint AS lease_expires_at,
    d.ordering_key, d.coalesce_key, d.last_outcome, d.last_status_code, d.last_error, d.created_at,
    GREATEST(d.updated_at, $1::bigint) AS updated_at, d.delivered_at
  FROM deliveries d WHERE d.id = l.delivery_id LIMIT 1
) d
CROSS JOIN LATERAL (SELECT ${prefixed('m', MESSAGE_COLUMNS, 'm_')} FROM messages m WHERE m.id = l.message_id LIMIT 1) m
JOIN channels c ON c.id = l.channel_id
WINDOW per_channel AS (PARTITION BY l.channel_id ORDER BY p.next_attempt_at, p.seq)
ORDER BY p.next_attempt_at, p.seq`;

// One round trip: move the delivery on (only if the lease is still ours), log the attempt, keep the channel's
// failure streak, and disable the channel (with an event) when asked. Unblocking the next delivery of its
// ordering key is a second statement (UNBLOCK_HEADS_SQL), so that it sees a publish that waited for this one.
const RECORD_ATTEMPT_SQL = `
WITH dequeued AS (
  -- The queue row first (the lock order): it leaves the queue on a final state, or waits for its retry.
  DELETE FROM delivery_queue q
  WHERE q.delivery_id = $1 AND q.lease_owner = $2 AND q.state = 'delivering' AND $3::text <> 'pending'
  RETURNING q.delivery_id
), requeued AS (
  UPDATE delivery_queue q SET state = 'pending', next_attempt_at = $4, lease_owner = NULL, leased_at = NULL
  WHERE q.delivery_id = $1 AND q.lease_owner = $2 AND q.state = 'delivering' AND $3::text = 'pending'
  RETURNING q.delivery_id
), upd AS (
  UPDATE deliveries SET state = $3::text, attempts = attempts + 1, next_attempt_at = $4, lease_owner = NULL,
    lease_expires_at = NULL, leased_at = NULL, last_outcome = $5, last_status_code = $6, last_error = $7,
    updated_at = $8, delivered_at = CASE WHEN $3::text = 'delivered' THEN $8 ELSE delivered_at END
  FROM ${ASYNC_COMMIT}
  WHERE id = $1 AND state = 'pending' AND ac.async_commit = 'off'
    AND id IN (SELECT delivery_id FROM dequeued UNION ALL SELECT delivery_id FROM requeued)
  RETURNING seq, id, message_id, channel_id, application_id, attempts, ordering_key
), ins AS (
  INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at,
    duration_ms, ok, outcome, status_code, broker_reply, error, response_excerpt)
  SELECT $9, id, message_id, channel_id, application_id, attempts, $10, $11, $12, $5, $6, $13, $7, $14 FROM upd
), ch AS (
  UPDATE channels c SET
    failing_since = CASE WHEN $12::boolean THEN NULL ELSE COALESCE(c.failing_since, $10) END,
    is_active = CASE WHEN $15::text IS NULL THEN c.is_active ELSE false END,
    disabled_reason = CASE WHEN $15::text IS NULL OR NOT c.is_active THEN c.disabled_reason ELSE $15::text END,
    updated_at = CASE WHEN $15::text IS NULL OR NOT c.is_active THEN c.updated_at ELSE $8 END
  FROM upd
  WHERE c.id = upd.channel_id AND (($12::boolean AND c.failing_since IS NOT NULL)
    OR (NOT $12::boolean AND c.failing_since IS NULL) OR ($15::text IS NOT NULL AND c.is_active))
), ev AS (
  INSERT INTO events (id, application_id, channel_id, type, detail, created_at)
  SELECT $16, upd.application_id, upd.channel_id, 'channel.disabled', $15::text, $8
  FROM upd JOIN channels c ON c.id = upd.channel_id
  WHERE $15::text IS NOT NULL AND c.is_active
)
SELECT channel_id, ordering_key FROM upd`;

// The batch form of RECORD_ATTEMPT_SQL for inputs without disableChannel and with distinct deliveries:
// one round trip for the whole batch. The channel's failure streak is the one the attempts leave in input
// order: cleared by the last success, restarted by the first failure after it.
const RECORD_ATTEMPTS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(ord integer, delivery_id text, owner text, state text,
    next_attempt_at bigint, attempt_id text, started_at bigint, duration_ms integer, ok boolean, outcome text,
    status_code integer, broker_reply text, error text, response_excerpt text)
), dequeued AS (
  -- The queue rows first (the lock order), while the lease is ours: they leave the queue on a final state, or wait
  -- for their retry.
  DELETE FROM delivery_queue q USING input x
  WHERE q.delivery_id = x.delivery_id AND q.lease_owner = x.owner AND q.state = 'delivering' AND x.state <> 'pending'
  RETURNING q.delivery_id
), requeued AS (
  UPDATE delivery_queue q SET state = 'pending', next_attempt_at = x.next_attempt_at, lease_owner = NULL,
    leased_at = NULL
  FROM input x
  WHERE q.delivery_id = x.delivery_id AND q.lease_owner = x.owner AND q.state = 'delivering' AND x.state = 'pending'
  RETURNING q.delivery_id
), upd AS (
  UPDATE deliveries d SET state = x.state, attempts = d.attempts + 1, next_attempt_at = x.next_attempt_at,
    lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL, last_outcome = x.outcome,
    last_status_code = x.status_code, last_error = x.error, updated_at = $2,
    delivered_at = CASE WHEN x.state = 'delivered' THEN $2 ELSE d.delivered_at END
  FROM input x, ${ASYNC_COMMIT}
  WHERE d.id = x.delivery_id AND d.state = 'pending' AND ac.async_commit = 'off'
    AND d.id = ANY (ARRAY(SELECT delivery_id FROM dequeued UNION ALL SELECT delivery_id FROM requeued))
  RETURNING d.seq, d.id, d.message_id, d.channel_id, d.application_id, d.attempts, d.ordering_key, x.ord,
    x.state AS new_state, x.attempt_id, x.started_at, x.duration_ms, x.ok, x.outcome, x.status_code,
    x.broker_reply, x.error, x.response_excerpt
), ins AS (
  INSERT INTO attempts (id, delivery_id, message_id, channel_id, application_id, attempt_number, started_at,
    duration_ms, ok, outcome, status_code, broker_reply, error, response_excerpt)
  SELECT attempt_id, id, message_id, channel_id, application_id, attempts, started_at, duration_ms, ok, outcome,
    status_code, broker_reply, error, response_excerpt
  FROM upd
), last_ok AS (
  SELECT channel_id, max(ord) FILTER (WHERE ok) AS ord FROM upd GROUP BY channel_id
), streak AS (
  SELECT u.channel_id, l.ord AS last_ok,
    (array_agg(u.started_at ORDER BY u.ord) FILTER (WHERE NOT u.ok AND u.ord > COALESCE(l.ord, -1)))[1] AS fail_start
  FROM upd u JOIN last_ok l ON l.channel_id = u.channel_id
  GROUP BY u.channel_id, l.ord
), ch AS (
  UPDATE channels c SET failing_since = v.failing_since
  FROM (
    SELECT s.channel_id, CASE WHEN s.fail_start IS NULL THEN NULL WHEN s.last_ok IS NOT NULL THEN s.fail_start
      ELSE COALESCE(c2.failing_since, s.fail_start) END AS failing_since
    FROM streak s JOIN channels c2 ON c2.id = s.channel_id
  ) v
  WHERE c.id = v.channel_id AND c.failing_since IS DISTINCT FROM v.failing_since
)
SELECT ord, channel_id, ordering_key, new_state FROM upd`;

// Ordering flags, race-free with publish: after deliveries reached a final state (committed, or earlier in the
// same transaction), the first open delivery of each of their (channel, ordering key) is unblocked. A publish
// that saw one of them open holds a share lock on it (PUBLISH_SQL), so the state change above waited for that
// publish to commit, and this later statement (a new snapshot) sees the delivery it flagged.
const UNBLOCK_HEADS_SQL = `
UPDATE delivery_queue n SET blocked = false
FROM (SELECT DISTINCT channel_id, ordering_key FROM jsonb_to_recordset($1::jsonb) AS k(channel_id text, ordering_key text)) k
WHERE n.blocked AND n.seq = (SELECT min(e.seq) FROM delivery_queue e WHERE e.channel_id = k.channel_id
  AND e.ordering_key = k.ordering_key)`;

// Publish in one statement: the message and one delivery per planned channel that is still active (the channel
// list was read just before, outside any transaction), or nothing at all; an idempotency key already taken
// stores nothing either (stored = 0). The notification is delivered at commit, to every process listening.
// Each delivery also gets its queue row. A delivery is flagged blocked when an earlier one of its ordering key is
// open (the queue holds open deliveries only); that one's queue row is share-locked until
// commit, so whoever finishes it waits and then unblocks the new one (UNBLOCK_HEADS_SQL). One being changed right
// now is skipped: the flag may then be false too early, which is harmless (claims check the rule itself).
const PUBLISH_SQL = `
WITH plan AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS p(id text, channel_id text, ordering_key text, coalesce_key text)
), live AS (
  SELECT p.* FROM plan p JOIN channels c ON c.id = p.channel_id WHERE c.application_id = $3::text AND c.is_active
), msg AS (
  INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash, created_at)
  SELECT $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::bigint
  WHERE EXISTS (SELECT 1 FROM live)
  ON CONFLICT (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id
), ins AS (
  INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, ordering_key,
    coalesce_key, created_at, updated_at, body_bytes)
  SELECT l.id, m.id, $3::text, l.channel_id, 'pending', $10::bigint, l.ordering_key, l.coalesce_key, $10::bigint,
    $10::bigint, octet_length($5::text)
  FROM live l CROSS JOIN msg m
  RETURNING id, seq, message_id, channel_id, ordering_key, coalesce_key, body_bytes
), queued AS (
  INSERT INTO delivery_queue (delivery_id, seq, message_id, channel_id, state, next_attempt_at, blocked,
    ordering_key, coalesce_key, body_bytes)
  SELECT i.id, i.seq, i.message_id, i.channel_id, 'pending', $10::bigint,
    i.ordering_key IS NOT NULL AND EXISTS (
      SELECT 1 FROM delivery_queue e WHERE e.channel_id = i.channel_id AND e.ordering_key = i.ordering_key
      FOR SHARE SKIP LOCKED),
    i.ordering_key, i.coalesce_key, i.body_bytes
  FROM ins i
), wake AS (
  SELECT pg_notify('${NEW_WORK_CHANNEL}', '') FROM msg
)
SELECT (SELECT count(*) FROM live) AS live, (SELECT count(*) FROM msg) AS stored,
  (SELECT array_agg(channel_id) FROM ins) AS channel_ids, (SELECT count(*) FROM wake) AS woken`;

/** Rolls back a coalescing publish that stored nothing, carrying the statement's answer out. */
class PublishRolledBack extends Error {
  readonly row: Row | undefined;
  constructor(row: Row | undefined) {
    super('publish stored nothing');
    this.row = row;
  }
}

// Puts the deliveries of a CTE `moved` (just set back to pending) back in the queue.
const REQUEUE_SQL = `INSERT INTO delivery_queue (delivery_id, seq, message_id, channel_id, state, next_attempt_at,
  ordering_key, coalesce_key, body_bytes)
  SELECT id, seq, message_id, channel_id, 'pending', next_attempt_at, ordering_key, coalesce_key, body_bytes FROM moved
  ON CONFLICT (delivery_id) DO NOTHING`;

/** Gives leases back: the queue rows matching `where` (a condition on delivery_queue; leased rows only). */
function giveBackSql(where: string): string {
  return `UPDATE delivery_queue SET ${QUEUE_GIVE_BACK} WHERE state = 'delivering' AND ${where}`;
}

const REDELIVER_SET = `state = 'pending', next_attempt_at = $1, lease_owner = NULL, lease_expires_at = NULL,
  leased_at = NULL, attempts_at_reset = attempts, updated_at = $1`;

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Adds Herald's session settings to the URL's `options` (keeping any already there, e.g. a search_path):
 * JIT off, since compiling the claim's plan costs seconds for a sub-millisecond statement.
 */
function withSessionSettings(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new StoreConfigError('STORE_URL_INVALID', 'PostgreSQL URL is not a valid URL', { cause });
  }
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', existing === null ? '-c jit=off' : `${existing} -c jit=off`);
  return parsed.toString();
}

/** Connects a pool to PostgreSQL and applies pending migrations. */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const store = openPostgresStore(options);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openPostgresStore(options: PostgresStoreOptions): Store {
  const clock = options.clock ?? Date.now;
  const claimBodyBudget = claimBodyBudgetOf(options.claimBodyBudgetBytes);
  const codec = createSecretsCodec(options.keyring);
  const url = withSessionSettings(options.url);
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, types });
  // An idle client's connection dropped: the pool discards it and the next query reconnects.
  pool.on('error', () => {});

  const rows = async (db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> =>
    (await db.query(sql, params)).rows as Row[];
  // Hot statements are prepared once per connection under a name: no re-parsing and re-planning per call.
  const prepared = async (db: Queryable, name: string, text: string, values: unknown[]): Promise<Row[]> =>
    (await db.query({ name, text, values })).rows as Row[];
  const one = async (db: Queryable, sql: string, params: unknown[] = []): Promise<Row | undefined> =>
    (await rows(db, sql, params))[0];
  const count = async (db: Queryable, sql: string, params: unknown[] = []): Promise<number> =>
    (await db.query(sql, params)).rowCount ?? 0;
  const list = async (lq: ListQuery) => rows(pool, toPostgresPlaceholders(lq.sql), lq.params);

  const tx = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
  const notifyNewWork = async () => {
    await pool.query(`SELECT pg_notify('${NEW_WORK_CHANNEL}', '')`);
  };

  // LISTEN on a dedicated connection, reconnecting with backoff; a reconnect also wakes the listeners,
  // since notifications sent while disconnected are lost.
  const listeners = new Set<() => void>();
  let listenClient: pg.Client | null = null;
  let connecting = false;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let reconnectDelayMs = RECONNECT_MIN_MS;
  let closed = false;
  const fire = () => {
    for (const listener of listeners) queueMicrotask(listener);
  };
  const scheduleReconnect = () => {
    if (closed || reconnectTimer !== null) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      startListening();
    }, reconnectDelayMs);
    reconnectTimer.unref();
    reconnectDelayMs = Math.min(reconnectDelayMs * 2, RECONNECT_MAX_MS);
  };
  const startListening = () => {
    if (closed || listenClient !== null || connecting) return;
    connecting = true;
    const client = new pg.Client({ connectionString: url, types });
    let failed = false;
    const onFailure = () => {
      if (failed) return;
      failed = true;
      if (listenClient === client) listenClient = null;
      client.end().catch(() => {});
      scheduleReconnect();
    };
    client.on('notification', fire);
    client.on('error', onFailure);
    client.on('end', onFailure);
    client
      .connect()
      .then(() => client.query(`LISTEN ${NEW_WORK_CHANNEL}`))
      .then(() => {
        connecting = false;
        if (closed || failed) {
          client.end().catch(() => {});
          return;
        }
        listenClient = client;
        reconnectDelayMs = RECONNECT_MIN_MS;
        fire();
      })
      .catch(() => {
        connecting = false;
        onFailure();
      });
  };

  const requireApplication = async (db: Queryable, applicationId: string) => {
    if ((await one(db, 'SELECT 1 FROM applications WHERE id = $1', [applicationId])) === undefined) {
      throw new StoreInputError('REFERENCE_NOT_FOUND', `application ${applicationId} does not exist`);
    }
  };
  const deliveriesOf = async (db: Queryable, messageId: string) =>
    (await rows(db, 'SELECT * FROM delivery_view WHERE message_id = $1 ORDER BY seq', [messageId])).map(toDelivery);
  const existingMessage = async (db: Queryable, applicationId: string, key: string) => {
    const row = await one(db, 'SELECT * FROM messages WHERE application_id = $1 AND idempotency_key = $2', [
      applicationId,
      key,
    ]);
    return row === undefined ? undefined : toMessage(row);
  };
  const repeatOf = async (db: Queryable, applicationId: string, key: string, bodyHash: string) => {
    const first = await existingMessage(db, applicationId, key);
    if (first === undefined) return undefined;
    const deliveries = await deliveriesOf(db, first.id);
    return duplicateOrConflict(first, bodyHash, () => deliveries);
  };

  // Deliveries put back to pending may come before others of their ordering key: recompute the flags of
  // every open delivery of the keys concerned (recovery is rare; the flags only spare claims a scan).
  const refreshOrdering = async (db: Queryable, ids: string[]) => {
    if (ids.length === 0) return;
    await db.query(
      `WITH pairs AS (
         SELECT DISTINCT channel_id, ordering_key FROM delivery_queue
         WHERE delivery_id = ANY($1::text[]) AND ordering_key IS NOT NULL
       )
       UPDATE delivery_queue d SET blocked = EXISTS (
         SELECT 1 FROM delivery_queue e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
           AND e.seq < d.seq)
       FROM pairs p
       WHERE d.channel_id = p.channel_id AND d.ordering_key = p.ordering_key`,
      [ids],
    );
  };
  // Safety net: a delivery can still be left flagged blocked although nothing open is before it (a worker that
  // died between an attempt and its unblock statement, a recovery racing a publish); a periodic sweep frees it.
  // Publish racing the predecessor's last attempt no longer does (see UNBLOCK_HEADS_SQL).
  let lastHealAt = Number.NEGATIVE_INFINITY;
  const healOrdering = async (now: number) => {
    if (now - lastHealAt < HEAL_INTERVAL_MS && now >= lastHealAt) return;
    lastHealAt = now;
    await pool.query(
      `UPDATE delivery_queue d SET blocked = false
       WHERE d.blocked AND NOT EXISTS (
         SELECT 1 FROM delivery_queue e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
           AND e.seq < d.seq)`,
    );
  };

  // Deliveries of a channel whose secrets cannot be decrypted go back to pending (no attempt counted) and the
  // channel is deactivated with an event, once: only while still active and unchanged since the claim read it
  // (an operator who just re-entered the secrets is not overruled). Its work then waits for the operator.
  const quarantine = async (
    setAside: Array<{ row: Row; error: StoreIntegrityError; deliveryIds: string[] }>,
    owner: string,
    now: number,
  ): Promise<UnreadableChannel[]> =>
    tx(async (client) => {
      await client.query(giveBackSql('delivery_id = ANY($1::text[]) AND lease_owner = $2'), [
        setAside.flatMap((a) => a.deliveryIds),
        owner,
      ]);
      const out: UnreadableChannel[] = [];
      for (const { row, error } of setAside) {
        const channelId = str(row, 'c_id');
        const applicationId = str(row, 'c_application_id');
        const reason = unreadableChannelReason(error.code);
        const disabled = await rows(
          client,
          `WITH off AS (
             UPDATE channels SET is_active = false, disabled_reason = $2, updated_at = $3
             WHERE id = $1 AND is_active AND updated_at = $4 RETURNING id, application_id
           )
           INSERT INTO events (id, application_id, channel_id, type, detail, created_at)
           SELECT $5, application_id, id, $6, $7, $3 FROM off RETURNING id`,
          [
            channelId,
            reason,
            now,
            num(row, 'c_updated_at'),
            timeOrderedId(),
            SECRETS_UNREADABLE_EVENT,
            `${reason}. ${error.message}`,
          ],
        );
        out.push({ applicationId, channelId, code: error.code, disabled: disabled.length > 0 });
      }
      return out;
    });

  const unblockHeads = async (db: Queryable, finished: Row[]) => {
    const keys = finished.filter((r) => typeof r['ordering_key'] === 'string');
    if (keys.length === 0) return;
    await prepared(db, 'herald_unblock_heads', UNBLOCK_HEADS_SQL, [
      JSON.stringify(keys.map((r) => ({ channel_id: r['channel_id'], ordering_key: r['ordering_key'] }))),
    ]);
  };

  const recordOne = async (db: Queryable, input: RecordAttemptInput, now: number): Promise<boolean> => {
    const { attempt, resolution } = input;
    const [row] = await prepared(db, 'herald_record_attempt', RECORD_ATTEMPT_SQL, [
      input.deliveryId,
      input.owner,
      resolution.state,
      resolution.state === 'pending' ? resolution.nextAttemptAt : now,
      attempt.outcome,
      attempt.statusCode,
      attempt.error,
      now,
      timeOrderedId(),
      attempt.startedAt,
      Math.round(attempt.durationMs),
      attempt.ok,
      attempt.brokerReply,
      attempt.responseExcerpt,
      input.disableChannel ?? null,
      timeOrderedId(),
    ]);
    if (row === undefined) return false;
    if (resolution.state !== 'pending') await unblockHeads(db, [row]);
    return true;
  };

  type SetAside = { row: Row; error: StoreIntegrityError; deliveryIds: string[] };
  // The rows of CLAIM_SQL: each channel is read (and its secrets decrypted) once; a channel whose secrets cannot
  // be read is set aside with its deliveries.
  const readClaimRows = (result: Row[]): { claimed: ClaimedDelivery[]; setAside: SetAside[] } => {
    const claimed: ClaimedDelivery[] = [];
    const channels = new Map<string, Channel | null>();
    const setAside: SetAside[] = [];
    for (const r of result) {
      const channelId = str(r, 'channel_id');
      let channel = channels.get(channelId);
      if (channel === undefined) {
        try {
          channel = toChannel(r, codec, 'c_');
        } catch (error) {
          if (!(error instanceof StoreIntegrityError)) throw error;
          channel = null;
          setAside.push({ row: r, error, deliveryIds: [] });
        }
        channels.set(channelId, channel);
      }
      if (channel === null) {
        setAside.find((a) => str(a.row, 'channel_id') === channelId)!.deliveryIds.push(str(r, 'id'));
        continue;
      }
      claimed.push({ delivery: toDelivery(r), message: toMessage(r, 'm_'), channel });
    }
    return { claimed, setAside };
  };
  // RECORD_ATTEMPTS_SQL takes the batch as one JSON document; null when the batch needs the row-by-row path
  // (a delivery twice, or an input that disables its channel).
  const attemptBatch = (inputs: RecordAttemptInput[], now: number): string | null => {
    if (new Set(inputs.map((i) => i.deliveryId)).size !== inputs.length) return null;
    if (inputs.some((i) => i.disableChannel !== undefined)) return null;
    return JSON.stringify(
      inputs.map((input, ord) => ({
        ord,
        delivery_id: input.deliveryId,
        owner: input.owner,
        state: input.resolution.state,
        next_attempt_at: input.resolution.state === 'pending' ? input.resolution.nextAttemptAt : now,
        attempt_id: timeOrderedId(),
        started_at: input.attempt.startedAt,
        duration_ms: Math.round(input.attempt.durationMs),
        ok: input.attempt.ok,
        outcome: input.attempt.outcome,
        status_code: input.attempt.statusCode,
        broker_reply: input.attempt.brokerReply,
        error: input.attempt.error,
        response_excerpt: input.attempt.responseExcerpt,
      })),
    );
  };

  type PublishTry = { done: true; result: PublishResult } | { done: false };
  type PublishRow = { id: string; channel_id: string; ordering_key: string | null; coalesce_key: string | null };
  // Nothing to publish to (no active channel, an empty plan, or every planned channel deactivated meanwhile):
  // a repeat of an idempotency key still answers with its first message.
  const noActiveChannel = async (message: NewMessage): Promise<PublishTry> => {
    if (message.idempotencyKey != null) {
      const repeat = await repeatOf(pool, message.applicationId, message.idempotencyKey, message.bodyHash);
      if (repeat !== undefined) return { done: true, result: repeat };
    }
    return { done: true, result: { ok: false, reason: 'no_active_channel' } };
  };
  const publishOnce = async (
    message: NewMessage,
    plan: (channels: Channel[]) => DeliveryPlan[],
    now: number,
  ): Promise<PublishTry> => {
    // The plan needs ids and options only: secrets stay sealed (decrypted if the callback reads them).
    const channels = (
      await prepared(
        pool,
        'herald_active_channels',
        'SELECT * FROM channels WHERE application_id = $1 AND is_active ORDER BY created_at, id',
        [message.applicationId],
      )
    ).map((r) => toLazyChannel(r, codec));
    if (channels.length === 0) return noActiveChannel(message);
    const plans = checkPlans(plan(channels), channels);
    if (plans.length === 0) return noActiveChannel(message);
    const stored = newMessageRecord(message, now);
    const planRows: PublishRow[] = plans.map((p) => ({
      id: timeOrderedId(),
      channel_id: p.channelId,
      ordering_key: p.orderingKey,
      coalesce_key: p.coalesceKey,
    }));
    const values = [
      JSON.stringify(planRows),
      stored.id,
      stored.applicationId,
      stored.type,
      stored.body,
      stored.correlationId,
      stored.traceparent,
      stored.idempotencyKey,
      stored.bodyHash,
      now,
    ];
    let outcome: Row | undefined;
    if (plans.every((p) => p.coalesceKey === null)) {
      // One statement, so one transaction without BEGIN/COMMIT round trips.
      [outcome] = await prepared(pool, 'herald_publish', PUBLISH_SQL, values);
    } else {
      outcome = await tx(async (client) => {
        // Coalescing: supersede the older pending deliveries first, in the same transaction.
        const superseded = await rows(
          client,
          `WITH gone AS (
             DELETE FROM delivery_queue q USING jsonb_to_recordset($1::jsonb) AS p(channel_id text, coalesce_key text)
             WHERE q.channel_id = p.channel_id AND q.coalesce_key = p.coalesce_key AND q.state = 'pending'
             RETURNING q.delivery_id
           )
           UPDATE deliveries d SET state = 'superseded', updated_at = $2
           WHERE d.id = ANY (ARRAY(SELECT delivery_id FROM gone))
           RETURNING d.channel_id, d.ordering_key`,
          [JSON.stringify(planRows.filter((p) => p.coalesce_key !== null)), now],
        );
        const [row] = await prepared(client, 'herald_publish', PUBLISH_SQL, values);
        if (row === undefined || num(row, 'stored') === 0) throw new PublishRolledBack(row);
        const orphaned = superseded.filter((r) => typeof r['ordering_key'] === 'string');
        if (orphaned.length > 0) {
          // A superseded delivery may have been the one its ordering key waited on.
          await client.query(
            `UPDATE delivery_queue SET blocked = false WHERE blocked AND seq IN (
               SELECT min(d.seq) FROM delivery_queue d
               JOIN jsonb_to_recordset($1::jsonb) AS p(channel_id text, ordering_key text)
                 ON d.channel_id = p.channel_id AND d.ordering_key = p.ordering_key
               GROUP BY d.channel_id, d.ordering_key)`,
            [JSON.stringify(orphaned)],
          );
        }
        return row;
      }).catch((error: unknown) => {
        if (error instanceof PublishRolledBack) return error.row;
        throw error;
      });
    }
    if (outcome === undefined || num(outcome, 'live') === 0) return noActiveChannel(message);
    if (num(outcome, 'stored') === 0) {
      // The idempotency key is taken (ON CONFLICT waited for a concurrent publish to commit): a repeat.
      const repeat = await repeatOf(pool, message.applicationId, stored.idempotencyKey!, message.bodyHash);
      return repeat === undefined ? { done: false } : { done: true, result: repeat };
    }
    const inserted = new Set(outcome['channel_ids'] as string[]);
    const deliveries = planRows
      .filter((p) => inserted.has(p.channel_id))
      .map((p) =>
        newDelivery(
          p.id,
          stored.id,
          stored.applicationId,
          {
            channelId: p.channel_id,
            orderingKey: p.ordering_key,
            coalesceKey: p.coalesce_key,
          },
          now,
        ),
      );
    return { done: true, result: { ok: true, message: stored, deliveries, duplicate: false } };
  };

  const store: Store = {
    kind: 'postgres',

    async migrate() {
      await tx(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
        );
        const applied = new Set(
          (await rows(client, 'SELECT version FROM schema_migrations')).map((r) => num(r, 'version')),
        );
        const known = new Set(POSTGRES_MIGRATIONS.map((m) => m.version));
        const unknown = [...applied].filter((v) => !known.has(v));
        if (unknown.length > 0) {
          throw new StoreError(
            'SCHEMA_TOO_NEW',
            `database has migrations ${unknown.join(', ')} that this version of @herald/store does not know; upgrade Herald`,
          );
        }
        for (const m of POSTGRES_MIGRATIONS) {
          if (applied.has(m.version)) continue;
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            clock(),
          ]);
        }
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      const listening = listenClient;
      listenClient = null;
      if (listening !== null) await listening.end().catch(() => {});
      await pool.end();
    },

    async ping() {
      await pool.query('SELECT 1');
    },

    async createApplication(input) {
      const row = await one(
        pool,
        'INSERT INTO applications (id, name, rate_limit_per_second, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
        [input.id ?? randomUUID(), input.name, input.rateLimitPerSecond ?? null, clock()],
      );
      return toApplication(row!);
    },
    async getApplication(id) {
      const row = await one(pool, 'SELECT * FROM applications WHERE id = $1', [id]);
      return row === undefined ? null : toApplication(row);
    },
    async listApplications() {
      return (await rows(pool, 'SELECT * FROM applications ORDER BY created_at, id')).map(toApplication);
    },

    async createApiKey(input) {
      validateCredits(input.credits ?? null);
      if (input.applicationId !== null) await requireApplication(pool, input.applicationId);
      const row = await one(
        pool,
        `INSERT INTO api_keys (id, application_id, role, key, secret_hash, label, credits, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          randomUUID(),
          input.applicationId,
          input.role,
          input.key,
          input.secretHash,
          input.label ?? null,
          input.credits ?? null,
          clock(),
        ],
      );
      return toApiKey(row!);
    },
    async findApiKey(key) {
      const row = await one(pool, 'SELECT * FROM api_keys WHERE key = $1', [key]);
      return row === undefined ? null : toApiKey(row);
    },
    async listApiKeys(applicationId) {
      return (
        await rows(pool, 'SELECT * FROM api_keys WHERE application_id = $1 ORDER BY created_at, id', [applicationId])
      ).map(toApiKey);
    },
    async revokeApiKey(id, now) {
      return (
        (await count(pool, 'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id])) > 0
      );
    },
    async spendCredits(apiKeyId, n) {
      validateCredits(n);
      const row = await one(
        pool,
        'UPDATE api_keys SET credits = credits - $2 WHERE id = $1 AND (credits IS NULL OR credits >= $2) RETURNING credits',
        [apiKeyId, n],
      );
      return row === undefined ? { ok: false } : { ok: true, remaining: numOrNull(row, 'credits') };
    },
    async setCredits(apiKeyId, credits) {
      return (
        (await count(pool, 'UPDATE api_keys SET credits = $2 WHERE id = $1', [apiKeyId, validateCredits(credits)])) > 0
      );
    },

    async createChannel(input) {
      await requireApplication(pool, input.applicationId);
      const id = input.id ?? randomUUID();
      const now = clock();
      const options = input.options ?? {};
      const row = await one(
        pool,
        `INSERT INTO channels (id, application_id, kind, is_active, include_image_data, config, secrets, options,
           max_in_flight, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
        [
          id,
          input.applicationId,
          input.kind,
          input.isActive,
          input.includeImageData,
          JSON.stringify(input.config),
          codec.seal(input.applicationId, id, input.secrets ?? {}),
          JSON.stringify(options),
          options.maxInFlight ?? null,
          now,
        ],
      );
      return toChannel(row!, codec);
    },
    async getChannel(applicationId, id) {
      const row = await one(pool, 'SELECT * FROM channels WHERE id = $1 AND application_id = $2', [id, applicationId]);
      return row === undefined ? null : toChannel(row, codec);
    },
    async listChannels(applicationId, opts) {
      const sql = opts?.activeOnly
        ? 'SELECT * FROM channels WHERE application_id = $1 AND is_active ORDER BY created_at, id'
        : 'SELECT * FROM channels WHERE application_id = $1 ORDER BY created_at, id';
      return (await rows(pool, sql, [applicationId])).map((r) => toChannel(r, codec));
    },
    async updateChannel(applicationId, id, patch) {
      const result = await tx(async (client) => {
        const row = await one(client, 'SELECT * FROM channels WHERE id = $1 AND application_id = $2 FOR UPDATE', [
          id,
          applicationId,
        ]);
        if (row === undefined) return null;
        const wasActive = row['is_active'] === true;
        const isActive = patch.isActive ?? wasActive;
        const enabled = isActive && !wasActive;
        const options = patch.options ?? (JSON.parse(str(row, 'options')) as ChannelOptions);
        const disabledReason = enabled
          ? null
          : patch.disabledReason !== undefined
            ? patch.disabledReason
            : (row['disabled_reason'] as string | null);
        const now = clock();
        const updated = await one(
          client,
          `UPDATE channels SET is_active = $1, include_image_data = $2, config = $3, secrets = $4, options = $5,
             max_in_flight = $6, disabled_reason = $7, failing_since = $8, updated_at = $9
           WHERE id = $10 AND application_id = $11 RETURNING *`,
          [
            isActive,
            patch.includeImageData ?? row['include_image_data'],
            patch.config === undefined ? str(row, 'config') : JSON.stringify(patch.config),
            patch.secrets === undefined ? bytes(row, 'secrets') : codec.seal(applicationId, id, patch.secrets),
            JSON.stringify(options),
            options.maxInFlight ?? null,
            disabledReason,
            enabled ? null : numOrNull(row, 'failing_since'),
            now,
            id,
            applicationId,
          ],
        );
        if (enabled) {
          await client.query(
            `INSERT INTO events (id, application_id, channel_id, type, detail, created_at)
             VALUES ($1, $2, $3, 'channel.enabled', 'channel re-enabled', $4)`,
            [timeOrderedId(), applicationId, id, now],
          );
        }
        return { row: updated!, enabled };
      });
      if (result === null) return null;
      if (result.enabled) await notifyNewWork();
      return toChannel(result.row, codec);
    },
    async deleteChannel(applicationId, id) {
      // Cascades to the channel's deliveries and their attempts: nothing of it can be claimed afterwards.
      return (await count(pool, 'DELETE FROM channels WHERE id = $1 AND application_id = $2', [id, applicationId])) > 0;
    },

    async upsertRejectionCode(input) {
      const row = await one(
        pool,
        `INSERT INTO rejection_codes (application_id, code, description) VALUES ($1, $2, $3)
         ON CONFLICT (application_id, code) DO UPDATE SET description = excluded.description RETURNING *`,
        [input.applicationId, input.code, input.description],
      );
      return toRejectionCode(row!);
    },
    async listRejectionCodes(applicationId) {
      return (
        await rows(pool, 'SELECT * FROM rejection_codes WHERE application_id = $1 ORDER BY code', [applicationId])
      ).map(toRejectionCode);
    },
    async deleteRejectionCode(applicationId, code) {
      return (
        (await count(pool, 'DELETE FROM rejection_codes WHERE application_id = $1 AND code = $2', [
          applicationId,
          code,
        ])) > 0
      );
    },

    async publish(message, plan, now) {
      for (let i = 0; i < MAX_PUBLISH_TRIES; i++) {
        const attempt = await publishOnce(message, plan, now);
        if (attempt.done) return attempt.result;
      }
      throw new StoreError(
        'PUBLISH_CONTENDED',
        'publish kept colliding with concurrent publishes of the same idempotency key',
      );
    },

    async claimDueDeliveries(opts) {
      if (opts.limit <= 0) return [];
      await healOrdering(opts.now);
      const expiresAt = opts.now + opts.leaseMs;
      const claimed: ClaimedDelivery[] = [];
      const unreadable: UnreadableChannel[] = [];
      // A channel whose secrets cannot be read gives its deliveries back and is deactivated; the claim then runs
      // again for the rest of the batch (each round sets aside at least one channel, or ends the loop).
      for (let round = 1; round <= MAX_CLAIM_ROUNDS && claimed.length < opts.limit; round++) {
        // A named statement: planning this query costs more than running it (~1.5 ms), so PostgreSQL's generic plan
        // is wanted. Its shape does not depend on the values: every deliveries access is an index probe per
        // channel (LATERAL with LIMIT or an aggregate, which the planner cannot flatten into a join).
        const result = await prepared(pool, 'herald_claim', CLAIM_SQL, [
          opts.now,
          opts.maxInFlightPerChannel,
          opts.limit - claimed.length,
          opts.owner,
          expiresAt,
          claimBodyBudget,
          Math.min(opts.channelCeiling ?? MAX_INT4, MAX_INT4),
          // No failing-channel cap: a threshold no failure streak starts before.
          opts.failingChannel === undefined ? -1 : opts.now - opts.failingChannel.afterMs,
          Math.min(opts.failingChannel?.cap ?? MAX_INT4, MAX_INT4),
          Math.min(opts.applicationCeiling ?? MAX_INT4, MAX_INT4),
        ]);
        const read = readClaimRows(result);
        claimed.push(...read.claimed);
        const setAside = read.setAside;
        if (setAside.length === 0) break;
        try {
          unreadable.push(...(await quarantine(setAside, opts.owner, opts.now)));
        } catch {
          // Keep what was claimed: the set-aside deliveries stay leased until their lease expires, and the claim
          // that meets them then tries again.
          break;
        }
      }
      for (const u of unreadable) opts.onUnreadableChannel?.(u);
      return claimed;
    },

    async recordAttempt(input, now) {
      return recordOne(pool, input, now);
    },
    async recordAttempts(inputs, now) {
      if (inputs.length === 0) return [];
      const batch = attemptBatch(inputs, now);
      if (batch !== null) {
        const updated = await prepared(pool, 'herald_record_attempts', RECORD_ATTEMPTS_SQL, [batch, now]);
        await unblockHeads(
          pool,
          updated.filter((r) => r['new_state'] !== 'pending'),
        );
        const recorded = new Set(updated.map((r) => num(r, 'ord')));
        return inputs.map((_, ord) => recorded.has(ord));
      }
      return tx(async (client) => {
        const results: boolean[] = [];
        for (const input of inputs) results.push(await recordOne(client, input, now));
        return results;
      });
    },

    async releaseLeases(owner, deliveryIds) {
      const n =
        deliveryIds === undefined
          ? await count(pool, giveBackSql('lease_owner = $1'), [owner])
          : await count(pool, giveBackSql('lease_owner = $1 AND delivery_id = ANY($2::text[])'), [owner, deliveryIds]);
      if (n > 0) await notifyNewWork();
      return n;
    },

    async nextDueAt() {
      const row = await one(
        pool,
        `SELECT min(h.next_attempt_at) AS next_attempt_at FROM channels c CROSS JOIN LATERAL (
           SELECT d.next_attempt_at FROM delivery_queue d
           WHERE d.channel_id = c.id AND NOT d.blocked
           ORDER BY d.channel_id, d.next_attempt_at, d.seq LIMIT 1) h
         WHERE c.is_active`,
      );
      return row === undefined ? null : numOrNull(row, 'next_attempt_at');
    },

    async getMessage(applicationId, id) {
      const row = await one(pool, 'SELECT * FROM messages WHERE id = $1 AND application_id = $2', [id, applicationId]);
      return row === undefined ? null : toMessage(row);
    },
    async listMessages(applicationId, filter, page) {
      const lq = listMessagesQuery(applicationId, filter, page);
      return toPage(await list(lq), lq, (r) => toMessage(r));
    },
    async getDelivery(applicationId, id) {
      const row = await one(pool, 'SELECT * FROM delivery_view WHERE id = $1 AND application_id = $2', [
        id,
        applicationId,
      ]);
      return row === undefined ? null : toDelivery(row);
    },
    async listDeliveries(applicationId, filter, page) {
      const lq = listDeliveriesQuery(applicationId, filter, page, 'delivery_view');
      return toPage(await list(lq), lq, toDelivery);
    },
    async listAttempts(applicationId, filter, page) {
      const lq = listAttemptsQuery('postgres', applicationId, filter, page);
      return toPage(await list(lq), lq, toAttempt);
    },

    async redeliver(applicationId, deliveryId, now, opts) {
      const moved = await tx(async (client) => {
        const row = await one(
          client,
          `WITH moved AS (
             UPDATE deliveries SET ${REDELIVER_SET}, delivered_at = NULL
             WHERE id = $2 AND application_id = $3
               AND (state IN ('failed', 'dead', 'superseded') OR ($4::boolean AND state = 'delivered'))
             RETURNING *
           ), queued AS (${REQUEUE_SQL})
           SELECT id FROM moved`,
          [now, deliveryId, applicationId, opts?.force === true],
        );
        if (row !== undefined) await refreshOrdering(client, [str(row, 'id')]);
        return row !== undefined;
      });
      if (moved) await notifyNewWork();
      const row = await one(pool, 'SELECT * FROM delivery_view WHERE id = $1 AND application_id = $2', [
        deliveryId,
        applicationId,
      ]);
      return row === undefined ? null : toDelivery(row);
    },
    async recover(applicationId, opts, now) {
      const n = await tx(async (client) => {
        // A delivery is created with its message: the period's messages (messages_application_created) lead to
        // its deliveries (deliveries_message).
        const moved = await rows(
          client,
          `WITH moved AS (
             UPDATE deliveries d SET ${REDELIVER_SET}
             FROM messages m
             WHERE m.application_id = $2 AND m.created_at >= $3 AND d.message_id = m.id
               AND d.application_id = $2 AND d.state IN ('failed', 'dead') AND d.created_at >= $3
               AND ($4::text IS NULL OR d.channel_id = $4::text)
             RETURNING d.*
           ), queued AS (${REQUEUE_SQL})
           SELECT id FROM moved`,
          [now, applicationId, opts.since, opts.channelId ?? null],
        );
        await refreshOrdering(
          client,
          moved.map((r) => str(r, 'id')),
        );
        return moved.length;
      });
      if (n > 0) await notifyNewWork();
      return n;
    },

    async recordEvent(event, now) {
      const row = await one(
        pool,
        `INSERT INTO events (id, application_id, channel_id, type, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [timeOrderedId(), event.applicationId, event.channelId, event.type, event.detail, now],
      );
      return toEvent(row!);
    },
    async listEvents(applicationId, page) {
      const lq = listEventsQuery(applicationId, page);
      return toPage(await list(lq), lq, toEvent);
    },

    async prune(opts) {
      let attempts = 0;
      let messages = 0;
      for (let i = 0; i < MAX_PRUNE_BATCHES; i++) {
        const n = await count(
          pool,
          // By ctid: attempts have no index on id (migration 5); the rows are locked by the delete itself.
          `DELETE FROM attempts WHERE ctid = ANY (ARRAY(SELECT ctid FROM attempts WHERE started_at < $1 LIMIT ${PRUNE_BATCH}))`,
          [opts.attemptsBefore],
        );
        attempts += n;
        if (n < PRUNE_BATCH) break;
      }
      for (let i = 0; i < MAX_PRUNE_BATCHES; i++) {
        const n = await count(
          pool,
          `DELETE FROM messages WHERE id IN (
             SELECT m.id FROM messages m WHERE m.created_at < $1 AND NOT EXISTS (
               SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.state IN ('pending', 'delivering'))
             LIMIT ${PRUNE_BATCH})`,
          [opts.messagesBefore],
        );
        messages += n;
        if (n < PRUNE_BATCH) break;
      }
      return { attempts, messages };
    },

    async countDeliveriesByState() {
      const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
      // Open deliveries are 'pending' in deliveries; the leased ones among them are counted in the queue.
      for (const r of await rows(
        pool,
        `SELECT state, count(*) AS n FROM deliveries GROUP BY state
         UNION ALL SELECT 'delivering', count(*) FROM delivery_queue WHERE state = 'delivering'`,
      )) {
        counts[str(r, 'state') as DeliveryState] += num(r, 'n');
      }
      counts.pending -= counts.delivering;
      return counts;
    },

    onNewWork(listener) {
      const wrapped = () => listener();
      listeners.add(wrapped);
      startListening();
      return () => {
        listeners.delete(wrapped);
      };
    },

    async reencryptSecrets() {
      return tx(async (client) => {
        let changed = 0;
        for (const r of await rows(client, 'SELECT id, application_id, secrets FROM channels FOR UPDATE')) {
          const blob = bytes(r, 'secrets');
          if (codec.keyring.keyIdOf(blob) === codec.keyring.currentKeyId) continue;
          const id = str(r, 'id');
          const applicationId = str(r, 'application_id');
          const secrets = codec.open(applicationId, id, blob);
          await client.query('UPDATE channels SET secrets = $1 WHERE id = $2', [
            codec.seal(applicationId, id, secrets),
            id,
          ]);
          changed += 1;
        }
        return changed;
      });
    },
  };
  return store;
}
