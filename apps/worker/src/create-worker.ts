import type { Engine } from '@herald/engine';
import { Hono } from 'hono';
import { createWorkerMetrics, type WorkerMetrics } from './worker-metrics.ts';

const TRANSPORT_NAMES: Readonly<Record<number, string>> = { 0: 'webhook', 1: 'signalr', 2: 'rabbitmq' };

/** What {@link createWorker} needs: an engine built with its store and transports. */
export interface WorkerDeps {
  engine: Pick<Engine, 'start' | 'stop' | 'on' | 'inFlight' | 'workerId'>;
  /** Extra readiness check (e.g. a store ping); the worker is also not ready before start / after stop. */
  checkReady?: () => Promise<boolean>;
}

export interface Worker {
  /** `/healthz` (process alive), `/readyz` (claiming work), `/metrics` (Prometheus). */
  app: Hono;
  metrics: WorkerMetrics;
  start(): void;
  /** Stops claiming, lets in-flight attempts finish until the deadline, then releases the rest. Idempotent. */
  stop(options: { deadlineMs: number }): Promise<{ aborted: number; released: number }>;
}

/** Wires an engine to health and metrics endpoints; no I/O until `start`. */
export function createWorker(deps: WorkerDeps): Worker {
  const { engine } = deps;
  const metrics = createWorkerMetrics({ readInFlight: () => engine.inFlight });
  let state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  let stopping: Promise<{ aborted: number; released: number }> | undefined;

  engine.on('attempt', (event) => {
    metrics.observeAttempt({
      outcome: event.outcome.ok ? 'delivered' : event.outcome.code,
      transport: TRANSPORT_NAMES[event.channel.kind] ?? 'unknown',
      durationMs: event.outcome.durationMs,
      recorded: event.recorded,
    });
  });

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok', workerId: engine.workerId }));
  app.get('/readyz', async (c) => {
    if (state !== 'running') return c.json({ status: state }, 503);
    let ready = true;
    try {
      ready = deps.checkReady === undefined ? true : await deps.checkReady();
    } catch {
      ready = false;
    }
    return ready ? c.json({ status: 'ready' }) : c.json({ status: 'store_unavailable' }, 503);
  });
  app.get('/metrics', async (c) => {
    const text = await metrics.registry.metrics();
    return c.text(text, 200, { 'content-type': metrics.registry.contentType });
  });

  return {
    app,
    metrics,
    start() {
      if (state !== 'created') return;
      engine.start();
      state = 'running';
    },
    stop({ deadlineMs }) {
      stopping ??= (async () => {
        state = 'stopping';
        try {
          return await engine.stop({ deadlineMs });
        } finally {
          state = 'stopped';
        }
      })();
      return stopping;
    },
  };
}
