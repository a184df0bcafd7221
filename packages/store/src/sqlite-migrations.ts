/** Numbered SQLite migrations; applied in order, each once, recorded in schema_migrations. Never edit a released one. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE applications (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  rate_limit_per_second INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  application_id TEXT REFERENCES applications(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('application', 'operator')),
  key TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  label TEXT,
  credits INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_keys_application ON api_keys (application_id, created_at);

CREATE TABLE channels (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  kind INTEGER NOT NULL,
  is_active INTEGER NOT NULL,
  include_image_data INTEGER NOT NULL,
  config TEXT NOT NULL,
  secrets BLOB NOT NULL,
  options TEXT NOT NULL,
  max_in_flight INTEGER,
  disabled_reason TEXT,
  failing_since INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX channels_application ON channels (application_id, created_at);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  correlation_id TEXT,
  traceparent TEXT,
  idempotency_key TEXT,
  body_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_idempotency ON messages (application_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_application_created ON messages (application_id, created_at, id);
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  application_id TEXT NOT NULL,
  channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded')),
  attempts INTEGER NOT NULL DEFAULT 0,
  attempts_at_reset INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  leased_at INTEGER,
  ordering_key TEXT,
  -- 1 while an earlier delivery of the same channel and ordering key is pending or delivering
  blocked INTEGER NOT NULL DEFAULT 0,
  coalesce_key TEXT,
  last_outcome TEXT,
  last_status_code INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  delivered_at INTEGER
);
-- Due work: pending by next_attempt_at, and delivering whose next_attempt_at is the lease expiry;
-- deliveries waiting behind an earlier one of their ordering key are left out until they are next.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE state IN ('pending', 'delivering') AND blocked = 0;
CREATE INDEX deliveries_channel_due ON deliveries (channel_id, next_attempt_at, seq)
  WHERE state IN ('pending', 'delivering') AND blocked = 0;
CREATE INDEX deliveries_blocked ON deliveries (seq) WHERE blocked = 1;
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
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  message_id TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  application_id TEXT NOT NULL,
  attempt_number INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  status_code INTEGER,
  broker_reply TEXT,
  error TEXT,
  response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, seq);
CREATE INDEX attempts_application ON attempts (application_id, seq);
CREATE INDEX attempts_message ON attempts (message_id);
CREATE INDEX attempts_started ON attempts (started_at);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  channel_id TEXT,
  type TEXT NOT NULL,
  detail TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX events_application ON events (application_id, seq);

CREATE TABLE rejection_codes (
  application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  code TEXT NOT NULL,
  description TEXT NOT NULL,
  PRIMARY KEY (application_id, code)
);
`,
  },
  {
    version: 2,
    name: 'fewer indexes moved by every claim and attempt',
    // deliveries_due served only nextDueAt, which now probes deliveries_channel_due per active channel (as claims
    // do); releaseLeases finds a worker's leases through deliveries_state. Each index dropped is one less entry
    // moved per claim, attempt and publish.
    sql: `
DROP INDEX IF EXISTS deliveries_due;
DROP INDEX IF EXISTS deliveries_lease_owner;
`,
  },
  {
    version: 3,
    name: 'no attempts index on message_id',
    // Only written: a message's attempts are listed through its deliveries (deliveries_message, then
    // attempts_delivery), as on PostgreSQL. One index entry less per recorded attempt.
    sql: `
DROP INDEX IF EXISTS attempts_message;
`,
  },
];
