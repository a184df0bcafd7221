import { timingSafeEqual, createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../api-error.ts';
import { requestHeader } from '../node-request.ts';
import { defineRoute, type Route } from '../route.ts';
import { problem } from './schemas.ts';

const TAG = 'Operations';

function sameSecret(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export const operationsRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the process answers',
    tag: TAG,
    auth: 'public',
    responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
    handler: ({ c }) => c.json({ status: 'ok' as const }),
  }),
  defineRoute({
    method: 'GET',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: the database (and the broker, when configured) answer',
    tag: TAG,
    auth: 'public',
    responses: {
      200: {
        description: 'Ready',
        schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.boolean()) }),
      },
      503: {
        description: 'Not ready',
        schema: z.object({ status: z.literal('not_ready'), checks: z.record(z.string(), z.boolean()) }),
      },
    },
    async handler({ c, deps }) {
      const checks: Record<string, boolean> = {};
      checks['database'] = await deps.store.ping().then(
        () => true,
        () => false,
      );
      for (const r of deps.readiness) checks[r.name] = await r.check().catch(() => false);
      const ok = Object.values(checks).every(Boolean);
      return c.json({ status: ok ? 'ready' : 'not_ready', checks }, ok ? 200 : 503);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    description:
      'Requests by route and status, delivery attempts by outcome, deliveries by state, attempt latency. Needs `Authorization: Bearer <HERALD_METRICS_TOKEN>` when that variable is set.',
    tag: TAG,
    auth: 'public',
    responses: {
      200: { description: 'Prometheus text format', contentType: 'text/plain; version=0.0.4' },
      401: problem('Metrics token missing or wrong.'),
    },
    async handler({ c, deps }) {
      if (deps.metricsToken !== undefined) {
        const sent = /^Bearer\s+(\S+)$/i.exec(requestHeader(c, 'authorization') ?? '')?.[1] ?? '';
        if (!sameSecret(sent, deps.metricsToken))
          throw new ApiError('unauthorized', 'A valid metrics token is needed.');
      }
      const text = await deps.metrics.registry.metrics();
      return c.body(text, 200, { 'content-type': deps.metrics.registry.contentType });
    },
  }),
];
