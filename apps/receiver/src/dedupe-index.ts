import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** Remembers accepted message ids durably, so a restarted receiver does not accept them again. */
export interface DedupeIndex {
  has(id: string): boolean;
  /** Records an id after its message reached the sink. */
  add(id: string, acceptedAtMs: number): void;
  size(): number;
  close(): void;
}

/** `path` is an SQLite file (created with its directory) or `:memory:` for a throw-away index. */
export function createDedupeIndex(path: string): DedupeIndex {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  // FULL: the id must survive a power cut once the sender was told 2xx.
  db.exec('PRAGMA synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS accepted (id TEXT PRIMARY KEY, accepted_at_ms INTEGER NOT NULL) WITHOUT ROWID');
  const hasStmt = db.prepare('SELECT 1 FROM accepted WHERE id = ?');
  const addStmt = db.prepare('INSERT OR IGNORE INTO accepted (id, accepted_at_ms) VALUES (?, ?)');
  const countStmt = db.prepare('SELECT count(*) AS n FROM accepted');
  let open = true;
  return {
    has: (id) => hasStmt.get(id) !== undefined,
    add: (id, acceptedAtMs) => {
      addStmt.run(id, acceptedAtMs);
    },
    size: () => Number((countStmt.get() as { n: number | bigint }).n),
    close: () => {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
