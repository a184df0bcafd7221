import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The worker's Prometheus metrics, in their own registry. */
export interface WorkerMetrics {
  registry: Registry;
  /** Counts one attempt by outcome code (`delivered`, `timeout`, `http_status`, ...) and records its latency. */
  observeAttempt(input: { outcome: string; transport: string; durationMs: number; recorded: boolean }): void;
}

/** `readInFlight` is sampled at scrape time. */
export function createWorkerMetrics(options: { readInFlight: () => number }): WorkerMetrics {
  const registry = new Registry();
  const attempts = new Counter({
    name: 'herald_worker_attempts_total',
    help: 'Delivery attempts made by this worker, by outcome code and transport.',
    labelNames: ['outcome', 'transport'] as const,
    registers: [registry],
  });
  const unrecorded = new Counter({
    name: 'herald_worker_attempts_unrecorded_total',
    help: 'Attempts whose result could not be recorded (lease lost or store failure).',
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'herald_worker_attempt_duration_seconds',
    help: 'Duration of one delivery attempt, by transport.',
    labelNames: ['transport'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'herald_worker_in_flight',
    help: 'Deliveries currently being attempted by this worker.',
    registers: [registry],
    collect() {
      this.set(options.readInFlight());
    },
  });
  return {
    registry,
    observeAttempt({ outcome, transport, durationMs, recorded }) {
      attempts.inc({ outcome, transport });
      latency.observe({ transport }, Math.max(0, durationMs) / 1000);
      if (!recorded) unrecorded.inc();
    },
  };
}
