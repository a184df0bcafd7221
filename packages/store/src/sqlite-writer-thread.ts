// The SQLite store's writer thread: commits batches of prepared publishes, and the attempt records and claims of
// the store's workers, on its own connection, so their B-tree and WAL work runs beside the event loop of the API
// or worker instead of on it. One thread, one connection: these writes never wait on each other's locks.
import { extname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { CheckpointThreadData } from './sqlite-checkpoint-thread.ts';
import { type RecordAndLeaseRequest, type RecordAndLeaseResponse, recordAndLease } from './sqlite-lease.ts';
import {
  applyBatch,
  sqliteStatements,
  tuneConnection,
  WRITER_CACHE_KIB,
  WAL_AUTOCHECKPOINT_PAGES,
  type WriterRequest,
  type WriterResponse,
} from './sqlite-publish.ts';

export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

const CHECKPOINT_INTERVAL_MS = 250;
const { path, busyTimeoutMs } = workerData as WriterThreadData;
const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
tuneConnection(db, WRITER_CACHE_KIB);
const sql = sqliteStatements(db);
// The WAL is checkpointed by a thread of its own (sqlite-checkpoint-thread.ts), passive checkpoints four times a
// second: an automatic checkpoint here ran inside a commit and held every publish of the batch (and the ones
// queued behind it) for tens of milliseconds, the tail of the steady-state latency. The store's own connection
// does not checkpoint either while this thread runs. Should the checkpoint thread stop, commits here checkpoint
// again as SQLite does by default.
db.exec('PRAGMA wal_autocheckpoint = 0');
const checkpointer = new Worker(
  new URL(`./sqlite-checkpoint-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
  { workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS } satisfies CheckpointThreadData },
);
let closing = false;
const checkpointHere = () => {
  if (!closing) db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
};
checkpointer.on('error', checkpointHere);
checkpointer.on('exit', checkpointHere);

parentPort!.on('message', (message: string | { close: true }) => {
  if (typeof message !== 'string') {
    closing = true;
    const exited = new Promise<void>((resolve) => checkpointer.once('exit', () => resolve()));
    checkpointer.postMessage('close');
    void Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]).then(async () => {
      await checkpointer.terminate();
      sql.clear();
      db.close();
      parentPort!.close();
    });
    return;
  }
  const request = JSON.parse(message) as WriterRequest | RecordAndLeaseRequest;
  if ('kind' in request) {
    // Attempt records and a claim: one transaction, the rows sent back for the store's thread to decode.
    let response: RecordAndLeaseResponse;
    try {
      const result = recordAndLease(db, sql, request);
      response = { kind: 'lease', id: request.id, ok: true, ...result };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      response = { kind: 'lease', id: request.id, ok: false, error: detail };
    }
    parentPort!.postMessage(response);
    return;
  }
  const response: WriterResponse = { batch: request.batch, outcomes: applyBatch(db, sql, request.items) };
  parentPort!.postMessage(response);
});
