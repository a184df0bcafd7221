// The SQLite store's writer thread: commits batches of prepared publishes on its own connection, so the
// B-tree and WAL work of publishing runs beside the event loop of the API instead of on it.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { applyBatch, sqliteStatements, type WriterRequest, type WriterResponse } from './sqlite-publish.ts';

export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

const CHECKPOINT_INTERVAL_MS = 1000;
const { path, busyTimeoutMs } = workerData as WriterThreadData;
const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
// The same settings as the store's own connection (sqlite-store.ts); journal_mode is a property of the file.
db.exec('PRAGMA synchronous = NORMAL');
db.exec('PRAGMA foreign_keys = ON');
db.exec('PRAGMA cache_size = -32768');
db.exec('PRAGMA wal_autocheckpoint = 10000');
db.exec('PRAGMA temp_store = MEMORY');
const sql = sqliteStatements(db);
// This thread checkpoints the WAL for the whole store: the store's own connection stops auto-checkpointing while
// the thread runs (a checkpoint copies up to 10,000 pages and would stall the event loop). Commits here trigger
// the usual automatic checkpoint; a passive one every second covers the times when only the other connection
// writes (an embedded worker recording attempts). Passive checkpoints never wait for, or block, other connections.
const checkpoints = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or I/O trouble: the next one tries again; commits keep working with a longer WAL meanwhile.
  }
}, CHECKPOINT_INTERVAL_MS);

parentPort!.on('message', (message: string | { close: true }) => {
  if (typeof message !== 'string') {
    clearInterval(checkpoints);
    sql.clear();
    db.close();
    parentPort!.close();
    return;
  }
  const request = JSON.parse(message) as WriterRequest;
  const response: WriterResponse = { batch: request.batch, outcomes: applyBatch(db, sql, request.items) };
  parentPort!.postMessage(response);
});
