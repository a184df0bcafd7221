/** Numbered PostgreSQL migrations; applied in order, each once, recorded in schema_migrations. Never edit a released one. */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE applications (
  id text PRIMARY KEY,
  name text NOT NULL,
  rate_limit_per_second integer,
  created_at bigint NOT NULL
);

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  application_id text REFERENCES applications(id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('application', 'operator')),
  key text NOT NULL UNIQUE,
  secret_hash text NOT NULL,
  label text,
  credits bigint,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX api_keys_application ON api_keys (application_id, created_at);

CREATE TABLE channels (
  id text PRIMARY KEY,
  application_id text NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  kind smallint NOT NULL,
  is_active boolean NOT NULL,
  include_image_data boolean NOT NULL,
  config text NOT NULL,
  secrets bytea NOT NULL,
  options text NOT NULL,
  max_in_flight integer,
  disabled_reason text,
  failing_since bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX channels_application ON channels (application_id, created_at);

CREATE TABLE messages (
  id text PRIMARY KEY,
  application_id text NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  type text NOT NULL,
  body text NOT NULL,
  correlation_id text,
  traceparent text,
  idempotency_key text,
  body_hash text NOT NULL,
  created_at bigint NOT NULL
);
CREATE UNIQUE INDEX messages_idempotency ON messages (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_application_created ON messages (application_id, created_at, id);
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE deliveries (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  message_id text NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  application_id text NOT NULL,
  channel_id text NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  state text NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded')),
  attempts integer NOT NULL DEFAULT 0,
  attempts_at_reset integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  lease_owner text,
  lease_expires_at bigint,
  leased_at bigint,
  ordering_key text,
  -- true while an earlier delivery of the same channel and ordering key is pending or delivering
  blocked boolean NOT NULL DEFAULT false,
  coalesce_key text,
  last_outcome text,
  last_status_code integer,
  last_error text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  delivered_at bigint
);
-- Due work per channel: pending by next_attempt_at, and delivering whose next_attempt_at is the lease expiry;
-- deliveries waiting behind an earlier one of their ordering key are left out until they are next. (No global
-- index on next_attempt_at: the planner would prefer it for the per-channel probes and scan other channels' rows.)
CREATE INDEX deliveries_channel_due ON deliveries (channel_id, next_attempt_at, seq)
  WHERE state IN ('pending', 'delivering') AND NOT blocked;
CREATE INDEX deliveries_blocked ON deliveries (seq) WHERE blocked;
CREATE INDEX deliveries_state ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_ordering ON deliveries (channel_id, ordering_key, seq)
  WHERE ordering_key IS NOT NULL AND state IN ('pending', 'delivering');
CREATE INDEX deliveries_coalesce ON deliveries (channel_id, coalesce_key)
  WHERE coalesce_key IS NOT NULL AND state = 'pending';
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_application ON deliveries (application_id, seq);
CREATE INDEX deliveries_channel ON deliveries (channel_id, seq);
CREATE INDEX deliveries_lease_owner ON deliveries (lease_owner) WHERE state = 'delivering';

CREATE TABLE attempts (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  delivery_id text NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  message_id text NOT NULL,
  channel_id text NOT NULL,
  application_id text NOT NULL,
  attempt_number integer NOT NULL,
  started_at bigint NOT NULL,
  duration_ms integer NOT NULL,
  ok boolean NOT NULL,
  outcome text NOT NULL,
  status_code integer,
  broker_reply text,
  error text,
  response_excerpt text
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, seq);
CREATE INDEX attempts_application ON attempts (application_id, seq);
CREATE INDEX attempts_message ON attempts (message_id);
CREATE INDEX attempts_started ON attempts (started_at);

CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  application_id text NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  channel_id text,
  type text NOT NULL,
  detail text NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX events_application ON events (application_id, seq);

CREATE TABLE rejection_codes (
  application_id text NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  code text NOT NULL,
  description text NOT NULL,
  PRIMARY KEY (application_id, code)
);
`,
  },
  {
    version: 2,
    name: 'no lease-owner index',
    // Claims and attempts change indexed columns, so every index of deliveries gets a new entry per update;
    // releaseLeases (shutdown only) finds a worker's leases through deliveries_state instead.
    sql: `
DROP INDEX IF EXISTS deliveries_lease_owner;
`,
  },
  {
    version: 3,
    name: 'narrow delivery-state indexes',
    // deliveries_state held an entry for every version of every delivery, so each claim and each attempt record
    // added one, and the in-flight count read it through dead entries. The claim now counts a channel's leases
    // in a partial index that holds leased rows only; recovery of failed and dead deliveries has its own.
    sql: `
DROP INDEX IF EXISTS deliveries_state;
CREATE INDEX IF NOT EXISTS deliveries_leased ON deliveries (channel_id, next_attempt_at) WHERE state = 'delivering';
CREATE INDEX IF NOT EXISTS deliveries_failed ON deliveries (application_id, created_at) WHERE state IN ('failed', 'dead');
`,
  },
  {
    version: 4,
    name: 'fewer index entries per attempt',
    // Every claim and attempt record writes a new version of the delivery (a changed indexed column: never HOT) and
    // an attempt row, so each index costs an entry per version. seq stays an identity column (unique by
    // construction) and every listing reads it through (application_id, seq), (channel_id, seq) or
    // (delivery_id, seq): the two unique indexes on seq alone were only written. The attempts -> deliveries foreign
    // key cost a lookup per attempt; attempts are only inserted from the delivery row they update (the same
    // statement, under its row lock), and a statement trigger keeps the cascade (deleting deliveries, directly or
    // through their message or channel, deletes their attempts). attempts.started_at grows with the table: pruning
    // reads it through a BRIN index, which costs next to nothing per insert.
    sql: `
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_seq_key;
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_seq_key;
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_delivery_id_fkey;
CREATE OR REPLACE FUNCTION herald_delete_attempts_of_deliveries() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('DELETE FROM %I.attempts a USING gone g WHERE a.delivery_id = g.id', TG_TABLE_SCHEMA);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER deliveries_delete_attempts AFTER DELETE ON deliveries REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION herald_delete_attempts_of_deliveries();
DROP INDEX IF EXISTS attempts_started;
CREATE INDEX IF NOT EXISTS attempts_started ON attempts USING brin (started_at);
`,
  },
  {
    version: 5,
    name: 'attempts without write-only indexes',
    // Every recorded attempt paid for two indexes nothing needed: no query looks an attempt up by its id (pruning
    // goes by ctid; the id stays unique by construction, a time-ordered random id), and the attempts of a message
    // are found through its deliveries (deliveries_message, then attempts_delivery), which holds at most one row per
    // channel.
    sql: `
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_pkey;
DROP INDEX IF EXISTS attempts_message;
`,
  },
  {
    version: 6,
    name: 'deliveries carry their body size',
    // The claim keeps each batch within a byte budget of message bodies. It read each candidate's body size from
    // messages (a primary-key probe per delivery, then a second one for the columns it returns); the size is now
    // written on the delivery at publish. Rows from before have none: the claim then reads it as before.
    sql: `
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS body_bytes integer;
`,
  },
  {
    version: 7,
    name: 'a narrow queue of open deliveries',
    // Every claim and attempt record changed indexed columns of deliveries (state, next_attempt_at, the lease), so
    // each wrote a new entry into every one of its nine indexes. Open deliveries now also have a row in
    // delivery_queue, a narrow table with what claims, leases, ordering and coalescing read, and the indexes they
    // need; the row leaves the queue when its delivery reaches a final state. A lease is kept in the queue row only:
    // claims do not write deliveries at all, and deliveries says 'pending' for every open delivery (delivery_view
    // shows a delivery with its queue row's state, due time and lease). deliveries keeps the indexes whose columns
    // never change after publish (id, message, application, channel), so recording an attempt is a heap-only (HOT)
    // update: no index entry. Half of each page is left free for those updates, since a record rewrites the rows of a
    // page in one statement. Recovery of failed deliveries goes through the messages of the period
    // (messages_application_created) instead of deliveries_failed. deliveries.blocked is no longer kept
    // (delivery_queue.blocked is). Lock order, everywhere: a delivery's queue row, then its deliveries row.
    sql: `
CREATE TABLE IF NOT EXISTS delivery_queue (
  delivery_id text PRIMARY KEY,
  seq bigint NOT NULL,
  message_id text NOT NULL,
  channel_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'delivering')),
  next_attempt_at bigint NOT NULL,
  lease_owner text,
  leased_at bigint,
  blocked boolean NOT NULL DEFAULT false,
  ordering_key text,
  coalesce_key text,
  body_bytes integer
);
INSERT INTO delivery_queue (delivery_id, seq, message_id, channel_id, state, next_attempt_at, lease_owner, leased_at,
  blocked, ordering_key, coalesce_key, body_bytes)
SELECT id, seq, message_id, channel_id, state, next_attempt_at, lease_owner, leased_at, blocked, ordering_key,
  coalesce_key, body_bytes
FROM deliveries WHERE state IN ('pending', 'delivering')
ON CONFLICT (delivery_id) DO NOTHING;
CREATE INDEX IF NOT EXISTS delivery_queue_due ON delivery_queue (channel_id, next_attempt_at, seq) WHERE NOT blocked;
CREATE INDEX IF NOT EXISTS delivery_queue_leased ON delivery_queue (channel_id, next_attempt_at)
  WHERE state = 'delivering';
CREATE INDEX IF NOT EXISTS delivery_queue_ordering ON delivery_queue (channel_id, ordering_key, seq)
  WHERE ordering_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS delivery_queue_coalesce ON delivery_queue (channel_id, coalesce_key)
  WHERE coalesce_key IS NOT NULL AND state = 'pending';
CREATE INDEX IF NOT EXISTS delivery_queue_blocked ON delivery_queue (seq) WHERE blocked;
CREATE OR REPLACE FUNCTION herald_delete_queue_of_deliveries() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('DELETE FROM %I.delivery_queue q USING gone g WHERE q.delivery_id = g.id', TG_TABLE_SCHEMA);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER deliveries_delete_queue AFTER DELETE ON deliveries REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION herald_delete_queue_of_deliveries();
-- The lease lives in the queue row only (claims write no deliveries row): deliveries says 'pending' for every open
-- delivery, and delivery_view shows a delivery with its queue row's state, due time and lease.
UPDATE deliveries SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, leased_at = NULL
WHERE state = 'delivering';
CREATE OR REPLACE VIEW delivery_view AS
SELECT d.seq, d.id, d.message_id, d.application_id, d.channel_id, COALESCE(q.state, d.state) AS state, d.attempts,
  d.attempts_at_reset, COALESCE(q.next_attempt_at, d.next_attempt_at) AS next_attempt_at, q.lease_owner,
  CASE WHEN q.state = 'delivering' THEN q.next_attempt_at END AS lease_expires_at, q.leased_at, d.ordering_key,
  d.coalesce_key, d.last_outcome, d.last_status_code, d.last_error, d.created_at,
  CASE WHEN q.state = 'delivering' THEN GREATEST(d.updated_at, q.leased_at) ELSE d.updated_at END AS updated_at,
  d.delivered_at, d.body_bytes
FROM deliveries d LEFT JOIN delivery_queue q ON q.delivery_id = d.id;
DROP INDEX IF EXISTS deliveries_channel_due;
DROP INDEX IF EXISTS deliveries_blocked;
DROP INDEX IF EXISTS deliveries_ordering;
DROP INDEX IF EXISTS deliveries_coalesce;
DROP INDEX IF EXISTS deliveries_leased;
DROP INDEX IF EXISTS deliveries_failed;
ALTER TABLE deliveries SET (fillfactor = 50);
`,
  },
];
