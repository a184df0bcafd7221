import type { DeliveryOutcome } from '@herald/schemas';
import type { Transport, TransportJob } from './transport.ts';

/** What a recording transport answers for one job: an outcome, or a promise of one (e.g. one that hangs until aborted). */
export type RecordedAnswer = DeliveryOutcome | ((job: TransportJob, signal: AbortSignal) => Promise<DeliveryOutcome>);

export interface RecordingTransport extends Transport {
  /** Every job handed over, in call order. */
  readonly jobs: TransportJob[];
  /** Jobs whose promise has not settled yet. */
  readonly inFlight: number;
  /** Decides the answer per call; default: delivered. */
  respond(answer: (job: TransportJob, callIndex: number) => RecordedAnswer): void;
  /** Resolves once `count` jobs have been handed over (rejects after `timeoutMs`). */
  waitForJobs(count: number, timeoutMs?: number): Promise<void>;
}

export function deliveredOutcome(): DeliveryOutcome {
  return { ok: true, code: 'delivered', retryable: false, disableChannel: false, durationMs: 0, statusCode: 200 };
}

/** A retryable failure (HTTP 503 unless told otherwise). */
export function retryableOutcome(extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return {
    ok: false,
    code: 'http_status',
    retryable: true,
    disableChannel: false,
    durationMs: 0,
    statusCode: 503,
    error: 'HTTP 503',
    ...extra,
  };
}

/** A permanent failure (HTTP 400 unless told otherwise). */
export function permanentOutcome(extra: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return {
    ok: false,
    code: 'http_status',
    retryable: false,
    disableChannel: false,
    durationMs: 0,
    statusCode: 400,
    error: 'HTTP 400',
    ...extra,
  };
}

/** An answer that never settles until the attempt is aborted, then reports `cancelled`. */
export function hangUntilAborted(): RecordedAnswer {
  return (_job, signal) =>
    new Promise((resolve) => {
      const done = () =>
        resolve({
          ok: false,
          code: 'cancelled',
          retryable: true,
          disableChannel: false,
          durationMs: 0,
          error: 'aborted',
        });
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
}

/** In-process transport for tests and benchmarks: records every job and answers as told. */
export function createRecordingTransport(options: { record?: boolean } = {}): RecordingTransport {
  const record = options.record ?? true;
  const jobs: TransportJob[] = [];
  let calls = 0;
  let inFlight = 0;
  let answer: (job: TransportJob, callIndex: number) => RecordedAnswer = () => deliveredOutcome();
  const waiters = new Set<{ count: number; resolve: () => void }>();

  return {
    jobs,
    get inFlight() {
      return inFlight;
    },
    respond(fn) {
      answer = fn;
    },
    async deliver(job, signal) {
      const index = calls++;
      if (record) jobs.push(job);
      for (const w of waiters) {
        if (calls >= w.count) {
          waiters.delete(w);
          w.resolve();
        }
      }
      const a = answer(job, index);
      if (typeof a !== 'function') return a;
      inFlight++;
      try {
        return await a(job, signal);
      } finally {
        inFlight--;
      }
    },
    waitForJobs(count, timeoutMs = 10_000) {
      if (calls >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`expected ${count} jobs within ${timeoutMs} ms, got ${calls}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
  };
}
