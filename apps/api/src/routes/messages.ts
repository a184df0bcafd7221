import {
  HERALD_MESSAGE_TYPES,
  HeraldMessageType,
  IMAGE_CHECKING_MESSAGE_TYPE,
  messageJsonSchemas,
  parseHeraldMessage,
} from '@herald/schemas';
import type { MessageRecord } from '@herald/store';
import { z } from 'zod';
import { ApiError, notFound } from '../api-error.ts';
import { scopeApplication } from '../authenticate.ts';
import { requestHeader } from '../node-request.ts';
import { defineRoute, type Route } from '../route.ts';
import { noActiveChannel } from './channel-configuration.ts';
import { DeliveryView, toDeliveryView } from './delivery-log.ts';
import { authErrors, HERALD_BASE, iso, Page, PageQuery, pathId, problem, ScopeQuery, Timestamp } from './schemas.ts';

const TAG = 'Messages';
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export const PublishResponse = z.object({
  id: z.uuid(),
  deliveries: z.int().describe('Deliveries created, one per active channel'),
  duplicate: z.boolean().describe('True when an earlier request with the same Idempotency-Key and body was answered'),
});

export const MessageView = z.object({
  id: z.uuid(),
  applicationId: z.uuid(),
  type: z.string(),
  correlationId: z.string().nullable(),
  traceparent: z.string().nullable(),
  createdAt: z.string(),
  body: z.unknown().describe('The message exactly as delivered'),
});

export function toMessageView(m: MessageRecord) {
  let body: unknown;
  try {
    body = JSON.parse(m.body);
  } catch {
    body = m.body;
  }
  return {
    id: m.id,
    applicationId: m.applicationId,
    type: m.type,
    correlationId: m.correlationId,
    traceparent: m.traceparent,
    createdAt: iso(m.createdAt),
    body,
  };
}

function fieldError(field: string, message: string): ApiError {
  return new ApiError('invalid_request', message, { errors: { [field]: [message] } });
}

export const messageRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/messages`,
    operationId: 'publishMessage',
    summary: 'Publish a message to every active channel of the application',
    description:
      'Any known message: the ten image-generation types (detected by `MessageType`) or the image-checking notification (no `MessageType`); `?type=` forces one. ' +
      'Validated, stored with one delivery per active channel in one transaction, answered 202. No active channel: the documents’ 404, nothing stored. ' +
      'Spends one usage credit of the calling API key (402 when exhausted). A Rejected image-checking message must carry a code of the application’s rejection-code catalogue when the catalogue is not empty. ' +
      '`Idempotency-Key`: the same key and body answer the first message’s id again; a different body under the same key is 409. `x-correlation-id` and `traceparent` are carried to every delivery.',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery.extend({ type: HeraldMessageType.optional() }),
    body: z.unknown(),
    openapiBody: { oneOf: Object.values(messageJsonSchemas()) },
    headers: [
      { name: 'Idempotency-Key', description: 'Up to 200 visible ASCII characters' },
      {
        name: 'x-correlation-id',
        description: 'Carried to every delivery; generated when absent and echoed on every response',
      },
      { name: 'traceparent', description: 'W3C trace context, carried to every delivery' },
    ],
    responses: {
      202: { description: 'Accepted', schema: PublishResponse },
      400: problem('Validation failed: `errors` maps each field path to its messages.'),
      402: problem('The API key has no usage credits left.'),
      ...authErrors,
      404: problem('No active notification channel (the documents’ body).'),
      409: problem('The Idempotency-Key was used with a different body.'),
    },
    async handler({ c, deps, query, body, principal, traceId }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      // Keys with limited credits are charged only for valid messages: validate before spending.
      // Otherwise the engine validates (once) and these checks read the raw fields.
      if (principal.apiKey.credits !== null) {
        const parsed = parseHeraldMessage(body, query.type, { traceId });
        if (!parsed.ok) {
          throw new ApiError('invalid_request', 'One or more validation errors occurred.', {
            errors: parsed.problem.errors,
          });
        }
      }
      const message =
        typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
      const messageAppId = message['ApplicationId'];
      if (typeof messageAppId === 'string' && messageAppId.toLowerCase() !== appId) {
        throw fieldError('ApplicationId', 'expected the ApplicationId of the calling application');
      }
      const type = query.type ?? (message['MessageType'] === undefined ? IMAGE_CHECKING_MESSAGE_TYPE : undefined);
      if (type === IMAGE_CHECKING_MESSAGE_TYPE && message['ImageState'] === 'Rejected') {
        const catalogue = await deps.store.listRejectionCodes(appId);
        const code = message['RejectionCode'];
        if (catalogue.length > 0 && !catalogue.some((r) => r.code === code)) {
          throw fieldError(
            'RejectionCode',
            `expected one of the application's rejection codes: ${catalogue.map((r) => r.code).join(', ')}`,
          );
        }
      }
      const idempotencyKey = requestHeader(c, 'idempotency-key');
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
        throw fieldError('Idempotency-Key', 'expected 1 to 200 visible ASCII characters');
      }
      const traceparent = requestHeader(c, 'traceparent');
      if (principal.apiKey.credits !== null) {
        // Keys with limited credits are not charged for a request refused for want of an active channel.
        const active = await deps.store.listChannels(appId, { activeOnly: true });
        if (active.length === 0) throw noActiveChannel(appId);
      }
      // Unlimited keys (credits null, as read at authentication) skip the write.
      if (principal.apiKey.credits !== null) {
        const spent = await deps.store.spendCredits(principal.apiKey.id, 1);
        if (!spent.ok) {
          throw new ApiError(
            'credits_exhausted',
            'The usage credits of this API key are exhausted; ask the platform operator for more.',
          );
        }
      }
      const result = await deps.engine.publish({
        applicationId: appId,
        body,
        ...(type === undefined ? {} : { type }),
        correlationId: c.get('correlationId'),
        traceId,
        ...(traceparent !== undefined && traceparent.length <= 512 ? { traceparent } : {}),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      });
      if (!result.ok) {
        if (result.reason === 'no_active_channel') throw noActiveChannel(appId);
        if (result.reason === 'idempotency_conflict') {
          const message = 'this Idempotency-Key was already used with a different body';
          throw new ApiError('idempotency_conflict', message, { errors: { 'Idempotency-Key': [message] } });
        }
        throw new ApiError('invalid_request', 'One or more validation errors occurred.', {
          errors: result.problem.errors,
        });
      }
      return c.json({ id: result.message.id, deliveries: result.deliveries.length, duplicate: result.duplicate }, 202);
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/messages`,
    operationId: 'listMessages',
    summary: 'List published messages, newest first',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery.extend({
      type: z.enum(HERALD_MESSAGE_TYPES).optional(),
      since: Timestamp.optional(),
      until: Timestamp.optional(),
      correlationId: z.string().max(128).optional(),
      ...PageQuery,
    }),
    responses: { 200: { description: 'A page of messages', schema: Page(MessageView) }, ...authErrors },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const page = await deps.store.listMessages(
        appId,
        {
          ...(query.type ? { type: query.type } : {}),
          ...(query.since ? { since: Date.parse(query.since) } : {}),
          ...(query.until ? { until: Date.parse(query.until) } : {}),
          ...(query.correlationId ? { correlationId: query.correlationId } : {}),
        },
        { ...(query.limit ? { limit: query.limit } : {}), cursor: query.cursor ?? null },
      );
      return c.json({ items: page.items.map(toMessageView), nextCursor: page.nextCursor });
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/messages/:messageId`,
    operationId: 'getMessage',
    summary: 'Get one message with its deliveries',
    tag: TAG,
    auth: 'application',
    params: z.object({ messageId: z.string() }),
    query: ScopeQuery,
    responses: {
      200: { description: 'The message', schema: MessageView.extend({ deliveries: z.array(DeliveryView) }) },
      ...authErrors,
    },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const message = await deps.store.getMessage(appId, pathId(params.messageId, 'message'));
      if (message === null) throw notFound('message');
      const deliveries = await deps.store.listDeliveries(appId, { messageId: message.id }, { limit: 100 });
      return c.json({ ...toMessageView(message), deliveries: deliveries.items.map(toDeliveryView) });
    },
  }),
];
