import type { RecordAttemptInput, Store } from '@herald/store';

/** Most attempts written in one transaction. */
const MAX_RECORD_BATCH = 256;

interface Pending {
  input: RecordAttemptInput;
  now: number;
  resolve: (recorded: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for attempts: results that arrive while a write is in progress are written together
 * in the next transaction (store.recordAttempts), so a busy worker writes in batches and an idle one
 * writes at once. A failed batch is retried one by one, so one bad row cannot fail its neighbours.
 */
export function createAttemptRecorder(store: Store): (input: RecordAttemptInput, now: number) => Promise<boolean> {
  const queue: Pending[] = [];
  let flushing = false;

  async function flush(): Promise<void> {
    try {
      for (let round = 0; queue.length > 0 && round < 1_000_000; round++) {
        const batch = queue.splice(0, MAX_RECORD_BATCH);
        const now = Math.max(...batch.map((p) => p.now));
        let results: boolean[] | null = null;
        try {
          results =
            batch.length === 1
              ? [await store.recordAttempt(batch[0]!.input, now)]
              : await store.recordAttempts(
                  batch.map((p) => p.input),
                  now,
                );
        } catch {
          results = null;
        }
        if (results !== null) {
          for (const [i, p] of batch.entries()) p.resolve(results[i] ?? false);
          continue;
        }
        for (const p of batch) {
          try {
            p.resolve(await store.recordAttempt(p.input, p.now));
          } catch (error) {
            p.reject(error);
          }
        }
      }
    } finally {
      flushing = false;
    }
  }

  return (input, now) =>
    new Promise<boolean>((resolve, reject) => {
      queue.push({ input, now, resolve, reject });
      if (!flushing) {
        flushing = true;
        // Let the other attempts that finish in this turn join the batch.
        setImmediate(() => void flush());
      }
    });
}
