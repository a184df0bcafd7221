import type { RecordAttemptInput, Store } from '@herald/store';

/** Most attempts written in one transaction. */
const MAX_RECORD_BATCH = 256;

interface Pending {
  input: RecordAttemptInput;
  now: number;
  resolve: (recorded: boolean) => void;
  reject: (error: unknown) => void;
}

export interface AttemptRecorderOptions {
  /** Flush as soon as this many attempts wait. */
  batchTarget: number;
  /** Longest an attempt waits for others to join its batch. 0: only those finishing in the same turn. */
  maxDelayMs: number;
  /**
   * Attempts begun and not yet recorded, those waiting here included (the engine's in-flight count). Once all of
   * them wait here, no other can join the batch before it is written: it is written at once, without waiting out
   * maxDelayMs (a worker whose channels' in-flight caps keep it under batchTarget would otherwise hold every lease
   * for maxDelayMs more).
   */
  unrecorded?: () => number;
}

/**
 * Group commit for attempts: results wait up to `maxDelayMs` (or until `batchTarget` of them wait) and are
 * written together in one transaction (store.recordAttempts); a commit costs about as much as the rows in
 * it, so a busy worker writes in large batches. A failed batch is retried one by one, so one bad row cannot
 * fail its neighbours.
 */
export function createAttemptRecorder(
  store: Pick<Store, 'recordAttempt' | 'recordAttempts'>,
  options: AttemptRecorderOptions = { batchTarget: MAX_RECORD_BATCH, maxDelayMs: 0 },
): (input: RecordAttemptInput, now: number) => Promise<boolean> {
  const batchTarget = Math.max(1, Math.min(MAX_RECORD_BATCH, options.batchTarget));
  const queue: Pending[] = [];
  let flushing = false;
  let timer: NodeJS.Timeout | null = null;

  function startFlush(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    flushing = true;
    void flush();
  }

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
      if (flushing) return; // the running flush takes it in its next round
      if (
        queue.length >= batchTarget ||
        options.maxDelayMs === 0 ||
        (options.unrecorded !== undefined && queue.length >= options.unrecorded())
      ) {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        flushing = true;
        // Still let the attempts finishing in this turn join.
        setImmediate(() => void flush());
      } else if (timer === null) {
        timer = setTimeout(startFlush, options.maxDelayMs);
      }
    });
}
