import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { StoreError, StoreInputError, StoreIntegrityError } from './errors.ts';
import type { Keyring } from './keyring.ts';
import {
  listAttemptsQuery,
  listDeliveriesQuery,
  listEventsQuery,
  listMessagesQuery,
  type SqlValue,
  toPage,
} from './list-queries.ts';
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
} from './rows.ts';
import {
  type LeaseClaim,
  type LeaseWire,
  leaseFromWire,
  type RecordAndLeaseRequest,
  type RecordAndLeaseResponse,
  type RecordAndLeaseResult,
  recordAndLeaseInTx,
} from './sqlite-lease.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import {
  applyBatch,
  type PreparedPublish,
  sqliteStatements,
  tuneConnection,
  READER_CACHE_KIB,
  WAL_AUTOCHECKPOINT_PAGES,
  type WriterRequest,
  type WriterResponse,
} from './sqlite-publish.ts';
import {
  checkPlans,
  claimBodyBudgetOf,
  DELIVERY_STATES,
  duplicateOrConflict,
  GIVE_BACK_LEASE,
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
  ClaimOptions,
  DeliveryPlan,
  DeliveryState,
  MessageRecord,
  NewMessage,
  PublishResult,
  RecordAttemptInput,
  Store,
  UnreadableChannel,
} from './types.ts';

export interface SqliteStoreOptions {
  /** File path (parent directories are created) or ':memory:'. */
  path: string;
  keyring: Keyring;
  /** Source of "now" for timestamps the caller does not pass (createdAt of applications, channels...). */
  clock?: () => number;
  /** How long a write waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /**
   * Write publishes on a writer thread with its own connection (default true for a file; always false for
   * ':memory:'). Off, they are written on the calling thread.
   */
  writerThread?: boolean;
  /** Most message body bytes one claim takes; the first delivery is taken whatever its size. Default 64 MiB. */
  claimBodyBudgetBytes?: number;
}

const MAX_PRUNE_BATCHES = 100_000;
type PublishPlan = (activeChannels: Channel[]) => DeliveryPlan[];
const MAX_CACHED_APPLICATIONS = 10_000;
/**
 * How long a non-empty cached channel list is used without asking whether another connection committed. A stale
 * list costs nothing but a second round: the write transaction compares each publish's channels (id, updated_at)
 * with the active ones and plans it again when they differ. An empty list is always checked before a 404.
 */
const CHANNEL_RECHECK_MS = 250;
/** Most publishes committed together. */
const MAX_PUBLISH_BATCH = 256;
/** Times a publish is prepared again when the application's channels changed underneath it. */
const MAX_PUBLISH_RETRIES = 5;
/** Most publishes the writer thread commits together (see flushPublishes). */
const WRITER_SLICE = 16;
/** Writer threads started per store before publishes fall back to the store's own connection. */
const MAX_WRITER_STARTS = 3;

/** Test hook (not part of the port): `store[SQLITE_WRITER_THREAD]()` is the store's current writer thread or null. */
export const SQLITE_WRITER_THREAD: unique symbol = Symbol.for('herald.store.sqliteWriterThread');

/** Opens (creating if needed) an SQLite store and applies its migrations. */
export async function createSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const store = openSqliteStore(options);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openSqliteStore(options: SqliteStoreOptions): Store {
  const claimBodyBudget = claimBodyBudgetOf(options.claimBodyBudgetBytes);
  const clock = options.clock ?? Date.now;
  const codec = createSecretsCodec(options.keyring);
  const useWriterThread = options.path !== ':memory:' && options.writerThread !== false;
  if (options.path !== ':memory:') {
    mkdirSync(dirname(resolve(options.path)), { recursive: true });
    // A new database file is private to its owner (it holds tenants' messages, key hashes and sealed secrets);
    // SQLite gives the -wal and -shm files the database file's mode. An existing file keeps the mode it has.
    closeSync(openSync(options.path, 'a', 0o600));
  }
  const db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
  db.exec('PRAGMA journal_mode = WAL');
  tuneConnection(db, READER_CACHE_KIB);

  // Prepared once per SQL text (the same helpers the writer thread uses on its connection).
  const statements = sqliteStatements(db);
  const { get, all, run } = statements;
  const sqlValues = (values: SqlValue[]): SQLInputValue[] =>
    values.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));

  // node:sqlite is synchronous and this connection is private: a transaction never interleaves with another call.
  /** Runs fn in a transaction already begun: COMMIT, or ROLLBACK and rethrow. */
  const inTx = <T>(fn: () => T): T => {
    try {
      const value = fn();
      db.exec('COMMIT');
      return value;
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  };
  const tx = <T>(fn: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    return inTx(fn);
  };

  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) queueMicrotask(listener);
  };
  let closed = false;

  // Active channels per application, for publish (its plan needs ids and options; secrets stay sealed until
  // read). Cleared by every channel write of this store, and whenever another connection (another process on
  // the same file) has committed since it was filled: PRAGMA data_version changes only for their commits.
  // Each entry also keeps what identifies the rows it was built from (id, updated_at, sealed secrets), so after
  // another connection's commit (data_version moved: another process, or this store's writer thread, which commits
  // every batch) the entry is re-checked with one narrow query and kept when nothing of it changed.
  interface CachedChannels {
    list: readonly Channel[];
    rows: Array<{ id: string; updatedAt: number; secrets: Uint8Array }>;
    version: number;
    /** performance.now() when the list was last known current. */
    checkedAt: number;
  }
  const activeChannels = new Map<string, CachedChannels>();
  const invalidateChannels = () => {
    activeChannels.clear();
  };
  const sameChannelRows = (cached: CachedChannels['rows'], rows: Row[]): boolean =>
    cached.length === rows.length &&
    cached.every((c, i) => {
      const r = rows[i]!;
      return (
        c.id === str(r, 'id') &&
        c.updatedAt === num(r, 'updated_at') &&
        Buffer.compare(c.secrets, bytes(r, 'secrets')) === 0
      );
    });
  /**
   * `versionNow`: PRAGMA data_version, read at most once per batch of publishes and only when a list is checked
   * (each read starts a read transaction; after the writer thread's commits that also drops this connection's
   * page cache).
   */
  const activeChannelsOf = (applicationId: string, versionNow: () => number): readonly Channel[] => {
    const hit = activeChannels.get(applicationId);
    const checkedAt = performance.now();
    if (hit !== undefined && hit.list.length > 0 && checkedAt - hit.checkedAt < CHANNEL_RECHECK_MS) return hit.list;
    const version = versionNow();
    if (hit !== undefined) {
      if (hit.version === version) {
        hit.checkedAt = checkedAt;
        return hit.list;
      }
      const rows = all(
        'SELECT id, updated_at, secrets FROM channels WHERE application_id = ? AND is_active = 1 ORDER BY created_at, id',
        applicationId,
      );
      if (sameChannelRows(hit.rows, rows)) {
        hit.version = version;
        hit.checkedAt = checkedAt;
        return hit.list;
      }
    }
    const rows = all(
      'SELECT * FROM channels WHERE application_id = ? AND is_active = 1 ORDER BY created_at, id',
      applicationId,
    );
    const list = Object.freeze(rows.map((r) => toLazyChannel(r, codec)));
    if (activeChannels.size >= MAX_CACHED_APPLICATIONS) activeChannels.clear();
    activeChannels.set(applicationId, {
      list,
      rows: rows.map((r) => ({ id: str(r, 'id'), updatedAt: num(r, 'updated_at'), secrets: bytes(r, 'secrets') })),
      version,
      checkedAt,
    });
    return list;
  };

  // A channel whose secrets cannot be decrypted is deactivated (once: only while active) with an event, so its
  // deliveries wait, pending, for an operator instead of failing every claim or being retried in a loop.
  const quarantineChannel = (row: Row, error: StoreIntegrityError, now: number): UnreadableChannel => {
    const channelId = str(row, 'id');
    const applicationId = str(row, 'application_id');
    const reason = unreadableChannelReason(error.code);
    const disabled =
      run(
        'UPDATE channels SET is_active = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND is_active = 1',
        reason,
        now,
        channelId,
      ) > 0;
    invalidateChannels();
    if (disabled) {
      run(
        'INSERT INTO events (id, application_id, channel_id, type, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        timeOrderedId(),
        applicationId,
        channelId,
        SECRETS_UNREADABLE_EVENT,
        `${reason}. ${error.message}`,
        now,
      );
    }
    return { applicationId, channelId, code: error.code, disabled };
  };

  const requireApplication = (applicationId: string) => {
    if (get('SELECT 1 AS x FROM applications WHERE id = ?', applicationId) === undefined) {
      throw new StoreInputError('REFERENCE_NOT_FOUND', `application ${applicationId} does not exist`);
    }
  };
  const channelRow = (applicationId: string, id: string) =>
    get('SELECT * FROM channels WHERE id = ? AND application_id = ?', id, applicationId);
  const maxInFlightOf = (o: ChannelOptions) => o.maxInFlight ?? null;
  // Ordering: only the earliest pending/delivering delivery of a (channel, ordering key) is unblocked, so
  // the ones waiting behind it stay out of the due indexes instead of being scanned by every claim
  // (sqlite-publish.ts unblockHead, called when an attempt record ends a delivery).
  const refreshOrdering = (seqs: number[]) => {
    if (seqs.length === 0) return;
    const pairs = all(
      `SELECT DISTINCT channel_id, ordering_key FROM deliveries
       WHERE seq IN (SELECT value FROM json_each(?)) AND ordering_key IS NOT NULL`,
      JSON.stringify(seqs),
    );
    for (const pair of pairs) {
      run(
        `UPDATE deliveries SET blocked = EXISTS (
           SELECT 1 FROM deliveries e WHERE e.channel_id = deliveries.channel_id AND e.ordering_key = deliveries.ordering_key
             AND e.seq < deliveries.seq AND e.state IN ('pending', 'delivering'))
         WHERE channel_id = ? AND ordering_key = ? AND state IN ('pending', 'delivering')`,
        str(pair, 'channel_id'),
        str(pair, 'ordering_key'),
      );
    }
  };

  // Publishing. Each publish is prepared here (active channels read through the cache, the engine's plan made,
  // ids drawn) and written by applyPublish (sqlite-publish.ts), which first checks, inside the write transaction,
  // that the application's active channels are still those the plan was made against ("stale" otherwise: the
  // publish is prepared again). Group commit: the publishes queued in one turn of the event loop are written in
  // one BEGIN IMMEDIATE … COMMIT; when one fails the batch is replayed one transaction per publish, so a failing
  // publish fails only itself. File databases write on a writer thread (sqlite-writer-thread.ts) with its own
  // connection, so the B-tree and WAL work runs beside the event loop; ':memory:' writes here.
  interface QueuedPublish {
    message: NewMessage;
    plan: PublishPlan;
    now: number;
    resolve: (result: PublishResult) => void;
    reject: (error: unknown) => void;
    /** Times prepared again because the channels changed underneath (bounded). */
    retries: number;
  }
  type Prepared = [QueuedPublish, PreparedPublish];
  let publishQueue: QueuedPublish[] = [];
  let publishFlushScheduled = false;

  const schedulePublishFlush = () => {
    if (publishQueue.length >= MAX_PUBLISH_BATCH) flushPublishes();
    else if (!publishFlushScheduled) {
      publishFlushScheduled = true;
      // Publishes arriving in this turn of the event loop (concurrent HTTP requests) share one commit.
      setImmediate(flushPublishes);
    }
  };

  /** The publish ready to write, or its result when there is nothing to write. */
  const preparePublish = (p: QueuedPublish, versionNow: () => number): PreparedPublish | PublishResult => {
    const { message } = p;
    const channels = activeChannelsOf(message.applicationId, versionNow);
    const plans = channels.length === 0 ? [] : checkPlans(p.plan([...channels]), channels);
    // With a key, an earlier message under it is answered even when no channel is active now.
    if (plans.length === 0 && message.idempotencyKey == null) return { ok: false, reason: 'no_active_channel' };
    return {
      message: newMessageRecord(message, p.now),
      now: p.now,
      activeChannels: channels.map((c) => [c.id, c.updatedAt]),
      plans,
      deliveryIds: plans.map(() => timeOrderedId()),
    };
  };

  const settlePublishes = (batch: Prepared[], outcomes: WriterResponse['outcomes']) => {
    let stored = false;
    let requeued = false;
    for (const [i, [p, prepared]] of batch.entries()) {
      const o = outcomes[i];
      if (o === undefined) {
        p.reject(new StoreError('PUBLISH_FAILED', 'the publish got no outcome from the writer'));
        continue;
      }
      switch (o.kind) {
        case 'stored': {
          const m = prepared.message;
          const deliveries = prepared.plans.map((plan, j) =>
            newDelivery(prepared.deliveryIds[j]!, m.id, m.applicationId, plan, prepared.now),
          );
          stored = true;
          p.resolve({ ok: true, message: m, deliveries, duplicate: false });
          break;
        }
        case 'existing': {
          const first = toMessage(o.message);
          p.resolve(duplicateOrConflict(first, p.message.bodyHash, () => o.deliveries.map(toDelivery)));
          break;
        }
        case 'no_active_channel':
          p.resolve({ ok: false, reason: 'no_active_channel' });
          break;
        case 'stale':
          invalidateChannels();
          if (p.retries++ < MAX_PUBLISH_RETRIES) {
            publishQueue.push(p);
            requeued = true;
          } else {
            p.reject(new StoreError('PUBLISH_CONFLICT', 'the active channels kept changing during the publish'));
          }
          break;
        case 'error': {
          const error = new StoreError(o.code ?? 'PUBLISH_FAILED', o.message);
          error.name = o.name;
          p.reject(error);
          break;
        }
      }
    }
    if (stored) notify();
    if (requeued) schedulePublishFlush();
  };

  // The writer thread: started on the first publish, restarted after a failure, never for ':memory:'.
  let writer: Worker | null = null;
  let writerStarts = 0;
  let nextWriterBatch = 1;
  const writerBatches = new Map<number, Prepared[]>();
  /** Attempt records and claims handed to the writer thread, by request id. */
  const leaseRequests = new Map<
    number,
    { resolve: (result: RecordAndLeaseResult) => void; reject: (error: unknown) => void }
  >();
  const writerBusy = () => writerBatches.size > 0 || leaseRequests.size > 0;
  let writerIdle: (() => void) | null = null;
  const failWriterBatches = (error: StoreError) => {
    for (const batch of writerBatches.values()) for (const [p] of batch) p.reject(error);
    writerBatches.clear();
    for (const request of leaseRequests.values()) request.reject(new StoreError('WRITE_FAILED', error.message));
    leaseRequests.clear();
    writerIdle?.();
    wakeQuietWaiters();
  };
  const writerThread = (): Worker | null => {
    if (writer !== null) return writer;
    if (!useWriterThread || writerStarts >= MAX_WRITER_STARTS) return null;
    writerStarts++;
    const self = new Worker(
      new URL(`./sqlite-writer-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
      {
        workerData: { path: resolve(options.path), busyTimeoutMs: options.busyTimeoutMs ?? 5000 },
      },
    );
    const whenIdle = () => {
      if (writerBusy()) return;
      self.unref();
      writerIdle?.();
      wakeQuietWaiters();
    };
    self.on('message', (response: WriterResponse | RecordAndLeaseResponse) => {
      if ('kind' in response) {
        const request = leaseRequests.get(response.id);
        leaseRequests.delete(response.id);
        whenIdle();
        if (request === undefined) return;
        if (response.ok) request.resolve(response);
        else request.reject(new StoreError('WRITE_FAILED', `recording attempts or claiming failed: ${response.error}`));
        return;
      }
      const batch = writerBatches.get(response.batch);
      writerBatches.delete(response.batch);
      whenIdle();
      if (batch !== undefined) settlePublishes(batch, response.outcomes);
    });
    const lost = (reason: string) => {
      if (writer === self) {
        writer = null;
        // Checkpointing is this connection's job again until another writer thread starts.
        if (!closed) db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      }
      // Whether the batches it held were committed is unknown: their callers get an error (and may retry).
      failWriterBatches(new StoreError('PUBLISH_FAILED', `the SQLite writer thread stopped (${reason})`));
    };
    self.on('error', (error) => lost(error.message));
    self.on('exit', (code) => lost(`exit code ${code}`));
    self.unref();
    writer = self;
    // The writer thread checkpoints the WAL (sqlite-writer-thread.ts): a checkpoint here would stall the event loop.
    db.exec('PRAGMA wal_autocheckpoint = 0');
    return self;
  };

  // Writes of this connection that can come often (claims and attempt records when there is no writer thread;
  // giving back a claim's deliveries of an unreadable channel) wait, without blocking the event loop, for the
  // writer thread's work in flight, and hold new publish batches back while they run: a BEGIN IMMEDIATE here while
  // the writer holds the lock would sleep in SQLite's busy handler, the whole event loop with it (1 ms and more).
  let writerHeld = 0;
  let quietWaiters: Array<() => void> = [];
  const wakeQuietWaiters = () => {
    const waiters = quietWaiters;
    quietWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const writeBesideWriter = async <T>(fn: () => T): Promise<T> => {
    writerHeld++;
    try {
      if (writer !== null && writerBusy()) await new Promise<void>((resolve) => quietWaiters.push(resolve));
      return tx(fn);
    } finally {
      writerHeld--;
      if (writerHeld === 0 && publishQueue.length > 0) schedulePublishFlush();
    }
  };

  const flushPublishes = () => {
    publishFlushScheduled = false;
    // Held while a write of this connection waits for the writer (writeBesideWriter): sent when it is done.
    if (writerHeld > 0 && writer !== null) return;
    while (publishQueue.length > 0) {
      const queued = publishQueue.length <= MAX_PUBLISH_BATCH ? publishQueue : publishQueue.slice(0, MAX_PUBLISH_BATCH);
      publishQueue = publishQueue.length <= MAX_PUBLISH_BATCH ? [] : publishQueue.slice(MAX_PUBLISH_BATCH);
      if (closed) {
        for (const p of queued) p.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
        continue;
      }
      const batch: Prepared[] = [];
      let version: number | undefined;
      const versionNow = () => {
        version ??= num(get('PRAGMA data_version')!, 'data_version');
        return version;
      };
      for (const p of queued) {
        try {
          const prepared = preparePublish(p, versionNow);
          if ('ok' in prepared) p.resolve(prepared);
          else batch.push([p, prepared]);
        } catch (error) {
          p.reject(error);
        }
      }
      if (batch.length === 0) continue;
      const thread = writerThread();
      if (thread === null) {
        settlePublishes(
          batch,
          applyBatch(
            db,
            statements,
            batch.map(([, prepared]) => prepared),
          ),
        );
        continue;
      }
      thread.ref();
      // Handed over in slices: while the writer commits one, this thread answers the requests of the one
      // before and takes new ones, instead of both taking turns. One JSON string per slice: a structured clone
      // of the publishes cost this thread three times as much.
      for (let from = 0; from < batch.length; from += WRITER_SLICE) {
        const slice = batch.slice(from, from + WRITER_SLICE);
        const id = nextWriterBatch++;
        writerBatches.set(id, slice);
        const request: WriterRequest = { batch: id, items: slice.map(([, prepared]) => prepared) };
        thread.postMessage(JSON.stringify(request));
      }
    }
  };

  // Attempt records and claims run on the writer thread when there is one (sqlite-lease.ts has their SQL): their
  // B-tree and WAL work then runs beside this event loop, and never waits on a publish's lock. The rows come back
  // raw; secrets are decrypted here. Without a writer thread (':memory:', or after repeated failures) they run on
  // this connection.
  const recordAndLeaseRaw = (
    inputs: RecordAttemptInput[],
    now: number,
    claim: LeaseClaim | null,
  ): Promise<RecordAndLeaseResult> => {
    if (closed) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
    const thread = writerThread();
    if (thread === null) return writeBesideWriter(() => recordAndLeaseInTx(statements, inputs, now, claim));
    return new Promise<RecordAndLeaseResult>((resolve, reject) => {
      const id = nextWriterBatch++;
      leaseRequests.set(id, { resolve, reject });
      thread.ref();
      const request: RecordAndLeaseRequest = { kind: 'lease', id, now, inputs, claim };
      thread.postMessage(JSON.stringify(request));
    });
  };
  const recordOnly = async (inputs: RecordAttemptInput[], now: number): Promise<boolean[]> => {
    const result = await recordAndLeaseRaw(inputs, now, null);
    if (result.channelsChanged) invalidateChannels();
    return result.recorded;
  };
  const leaseClaim = (opts: ClaimOptions, limit: number, skipChannels: string[]): LeaseClaim => ({
    now: opts.now,
    owner: opts.owner,
    limit,
    leaseMs: opts.leaseMs,
    maxInFlightPerChannel: opts.maxInFlightPerChannel,
    channelCeiling: opts.channelCeiling ?? Number.MAX_SAFE_INTEGER,
    applicationCeiling: opts.applicationCeiling ?? Number.MAX_SAFE_INTEGER,
    failingChannel: opts.failingChannel ?? null,
    skipChannels,
    bodyBudgetBytes: claimBodyBudget,
  });

  /**
   * Turns a claim's rows into deliveries. A channel whose secrets cannot be read is deactivated (with an event)
   * and its deliveries given back, pending; the claim then runs again for the rest of the batch without it (each
   * round sets aside at least one channel, or ends the loop).
   */
  const completeClaim = async (
    opts: ClaimOptions,
    first: LeaseWire | null,
    unreadable: UnreadableChannel[],
  ): Promise<ClaimedDelivery[]> => {
    const claimed: ClaimedDelivery[] = [];
    const skipChannels: string[] = [];
    let rows = leaseFromWire(first);
    for (let round = 1; rows !== null; round++) {
      const channels = new Map<string, Channel>();
      const setAside: Array<{ row: Row; error: StoreIntegrityError }> = [];
      for (const r of rows.channels) {
        try {
          channels.set(str(r, 'id'), toChannel(r, codec));
        } catch (error) {
          if (!(error instanceof StoreIntegrityError)) throw error;
          setAside.push({ row: r, error });
        }
      }
      const messages = new Map<string, MessageRecord>(rows.messages.map((r) => [str(r, 'id'), toMessage(r)]));
      const givenBack: string[] = [];
      for (const r of rows.deliveries) {
        const delivery = toDelivery(r);
        const channel = channels.get(delivery.channelId);
        if (channel === undefined) givenBack.push(delivery.id);
        else claimed.push({ delivery, message: messages.get(delivery.messageId)!, channel });
      }
      if (setAside.length === 0) break;
      await writeBesideWriter(() => {
        for (const { row, error } of setAside) unreadable.push(quarantineChannel(row, error, opts.now));
        run(
          `UPDATE deliveries SET ${GIVE_BACK_LEASE}, updated_at = ?
           WHERE state = 'delivering' AND lease_owner = ? AND id IN (SELECT value FROM json_each(?))`,
          opts.now,
          opts.owner,
          JSON.stringify(givenBack),
        );
      });
      skipChannels.push(...setAside.map(({ row }) => str(row, 'id')));
      if (round >= MAX_CLAIM_ROUNDS || claimed.length >= opts.limit) break;
      rows = leaseFromWire(
        (await recordAndLeaseRaw([], opts.now, leaseClaim(opts, opts.limit - claimed.length, skipChannels))).lease,
      );
    }
    return claimed;
  };

  const store: Store = {
    kind: 'sqlite',

    async migrate() {
      invalidateChannels();
      tx(() => {
        db.exec(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
        );
        const applied = new Set(
          (db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => num(r, 'version')),
        );
        const known = new Set(SQLITE_MIGRATIONS.map((m) => m.version));
        const unknown = [...applied].filter((v) => !known.has(v));
        if (unknown.length > 0) {
          throw new StoreError(
            'SCHEMA_TOO_NEW',
            `database has migrations ${unknown.join(', ')} that this version of @herald/store does not know; upgrade Herald`,
          );
        }
        for (const m of SQLITE_MIGRATIONS) {
          if (applied.has(m.version)) continue;
          db.exec(m.sql);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
            m.version,
            m.name,
            clock(),
          );
        }
      });
    },

    async close() {
      if (closed) return;
      // Writes waiting beside the writer thread hold publishes back: let them finish, then send what is queued.
      while (writerHeld > 0) await new Promise((resolve) => setImmediate(resolve));
      if (closed) return;
      flushPublishes();
      closed = true;
      // Publishes handed to the writer thread finish (or fail) before the connections close.
      if (writerBusy()) await new Promise<void>((done) => (writerIdle = done));
      const thread = writer;
      writer = null;
      if (thread !== null) {
        const exited = new Promise<void>((done) => thread.once('exit', () => done()));
        thread.ref();
        thread.postMessage({ close: true });
        await Promise.race([exited, new Promise<void>((done) => setTimeout(done, 5000).unref())]);
        if (thread.threadId !== -1) await thread.terminate();
      }
      listeners.clear();
      statements.clear();
      db.close();
    },

    async ping() {
      get('SELECT 1 AS x');
    },

    async createApplication(input) {
      const row = get(
        'INSERT INTO applications (id, name, rate_limit_per_second, created_at) VALUES (?, ?, ?, ?) RETURNING *',
        input.id ?? randomUUID(),
        input.name,
        input.rateLimitPerSecond ?? null,
        clock(),
      );
      return toApplication(row!);
    },
    async getApplication(id) {
      const row = get('SELECT * FROM applications WHERE id = ?', id);
      return row === undefined ? null : toApplication(row);
    },
    async listApplications() {
      return all('SELECT * FROM applications ORDER BY created_at, id').map(toApplication);
    },

    async createApiKey(input) {
      return tx(() => {
        if (input.applicationId !== null) requireApplication(input.applicationId);
        const row = get(
          `INSERT INTO api_keys (id, application_id, role, key, secret_hash, label, credits, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          randomUUID(),
          input.applicationId,
          input.role,
          input.key,
          input.secretHash,
          input.label ?? null,
          validateCredits(input.credits ?? null),
          clock(),
        );
        return toApiKey(row!);
      });
    },
    async findApiKey(key) {
      const row = get('SELECT * FROM api_keys WHERE key = ?', key);
      return row === undefined ? null : toApiKey(row);
    },
    async listApiKeys(applicationId) {
      return all('SELECT * FROM api_keys WHERE application_id = ? ORDER BY created_at, id', applicationId).map(
        toApiKey,
      );
    },
    async revokeApiKey(id, now) {
      return run('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', now, id) > 0;
    },
    async spendCredits(apiKeyId, n) {
      validateCredits(n);
      const row = get(
        'UPDATE api_keys SET credits = credits - ? WHERE id = ? AND (credits IS NULL OR credits >= ?) RETURNING credits',
        n,
        apiKeyId,
        n,
      );
      return row === undefined ? { ok: false } : { ok: true, remaining: numOrNull(row, 'credits') };
    },
    async setCredits(apiKeyId, credits) {
      return run('UPDATE api_keys SET credits = ? WHERE id = ?', validateCredits(credits), apiKeyId) > 0;
    },

    async createChannel(input) {
      return tx(() => {
        requireApplication(input.applicationId);
        const id = input.id ?? randomUUID();
        const now = clock();
        const options = input.options ?? {};
        invalidateChannels();
        const row = get(
          `INSERT INTO channels (id, application_id, kind, is_active, include_image_data, config, secrets, options,
             max_in_flight, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          id,
          input.applicationId,
          input.kind,
          input.isActive ? 1 : 0,
          input.includeImageData ? 1 : 0,
          JSON.stringify(input.config),
          codec.seal(input.applicationId, id, input.secrets ?? {}),
          JSON.stringify(options),
          maxInFlightOf(options),
          now,
          now,
        );
        return toChannel(row!, codec);
      });
    },
    async getChannel(applicationId, id) {
      const row = channelRow(applicationId, id);
      return row === undefined ? null : toChannel(row, codec);
    },
    async listChannels(applicationId, opts) {
      const sql = opts?.activeOnly
        ? 'SELECT * FROM channels WHERE application_id = ? AND is_active = 1 ORDER BY created_at, id'
        : 'SELECT * FROM channels WHERE application_id = ? ORDER BY created_at, id';
      return all(sql, applicationId).map((r) => toChannel(r, codec));
    },
    async updateChannel(applicationId, id, patch) {
      const result = tx(() => {
        const row = channelRow(applicationId, id);
        if (row === undefined) return null;
        const wasActive = num(row, 'is_active') !== 0;
        const isActive = patch.isActive ?? wasActive;
        const enabled = isActive && !wasActive;
        const options = patch.options ?? (JSON.parse(str(row, 'options')) as ChannelOptions);
        const disabledReason = enabled
          ? null
          : patch.disabledReason !== undefined
            ? patch.disabledReason
            : (row['disabled_reason'] as string | null);
        const now = clock();
        invalidateChannels();
        const updated = get(
          `UPDATE channels SET is_active = ?, include_image_data = ?, config = ?, secrets = ?, options = ?,
             max_in_flight = ?, disabled_reason = ?, failing_since = ?, updated_at = ?
           WHERE id = ? AND application_id = ? RETURNING *`,
          isActive ? 1 : 0,
          patch.includeImageData === undefined ? num(row, 'include_image_data') : patch.includeImageData ? 1 : 0,
          patch.config === undefined ? str(row, 'config') : JSON.stringify(patch.config),
          patch.secrets === undefined ? bytes(row, 'secrets') : codec.seal(applicationId, id, patch.secrets),
          JSON.stringify(options),
          maxInFlightOf(options),
          disabledReason,
          enabled ? null : numOrNull(row, 'failing_since'),
          now,
          id,
          applicationId,
        );
        if (enabled) {
          run(
            `INSERT INTO events (id, application_id, channel_id, type, detail, created_at) VALUES (?, ?, ?, 'channel.enabled', ?, ?)`,
            timeOrderedId(),
            applicationId,
            id,
            'channel re-enabled',
            now,
          );
        }
        return { row: updated!, enabled };
      });
      if (result === null) return null;
      if (result.enabled) notify();
      return toChannel(result.row, codec);
    },
    async deleteChannel(applicationId, id) {
      // Cascades to the channel's deliveries and their attempts: nothing of it can be claimed afterwards.
      invalidateChannels();
      return run('DELETE FROM channels WHERE id = ? AND application_id = ?', id, applicationId) > 0;
    },

    async upsertRejectionCode(input) {
      const row = get(
        `INSERT INTO rejection_codes (application_id, code, description) VALUES (?, ?, ?)
         ON CONFLICT (application_id, code) DO UPDATE SET description = excluded.description RETURNING *`,
        input.applicationId,
        input.code,
        input.description,
      );
      return toRejectionCode(row!);
    },
    async listRejectionCodes(applicationId) {
      return all('SELECT * FROM rejection_codes WHERE application_id = ? ORDER BY code', applicationId).map(
        toRejectionCode,
      );
    },
    async deleteRejectionCode(applicationId, code) {
      return run('DELETE FROM rejection_codes WHERE application_id = ? AND code = ?', applicationId, code) > 0;
    },

    publish(message, plan, now): Promise<PublishResult> {
      if (closed) return Promise.reject(new StoreError('STORE_CLOSED', 'the store is closed'));
      return new Promise<PublishResult>((resolve, reject) => {
        publishQueue.push({ message, plan, now, resolve, reject, retries: 0 });
        schedulePublishFlush();
      });
    },

    async claimDueDeliveries(opts) {
      if (opts.limit <= 0) return [];
      const unreadable: UnreadableChannel[] = [];
      const first = await recordAndLeaseRaw([], opts.now, leaseClaim(opts, opts.limit, []));
      const claimed = await completeClaim(opts, first.lease, unreadable);
      for (const u of unreadable) opts.onUnreadableChannel?.(u);
      return claimed;
    },

    async recordAttemptsAndClaim(inputs, now, claim) {
      // One transaction, one commit: the records first, so what they finish no longer counts as in flight.
      const unreadable: UnreadableChannel[] = [];
      const first = await recordAndLeaseRaw(inputs, now, claim.limit > 0 ? leaseClaim(claim, claim.limit, []) : null);
      if (first.channelsChanged) invalidateChannels();
      const claimed = await completeClaim(claim, first.lease, unreadable);
      for (const u of unreadable) claim.onUnreadableChannel?.(u);
      return { recorded: first.recorded, claimed };
    },

    async recordAttempt(input, now) {
      return (await recordOnly([input], now))[0] ?? false;
    },
    async recordAttempts(inputs, now) {
      if (inputs.length === 0) return [];
      return recordOnly(inputs, now);
    },

    async releaseLeases(owner, deliveryIds) {
      const set = `${GIVE_BACK_LEASE}, updated_at = ?`;
      const n =
        deliveryIds === undefined
          ? run(`UPDATE deliveries SET ${set} WHERE state = 'delivering' AND lease_owner = ?`, clock(), owner)
          : run(
              `UPDATE deliveries SET ${set} WHERE state = 'delivering' AND lease_owner = ? AND id IN (SELECT value FROM json_each(?))`,
              clock(),
              owner,
              JSON.stringify(deliveryIds),
            );
      if (n > 0) notify();
      return n;
    },

    async nextDueAt() {
      // One index probe per active channel, like a claim.
      const row = get(
        `SELECT min((SELECT d.next_attempt_at FROM deliveries d INDEXED BY deliveries_channel_due
           WHERE d.channel_id = c.id AND d.state IN ('pending', 'delivering') AND d.blocked = 0
           ORDER BY d.next_attempt_at LIMIT 1)) AS next_attempt_at
         FROM channels c WHERE c.is_active = 1`,
      );
      return row === undefined ? null : numOrNull(row, 'next_attempt_at');
    },

    async getMessage(applicationId, id) {
      const row = get('SELECT * FROM messages WHERE id = ? AND application_id = ?', id, applicationId);
      return row === undefined ? null : toMessage(row);
    },
    async listMessages(applicationId, filter, page) {
      const lq = listMessagesQuery(applicationId, filter, page);
      return toPage(all(lq.sql, ...sqlValues(lq.params)), lq, (r) => toMessage(r));
    },
    async getDelivery(applicationId, id) {
      const row = get('SELECT * FROM deliveries WHERE id = ? AND application_id = ?', id, applicationId);
      return row === undefined ? null : toDelivery(row);
    },
    async listDeliveries(applicationId, filter, page) {
      const lq = listDeliveriesQuery(applicationId, filter, page);
      return toPage(all(lq.sql, ...sqlValues(lq.params)), lq, toDelivery);
    },
    async listAttempts(applicationId, filter, page) {
      const lq = listAttemptsQuery('sqlite', applicationId, filter, page);
      return toPage(all(lq.sql, ...sqlValues(lq.params)), lq, toAttempt);
    },

    async redeliver(applicationId, deliveryId, now, opts) {
      const result = tx(() => {
        const row = get('SELECT * FROM deliveries WHERE id = ? AND application_id = ?', deliveryId, applicationId);
        if (row === undefined) return null;
        const state = str(row, 'state') as DeliveryState;
        const movable =
          state === 'failed' ||
          state === 'dead' ||
          state === 'superseded' ||
          (state === 'delivered' && opts?.force === true);
        if (!movable) return { row, moved: false };
        const moved = get(
          `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL,
             leased_at = NULL, attempts_at_reset = attempts, delivered_at = NULL, updated_at = ?
           WHERE id = ? RETURNING *`,
          now,
          now,
          deliveryId,
        )!;
        refreshOrdering([num(moved, 'seq')]);
        return { row: get('SELECT * FROM deliveries WHERE id = ?', deliveryId)!, moved: true };
      });
      if (result === null) return null;
      if (result.moved) notify();
      return toDelivery(result.row);
    },
    async recover(applicationId, opts, now) {
      const moved = tx(() => {
        const rows = all(
          `UPDATE deliveries SET state = 'pending', next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL,
             leased_at = NULL, attempts_at_reset = attempts, updated_at = ?
           WHERE application_id = ? AND state IN ('failed', 'dead') AND created_at >= ? AND (? IS NULL OR channel_id = ?)
           RETURNING seq`,
          now,
          now,
          applicationId,
          opts.since,
          opts.channelId ?? null,
          opts.channelId ?? null,
        );
        refreshOrdering(rows.map((r) => num(r, 'seq')));
        return rows.length;
      });
      if (moved > 0) notify();
      return moved;
    },

    async recordEvent(event, now) {
      const row = get(
        'INSERT INTO events (id, application_id, channel_id, type, detail, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
        timeOrderedId(),
        event.applicationId,
        event.channelId,
        event.type,
        event.detail,
        now,
      );
      return toEvent(row!);
    },
    async listEvents(applicationId, page) {
      const lq = listEventsQuery(applicationId, page);
      return toPage(all(lq.sql, ...sqlValues(lq.params)), lq, toEvent);
    },

    async prune(opts) {
      // Small batches, each its own transaction, so a large prune never holds the write lock for long.
      let attempts = 0;
      let messages = 0;
      for (let i = 0; i < MAX_PRUNE_BATCHES; i++) {
        const n = tx(() =>
          run(
            `DELETE FROM attempts WHERE seq IN (SELECT seq FROM attempts WHERE started_at < ? LIMIT ${PRUNE_BATCH})`,
            opts.attemptsBefore,
          ),
        );
        attempts += n;
        if (n < PRUNE_BATCH) break;
      }
      for (let i = 0; i < MAX_PRUNE_BATCHES; i++) {
        const n = tx(() =>
          run(
            `DELETE FROM messages WHERE rowid IN (
               SELECT m.rowid FROM messages m WHERE m.created_at < ? AND NOT EXISTS (
                 SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.state IN ('pending', 'delivering'))
               LIMIT ${PRUNE_BATCH})`,
            opts.messagesBefore,
          ),
        );
        messages += n;
        if (n < PRUNE_BATCH) break;
      }
      return { attempts, messages };
    },

    async countDeliveriesByState() {
      const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<DeliveryState, number>;
      for (const r of all('SELECT state, count(*) AS n FROM deliveries GROUP BY state')) {
        counts[str(r, 'state') as DeliveryState] = num(r, 'n');
      }
      return counts;
    },

    onNewWork(listener) {
      const wrapped = () => listener();
      listeners.add(wrapped);
      return () => {
        listeners.delete(wrapped);
      };
    },

    async reencryptSecrets() {
      invalidateChannels();
      return tx(() => {
        let changed = 0;
        for (const r of all('SELECT id, application_id, secrets FROM channels')) {
          const blob = bytes(r, 'secrets');
          if (codec.keyring.keyIdOf(blob) === codec.keyring.currentKeyId) continue;
          const id = str(r, 'id');
          const applicationId = str(r, 'application_id');
          const secrets = codec.open(applicationId, id, blob);
          run('UPDATE channels SET secrets = ? WHERE id = ?', codec.seal(applicationId, id, secrets), id);
          changed += 1;
        }
        return changed;
      });
    },
  };
  // For tests only: the current writer thread (null before the first publish or after a failure).
  Object.defineProperty(store, SQLITE_WRITER_THREAD, { value: () => writer, enumerable: false });
  return store;
}
