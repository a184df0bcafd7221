import type { Attempt, Delivery, OperationalEvent } from '@herald/store';
import { z } from 'zod';
import { ApiError, notFound } from '../api-error.ts';
import { scopeApplication } from '../authenticate.ts';
import { defineRoute, type Route } from '../route.ts';
import { authErrors, HERALD_BASE, iso, Page, PageQuery, pathId, problem, ScopeQuery, Timestamp } from './schemas.ts';

const TAG = 'Delivery log';
export const DELIVERY_STATES = ['pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded'] as const;

export const DeliveryView = z.object({
  id: z.uuid(),
  messageId: z.uuid(),
  applicationId: z.uuid(),
  channelId: z.uuid(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.int(),
  nextAttemptAt: z.string().nullable(),
  lastOutcome: z.string().nullable(),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deliveredAt: z.string().nullable(),
});

export function toDeliveryView(d: Delivery) {
  return {
    id: d.id,
    messageId: d.messageId,
    applicationId: d.applicationId,
    channelId: d.channelId,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' ? iso(d.nextAttemptAt) : null,
    lastOutcome: d.lastOutcome,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
    deliveredAt: iso(d.deliveredAt),
  };
}

export const AttemptView = z.object({
  id: z.uuid(),
  deliveryId: z.uuid(),
  messageId: z.uuid(),
  channelId: z.uuid(),
  attemptNumber: z.int(),
  startedAt: z.string(),
  durationMs: z.number(),
  ok: z.boolean(),
  outcome: z.string(),
  statusCode: z.int().nullable(),
  brokerReply: z.string().nullable(),
  error: z.string().nullable(),
  responseExcerpt: z.string().nullable(),
});

export function toAttemptView(a: Attempt) {
  return {
    id: a.id,
    deliveryId: a.deliveryId,
    messageId: a.messageId,
    channelId: a.channelId,
    attemptNumber: a.attemptNumber,
    startedAt: iso(a.startedAt),
    durationMs: a.durationMs,
    ok: a.ok,
    outcome: a.outcome,
    statusCode: a.statusCode,
    brokerReply: a.brokerReply,
    error: a.error,
    responseExcerpt: a.responseExcerpt,
  };
}

export const EventView = z.object({
  id: z.uuid(),
  channelId: z.uuid().nullable(),
  type: z.string(),
  detail: z.string(),
  createdAt: z.string(),
});

const toEventView = (e: OperationalEvent) => ({
  id: e.id,
  channelId: e.channelId,
  type: e.type,
  detail: e.detail,
  createdAt: iso(e.createdAt),
});

const page = (q: { limit?: number | undefined; cursor?: string | undefined }) => ({
  ...(q.limit ? { limit: q.limit } : {}),
  cursor: q.cursor ?? null,
});
const optUuid = z.uuid({ error: 'expected a UUID' }).optional();

export const deliveryLogRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/deliveries`,
    operationId: 'listDeliveries',
    summary: 'List deliveries, newest first, filtered by state, channel, message and time',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery.extend({
      state: z.enum(DELIVERY_STATES).optional(),
      channelId: optUuid,
      messageId: optUuid,
      since: Timestamp.optional(),
      until: Timestamp.optional(),
      ...PageQuery,
    }),
    responses: {
      200: { description: 'A page of deliveries', schema: Page(DeliveryView) },
      400: problem('Bad filter.'),
      ...authErrors,
    },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const result = await deps.store.listDeliveries(
        appId,
        {
          ...(query.state ? { state: query.state } : {}),
          ...(query.channelId ? { channelId: query.channelId.toLowerCase() } : {}),
          ...(query.messageId ? { messageId: query.messageId.toLowerCase() } : {}),
          ...(query.since ? { since: Date.parse(query.since) } : {}),
          ...(query.until ? { until: Date.parse(query.until) } : {}),
        },
        page(query),
      );
      return c.json({ items: result.items.map(toDeliveryView), nextCursor: result.nextCursor });
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/deliveries/:deliveryId`,
    operationId: 'getDelivery',
    summary: 'Get one delivery with its attempts',
    tag: TAG,
    auth: 'application',
    params: z.object({ deliveryId: z.string() }),
    query: ScopeQuery,
    responses: {
      200: { description: 'The delivery', schema: DeliveryView.extend({ attemptLog: z.array(AttemptView) }) },
      ...authErrors,
    },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const delivery = await deps.store.getDelivery(appId, pathId(params.deliveryId, 'delivery'));
      if (delivery === null) throw notFound('delivery');
      const attempts = await deps.store.listAttempts(appId, { deliveryId: delivery.id }, { limit: 500 });
      return c.json({ ...toDeliveryView(delivery), attemptLog: attempts.items.map(toAttemptView) });
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/deliveries/:deliveryId/redeliver`,
    operationId: 'redeliver',
    summary: 'Deliver one delivery again now',
    description: 'Puts a failed or dead delivery back to pending. `?force=true` also repeats a delivered one.',
    tag: TAG,
    auth: 'application',
    params: z.object({ deliveryId: z.string() }),
    query: ScopeQuery.extend({ force: z.enum(['true', 'false']).optional() }),
    responses: {
      200: { description: 'The delivery, pending again (or still pending / in flight)', schema: DeliveryView },
      ...authErrors,
      409: problem('The delivery was delivered already and force was not given.'),
    },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const delivery = await deps.engine.redeliver(appId, pathId(params.deliveryId, 'delivery'), {
        force: query.force === 'true',
      });
      if (delivery === null) throw notFound('delivery');
      if (delivery.state === 'delivered') {
        const message = 'The delivery was delivered already; pass force=true to deliver it again.';
        throw new ApiError('conflict', message, { errors: { state: [message] } });
      }
      return c.json(toDeliveryView(delivery));
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/deliveries/recover`,
    operationId: 'recoverDeliveries',
    summary: 'Deliver again every failed or dead delivery created since a time',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery,
    body: z.strictObject({ since: Timestamp, channelId: z.uuid({ error: 'expected a UUID' }).optional() }),
    responses: {
      200: { description: 'How many deliveries are pending again', schema: z.object({ recovered: z.int() }) },
      400: problem('Bad body.'),
      ...authErrors,
    },
    async handler({ c, deps, query, body, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const recovered = await deps.engine.recover(appId, {
        since: Date.parse(body.since),
        ...(body.channelId ? { channelId: body.channelId.toLowerCase() } : {}),
      });
      return c.json({ recovered });
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/attempts`,
    operationId: 'listAttempts',
    summary: 'List delivery attempts, newest first',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery.extend({
      deliveryId: optUuid,
      messageId: optUuid,
      channelId: optUuid,
      ok: z.enum(['true', 'false']).optional(),
      since: Timestamp.optional(),
      ...PageQuery,
    }),
    responses: {
      200: { description: 'A page of attempts', schema: Page(AttemptView) },
      400: problem('Bad filter.'),
      ...authErrors,
    },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const result = await deps.store.listAttempts(
        appId,
        {
          ...(query.deliveryId ? { deliveryId: query.deliveryId.toLowerCase() } : {}),
          ...(query.messageId ? { messageId: query.messageId.toLowerCase() } : {}),
          ...(query.channelId ? { channelId: query.channelId.toLowerCase() } : {}),
          ...(query.ok ? { ok: query.ok === 'true' } : {}),
          ...(query.since ? { since: Date.parse(query.since) } : {}),
        },
        page(query),
      );
      return c.json({ items: result.items.map(toAttemptView), nextCursor: result.nextCursor });
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/events`,
    operationId: 'listEvents',
    summary: 'List operational events (channel disabled or enabled by the platform), newest first',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery.extend(PageQuery),
    responses: { 200: { description: 'A page of events', schema: Page(EventView) }, ...authErrors },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const result = await deps.store.listEvents(appId, page(query));
      return c.json({ items: result.items.map(toEventView), nextCursor: result.nextCursor });
    },
  }),
];
