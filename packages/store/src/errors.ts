/** Base of the store's errors: misconfiguration, tampered data and invalid input throw these; expected outcomes are values. */
export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** Bad store configuration (URL, keyring); thrown at start-up. */
export class StoreConfigError extends StoreError {
  constructor(
    code: 'ENCRYPTION_KEY_MISSING' | 'ENCRYPTION_KEY_INVALID' | 'STORE_URL_INVALID' | 'STORE_OPTION_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreConfigError';
  }
}

/** Stored data that cannot be trusted: a secrets blob that fails to decrypt (moved, tampered, unknown key). */
export class StoreIntegrityError extends StoreError {
  constructor(
    code: 'SECRETS_UNREADABLE' | 'ENCRYPTION_KEY_UNKNOWN' | 'STORED_VALUE_INVALID',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreIntegrityError';
  }
}

/** Invalid input from a caller, e.g. a page cursor that the store did not issue. */
export class StoreInputError extends StoreError {
  constructor(
    code: 'INVALID_CURSOR' | 'REFERENCE_NOT_FOUND' | 'INVALID_ARGUMENT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'StoreInputError';
  }
}

// Socket errors of a database connection (pg reports them as they come from node:net).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// PostgreSQL SQLSTATEs of an unavailable or overloaded server: connection exceptions (class 08), operator
// intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), insufficient resources
// (53xxx), and serialization failures and deadlocks (40001, 40P01), which a retry resolves.
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123]|53[0-9A-Z]{3}|40001|40P01)$/;
// Errors the drivers raise without a code: pg's lost or timed-out connections, SQLite's busy or failing file.
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end)|database is locked|database table is locked|disk I\/O error|database or disk is full|unable to open database file/;

/**
 * True when `error` says the database cannot be reached or cannot take the work right now (connection lost or
 * refused, server shutting down or overloaded, SQLite file locked past the busy timeout): a retry later may
 * succeed. The API answers these 503 with Retry-After instead of 500; the engine logs them as such. Looks through
 * `cause` and an AggregateError's `errors` (a refused connection to every address of a host).
 */
export function isStoreUnavailableError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 8) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof StoreError) continue;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
    const errcode = (e as { errcode?: unknown }).errcode;
    // SQLite primary result codes: 5 BUSY, 6 LOCKED, 10 IOERR, 13 FULL, 14 CANTOPEN (extended codes keep the low byte).
    if (typeof errcode === 'number' && [5, 6, 10, 13, 14].includes(errcode & 0xff)) return true;
    if (UNAVAILABLE_MESSAGES.test(e.message)) return true;
    if (e.cause !== undefined) queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...e.errors);
  }
  return false;
}
