import type { DeliveryState, Store } from '@herald/store';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ApiMetrics {
  readonly registry: Registry;
  recordRequest(method: string, route: string, status: number, durationSeconds: number): void;
  /** Call on each engine 'attempt' event. */
  recordAttempt(outcome: string, ok: boolean, durationMs: number): void;
  /** Reads pending deliveries from this store when /metrics is scraped. */
  watchStore(store: Pick<Store, 'countDeliveriesByState'>): void;
}

/** Prometheus metrics of one API process, in their own registry (never the global one). */
export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'herald_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'herald_delivery_attempts_total',
    help: 'Delivery attempts by outcome',
    labelNames: ['outcome', 'ok'] as const,
    registers: [registry],
  });
  const attemptLatency = new Histogram({
    name: 'herald_delivery_attempt_duration_seconds',
    help: 'Duration of delivery attempts',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  // Label children are looked up once per label set: prom-client hashes the label object on every call.
  const requestCounters = new Map<string, { inc(): void }>();
  const requestTimers = new Map<string, { observe(value: number): void }>();
  let store: Pick<Store, 'countDeliveriesByState'> | undefined;
  new Gauge({
    name: 'herald_deliveries',
    help: 'Deliveries by state (read from the store at scrape time)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      if (store === undefined) return;
      const counts: Record<DeliveryState, number> = await store.countDeliveriesByState();
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  return {
    registry,
    recordRequest(method, route, status, durationSeconds) {
      const timerKey = `${method} ${route}`;
      const counterKey = `${timerKey} ${status}`;
      let counter = requestCounters.get(counterKey);
      if (counter === undefined) {
        counter = requests.labels({ method, route, status: String(status) });
        requestCounters.set(counterKey, counter);
      }
      counter.inc();
      let timer = requestTimers.get(timerKey);
      if (timer === undefined) {
        timer = requestDuration.labels({ method, route });
        requestTimers.set(timerKey, timer);
      }
      timer.observe(durationSeconds);
    },
    recordAttempt(outcome, ok, durationMs) {
      deliveries.inc({ outcome, ok: String(ok) });
      attemptLatency.observe(durationMs / 1000);
    },
    watchStore(s) {
      store = s;
    },
  };
}
