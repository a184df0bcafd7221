import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { StoreConfigError, StoreError, StoreInputError } from './errors.ts';
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
  toMessage,
  toRejectionCode,
} from './rows.ts';
import {
  checkPlans,
  DELIVERY_STATES,
  duplicateOrConflict,
  ORDERING_FREE,
  PRUNE_BATCH,
  validateCredits,
} from './store-common.ts';
import type { ChannelOptions, DeliveryPlan, DeliveryState, PublishResult, RecordAttemptInput, Store } from './types.ts';

export interface PostgresStoreOptions {
  /** `postgres://` or `postgresql://` connection URL. */
  url: string;
  keyring: Keyring;
  /** Connections in the pool (default 10); one more is used for LISTEN once onNewWork is called. */
  poolSize?: number;
  clock?: () => number;
}

const NEW_WORK_CHANNEL = 'herald_new_work';
/** Arbitrary constant: serialises migrations of all Herald processes sharing one database. */
const MIGRATION_LOCK_KEY = 4_712_389_201;
const MAX_PRUNE_BATCHES = 100_000;
const MAX_PUBLISH_TRIES = 3;
/** How often (in claim-clock time) a store sweeps stale ordering flags; see healOrdering. */
const HEAL_INTERVAL_MS = 10_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

const INT8_OID = 20;
/** Times and counters are bigint columns holding epoch milliseconds: safe as JS numbers. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

const MESSAGE_COLUMNS = [
  'id',
  'application_id',
  'type',
  'body',
  'correlation_id',
  'traceparent',
  'idempotency_key',
  'body_hash',
  'created_at',
];
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
const prefixed = (alias: string, cols: string[], prefix: string) =>
  cols.map((c) => `${alias}.${c} AS ${prefix}${c}`).join(', ');

// One round trip. Per active channel with room under its cap, one index probe finds its first claimable
// delivery; the channels with the oldest work (at most one per batch slot) lock up to their room with SKIP
// LOCKED, so concurrent claimers take disjoint rows; the oldest of those are leased and returned with their
// message and channel. Work behind a saturated channel or an ordering key is never scanned. (channel_id leads
// the ORDER BY so the planner walks deliveries_channel_due even when one channel holds most rows.)
const CLAIM_SQL = `
WITH inflight AS (
  SELECT channel_id, count(*) AS n FROM deliveries
  WHERE state = 'delivering' AND next_attempt_at > $1 GROUP BY channel_id
), heads AS (
  SELECT c.id, LEAST(COALESCE(c.max_in_flight, $2) - COALESCE(i.n, 0), $3) AS room, h.next_attempt_at AS first_due
  FROM channels c
  LEFT JOIN inflight i ON i.channel_id = c.id
  CROSS JOIN LATERAL (
    SELECT d.next_attempt_at FROM deliveries d
    WHERE d.channel_id = c.id AND d.state IN ('pending', 'delivering') AND NOT d.blocked AND d.next_attempt_at <= $1
      AND ${ORDERING_FREE}
    ORDER BY d.channel_id, d.next_attempt_at, d.seq LIMIT 1
  ) h
  WHERE c.is_active AND COALESCE(c.max_in_flight, $2) - COALESCE(i.n, 0) > 0
), chosen AS (
  SELECT id, room FROM heads ORDER BY first_due, id LIMIT $3
), candidates AS (
  SELECT x.seq, x.next_attempt_at FROM chosen ch CROSS JOIN LATERAL (
    SELECT d.seq, d.next_attempt_at FROM deliveries d
    WHERE d.channel_id = ch.id AND d.state IN ('pending', 'delivering') AND NOT d.blocked AND d.next_attempt_at <= $1
      AND ${ORDERING_FREE}
    ORDER BY d.channel_id, d.next_attempt_at, d.seq
    LIMIT ch.room
    FOR UPDATE OF d SKIP LOCKED
  ) x
), picked AS (
  SELECT seq, next_attempt_at FROM candidates ORDER BY next_attempt_at, seq LIMIT $3
), leased AS (
  UPDATE deliveries d SET state = 'delivering', lease_owner = $4, lease_expires_at = $5, next_attempt_at = $5,
    leased_at = $1, updated_at = $1
  FROM picked p WHERE d.seq = p.seq
  RETURNING d.*
)
SELECT l.*, ${prefixed('m', MESSAGE_COLUMNS, 'm_')}, ${prefixed('c', CHANNEL_COLUMNS, 'c_')}
FROM leased l
JOIN picked p ON p.seq = l.seq
JOIN messages m ON m.id = l.message_id
JOIN channels c ON c.id = l.channel_id
ORDER BY p.next_attempt_at, p.seq`;

// One round trip: move the delivery on (only if the lease is still ours), unblock the next delivery of its
// ordering key when this one is finished, log the attempt, keep the channel's failure streak, and disable
// the channel (with an event) when asked.
const RECORD_ATTEMPT_SQL = `
WITH upd AS (
  UPDATE deliveries SET state = $3::text, attempts = attempts + 1, next_attempt_at = $4, lease_owner = NULL,
    lease_expires_at = NULL, leased_at = NULL, last_outcome = $5, last_status_code = $6, last_error = $7,
    updated_at = $8, delivered_at = CASE WHEN $3::text = 'delivered' THEN $8 ELSE delivered_at END
  WHERE id = $1 AND lease_owner = $2 AND state = 'delivering'
  RETURNING seq, id, message_id, channel_id, application_id, attempts, ordering_key
), next_head AS (
  UPDATE deliveries n SET blocked = false
  FROM upd
  WHERE $3::text <> 'pending' AND upd.ordering_key IS NOT NULL AND n.blocked
    AND n.seq = (SELECT min(e.seq) FROM deliveries e WHERE e.channel_id = upd.channel_id
      AND e.ordering_key = upd.ordering_key AND e.state IN ('pending', 'delivering') AND e.seq <> upd.seq)
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
SELECT count(*) AS n FROM upd`;

// The batch form of RECORD_ATTEMPT_SQL for inputs without disableChannel and with distinct deliveries:
// one round trip for the whole batch. The channel's failure streak is the one the attempts leave in input
// order: cleared by the last success, restarted by the first failure after it.
const RECORD_ATTEMPTS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(ord integer, delivery_id text, owner text, state text,
    next_attempt_at bigint, attempt_id text, started_at bigint, duration_ms integer, ok boolean, outcome text,
    status_code integer, broker_reply text, error text, response_excerpt text)
), upd AS (
  UPDATE deliveries d SET state = x.state, attempts = d.attempts + 1, next_attempt_at = x.next_attempt_at,
    lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL, last_outcome = x.outcome,
    last_status_code = x.status_code, last_error = x.error, updated_at = $2,
    delivered_at = CASE WHEN x.state = 'delivered' THEN $2 ELSE d.delivered_at END
  FROM input x
  WHERE d.id = x.delivery_id AND d.lease_owner = x.owner AND d.state = 'delivering'
  RETURNING d.seq, d.id, d.message_id, d.channel_id, d.application_id, d.attempts, d.ordering_key, x.ord,
    x.state AS new_state, x.attempt_id, x.started_at, x.duration_ms, x.ok, x.outcome, x.status_code,
    x.broker_reply, x.error, x.response_excerpt
), finished AS (
  SELECT seq, channel_id, ordering_key FROM upd WHERE new_state <> 'pending'
), next_head AS (
  UPDATE deliveries n SET blocked = false
  FROM (SELECT DISTINCT channel_id, ordering_key FROM finished WHERE ordering_key IS NOT NULL) k
  WHERE n.blocked AND n.seq = (SELECT min(e.seq) FROM deliveries e WHERE e.channel_id = k.channel_id
    AND e.ordering_key = k.ordering_key AND e.state IN ('pending', 'delivering')
    AND e.seq NOT IN (SELECT seq FROM finished))
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
SELECT ord FROM upd`;

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
    (await rows(db, 'SELECT * FROM deliveries WHERE message_id = $1 ORDER BY seq', [messageId])).map(toDelivery);
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
  const refreshOrdering = async (db: Queryable, seqs: number[]) => {
    if (seqs.length === 0) return;
    await db.query(
      `WITH pairs AS (
         SELECT DISTINCT channel_id, ordering_key FROM deliveries WHERE seq = ANY($1::bigint[]) AND ordering_key IS NOT NULL
       )
       UPDATE deliveries d SET blocked = EXISTS (
         SELECT 1 FROM deliveries e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
           AND e.seq < d.seq AND e.state IN ('pending', 'delivering'))
       FROM pairs p
       WHERE d.channel_id = p.channel_id AND d.ordering_key = p.ordering_key AND d.state IN ('pending', 'delivering')`,
      [seqs],
    );
  };
  // Concurrent transactions can leave a delivery flagged blocked although nothing open is before it any
  // more (it was published while its predecessor finished); a periodic sweep frees such deliveries.
  let lastHealAt = Number.NEGATIVE_INFINITY;
  const healOrdering = async (now: number) => {
    if (now - lastHealAt < HEAL_INTERVAL_MS && now >= lastHealAt) return;
    lastHealAt = now;
    await pool.query(
      `UPDATE deliveries d SET blocked = false
       WHERE d.blocked AND d.state IN ('pending', 'delivering') AND NOT EXISTS (
         SELECT 1 FROM deliveries e WHERE e.channel_id = d.channel_id AND e.ordering_key = d.ordering_key
           AND e.seq < d.seq AND e.state IN ('pending', 'delivering'))`,
    );
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
      randomUUID(),
      attempt.startedAt,
      Math.round(attempt.durationMs),
      attempt.ok,
      attempt.brokerReply,
      attempt.responseExcerpt,
      input.disableChannel ?? null,
      randomUUID(),
    ]);
    return row !== undefined && num(row, 'n') > 0;
  };

  type PublishTry = { done: true; result: PublishResult } | { done: false };
  const publishOnce = async (
    message: Parameters<Store['publish']>[0],
    plan: (channels: ReturnType<typeof toChannel>[]) => DeliveryPlan[],
    now: number,
  ): Promise<PublishTry> => {
    const idempotencyKey = message.idempotencyKey ?? null;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const finish = async (result: PublishResult): Promise<PublishTry> => {
        await client.query('COMMIT');
        return { done: true, result };
      };
      if (idempotencyKey !== null) {
        const repeat = await repeatOf(client, message.applicationId, idempotencyKey, message.bodyHash);
        if (repeat !== undefined) return await finish(repeat);
      }
      const channels = (
        await prepared(
          client,
          'herald_active_channels',
          'SELECT * FROM channels WHERE application_id = $1 AND is_active ORDER BY created_at, id',
          [message.applicationId],
        )
      ).map((r) => toChannel(r, codec));
      if (channels.length === 0) return await finish({ ok: false, reason: 'no_active_channel' });
      const plans = checkPlans(plan(channels), channels);
      if (plans.length === 0) return await finish({ ok: false, reason: 'no_active_channel' });
      const [inserted] = await prepared(
        client,
        'herald_insert_message',
        `INSERT INTO messages (id, application_id, type, body, correlation_id, traceparent, idempotency_key, body_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [
          message.id ?? randomUUID(),
          message.applicationId,
          message.type,
          message.body,
          message.correlationId ?? null,
          message.traceparent ?? null,
          idempotencyKey,
          message.bodyHash,
          now,
        ],
      );
      if (inserted === undefined) {
        // A concurrent publish with the same key committed first (ON CONFLICT waited for it): answer as a repeat.
        await client.query('ROLLBACK');
        const repeat = await repeatOf(pool, message.applicationId, idempotencyKey!, message.bodyHash);
        return repeat === undefined ? { done: false } : { done: true, result: repeat };
      }
      const stored = toMessage(inserted);
      const superseded = plans.some((p) => p.coalesceKey !== null)
        ? await rows(
            client,
            `UPDATE deliveries d SET state = 'superseded', blocked = false, updated_at = $2
             FROM jsonb_to_recordset($1::jsonb) AS p(channel_id text, coalesce_key text)
             WHERE d.channel_id = p.channel_id AND d.coalesce_key = p.coalesce_key AND d.state = 'pending'
             RETURNING d.channel_id, d.ordering_key`,
            [
              JSON.stringify(
                plans
                  .filter((p) => p.coalesceKey !== null)
                  .map((p) => ({ channel_id: p.channelId, coalesce_key: p.coalesceKey })),
              ),
              now,
            ],
          )
        : [];
      const planJson = JSON.stringify(
        plans.map((p, i) => ({
          id: randomUUID(),
          channel_id: p.channelId,
          ordering_key: p.orderingKey,
          coalesce_key: p.coalesceKey,
          ord: i,
        })),
      );
      const order = new Map(plans.map((p, i) => [p.channelId, i]));
      const deliveries = (
        await prepared(
          client,
          'herald_insert_deliveries',
          `WITH plan AS (
             SELECT * FROM jsonb_to_recordset($1::jsonb)
               AS p(id text, channel_id text, ordering_key text, coalesce_key text, ord integer)
           )
           INSERT INTO deliveries (id, message_id, application_id, channel_id, state, next_attempt_at, ordering_key,
             blocked, coalesce_key, created_at, updated_at)
           SELECT p.id, $2, $3, p.channel_id, 'pending', $4, p.ordering_key,
             p.ordering_key IS NOT NULL AND EXISTS (
               SELECT 1 FROM deliveries e WHERE e.channel_id = p.channel_id AND e.ordering_key = p.ordering_key
                 AND e.state IN ('pending', 'delivering')),
             p.coalesce_key, $4, $4
           FROM plan p ORDER BY p.ord
           RETURNING *`,
          [planJson, stored.id, message.applicationId, now],
        )
      )
        .map(toDelivery)
        .sort((a, b) => order.get(a.channelId)! - order.get(b.channelId)!);
      const orphaned = superseded.filter((r) => typeof r['ordering_key'] === 'string');
      if (orphaned.length > 0) {
        // A superseded delivery may have been the one its ordering key waited on.
        await client.query(
          `UPDATE deliveries SET blocked = false WHERE blocked AND seq IN (
             SELECT min(d.seq) FROM deliveries d
             JOIN jsonb_to_recordset($1::jsonb) AS p(channel_id text, ordering_key text)
               ON d.channel_id = p.channel_id AND d.ordering_key = p.ordering_key
             WHERE d.state IN ('pending', 'delivering') GROUP BY d.channel_id, d.ordering_key)`,
          [JSON.stringify(orphaned)],
        );
      }
      // The notification is delivered at commit, to every process listening.
      await client.query(`SELECT pg_notify('${NEW_WORK_CHANNEL}', ''); COMMIT`);
      return { done: true, result: { ok: true, message: stored, deliveries, duplicate: false } };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
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
            [randomUUID(), applicationId, id, now],
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
      // Not a named statement: after five runs PostgreSQL may switch a named one to a generic plan, and the
      // generic plan of this query walks the whole backlog; a custom plan per call costs ~1 ms of planning.
      const result = await rows(pool, CLAIM_SQL, [
        opts.now,
        opts.maxInFlightPerChannel,
        opts.limit,
        opts.owner,
        expiresAt,
      ]);
      return result.map((r) => ({
        delivery: toDelivery(r),
        message: toMessage(r, 'm_'),
        channel: toChannel(r, codec, 'c_'),
      }));
    },

    async recordAttempt(input, now) {
      return recordOne(pool, input, now);
    },
    async recordAttempts(inputs, now) {
      if (inputs.length === 0) return [];
      const distinct = new Set(inputs.map((i) => i.deliveryId)).size === inputs.length;
      if (distinct && inputs.every((i) => i.disableChannel === undefined)) {
        const batch = inputs.map((input, ord) => ({
          ord,
          delivery_id: input.deliveryId,
          owner: input.owner,
          state: input.resolution.state,
          next_attempt_at: input.resolution.state === 'pending' ? input.resolution.nextAttemptAt : now,
          attempt_id: randomUUID(),
          started_at: input.attempt.startedAt,
          duration_ms: Math.round(input.attempt.durationMs),
          ok: input.attempt.ok,
          outcome: input.attempt.outcome,
          status_code: input.attempt.statusCode,
          broker_reply: input.attempt.brokerReply,
          error: input.attempt.error,
          response_excerpt: input.attempt.responseExcerpt,
        }));
        const recorded = new Set(
          (await prepared(pool, 'herald_record_attempts', RECORD_ATTEMPTS_SQL, [JSON.stringify(batch), now])).map((r) =>
            num(r, 'ord'),
          ),
        );
        return inputs.map((_, ord) => recorded.has(ord));
      }
      return tx(async (client) => {
        const results: boolean[] = [];
        for (const input of inputs) results.push(await recordOne(client, input, now));
        return results;
      });
    },

    async releaseLeases(owner, deliveryIds) {
      const set = `state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
        next_attempt_at = COALESCE(leased_at, next_attempt_at), leased_at = NULL, updated_at = $2`;
      const n =
        deliveryIds === undefined
          ? await count(pool, `UPDATE deliveries SET ${set} WHERE state = 'delivering' AND lease_owner = $1`, [
              owner,
              clock(),
            ])
          : await count(
              pool,
              `UPDATE deliveries SET ${set} WHERE state = 'delivering' AND lease_owner = $1 AND id = ANY($3::text[])`,
              [owner, clock(), deliveryIds],
            );
      if (n > 0) await notifyNewWork();
      return n;
    },

    async nextDueAt() {
      const row = await one(
        pool,
        `SELECT min(h.next_attempt_at) AS next_attempt_at FROM channels c CROSS JOIN LATERAL (
           SELECT d.next_attempt_at FROM deliveries d
           WHERE d.channel_id = c.id AND d.state IN ('pending', 'delivering') AND NOT d.blocked
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
      const row = await one(pool, 'SELECT * FROM deliveries WHERE id = $1 AND application_id = $2', [
        id,
        applicationId,
      ]);
      return row === undefined ? null : toDelivery(row);
    },
    async listDeliveries(applicationId, filter, page) {
      const lq = listDeliveriesQuery(applicationId, filter, page);
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
          `UPDATE deliveries SET ${REDELIVER_SET}, delivered_at = NULL
           WHERE id = $2 AND application_id = $3
             AND (state IN ('failed', 'dead', 'superseded') OR ($4::boolean AND state = 'delivered'))
           RETURNING seq`,
          [now, deliveryId, applicationId, opts?.force === true],
        );
        if (row !== undefined) await refreshOrdering(client, [num(row, 'seq')]);
        return row !== undefined;
      });
      if (moved) await notifyNewWork();
      const row = await one(pool, 'SELECT * FROM deliveries WHERE id = $1 AND application_id = $2', [
        deliveryId,
        applicationId,
      ]);
      return row === undefined ? null : toDelivery(row);
    },
    async recover(applicationId, opts, now) {
      const n = await tx(async (client) => {
        const moved = await rows(
          client,
          `UPDATE deliveries SET ${REDELIVER_SET}
           WHERE application_id = $2 AND state IN ('failed', 'dead') AND created_at >= $3
             AND ($4::text IS NULL OR channel_id = $4::text)
           RETURNING seq`,
          [now, applicationId, opts.since, opts.channelId ?? null],
        );
        await refreshOrdering(
          client,
          moved.map((r) => num(r, 'seq')),
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
        [randomUUID(), event.applicationId, event.channelId, event.type, event.detail, now],
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
          `DELETE FROM attempts WHERE seq IN (SELECT seq FROM attempts WHERE started_at < $1 LIMIT ${PRUNE_BATCH})`,
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
      for (const r of await rows(pool, 'SELECT state, count(*) AS n FROM deliveries GROUP BY state')) {
        counts[str(r, 'state') as DeliveryState] = num(r, 'n');
      }
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
