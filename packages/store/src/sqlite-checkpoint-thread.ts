// Checkpoints the SQLite WAL of a store on a thread of its own, started by the writer thread
// (sqlite-writer-thread.ts). A PASSIVE checkpoint copies what it can without waiting for, or blocking,
// readers and writers: the connections that publish, claim and record never run one themselves, so
// none of them stalls while pages are copied to the database file.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointThreadData {
  path: string;
  intervalMs: number;
}

const { path, intervalMs } = workerData as CheckpointThreadData;
const db = new DatabaseSync(path);
db.exec('PRAGMA wal_autocheckpoint = 0');
const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Another checkpoint running or I/O trouble: the next tick tries again; the WAL is only longer meanwhile.
  }
}, intervalMs);

parentPort!.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
