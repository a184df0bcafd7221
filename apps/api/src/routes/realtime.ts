import { ProblemDetails } from '@herald/schemas';
import { z } from 'zod';
import { ApiError } from '../api-error.ts';
import { unauthorized } from '../authenticate.ts';
import { SIGNALR_HUB_PATH } from '../channel-view.ts';
import { defineRoute, type Route } from '../route.ts';

const NegotiateResponse = z.object({
  connectionId: z.string(),
  connectionToken: z.string().optional(),
  negotiateVersion: z.number(),
  availableTransports: z.array(z.object({ transport: z.string(), transferFormats: z.array(z.string()) })),
});

export const realtimeRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: `${SIGNALR_HUB_PATH}/negotiate`,
    operationId: 'negotiateSignalR',
    summary: 'SignalR negotiate for the notifications hub',
    description:
      'The first call of the official SignalR client libraries; they then open a WebSocket on `/hubs/notifications`. ' +
      'Authenticated by the application JWT alone (`Authorization: Bearer`, or `access_token` in the query for browsers): ' +
      "a connection receives only its own application's notifications, as `ReceiveNotification(message, meta)` where " +
      '`meta` carries `messageId` (stable across retries, for deduplication), `messageType`, `correlationId` and `publishedAt`. ' +
      'WebSockets is the only transport offered.',
    tag: 'Realtime',
    auth: 'public',
    responses: {
      200: { description: 'Negotiate answer', schema: NegotiateResponse },
      401: { description: "Missing or invalid token (the documents' 401 body)", schema: ProblemDetails },
      404: { description: 'The hub is not enabled on this process' },
    },
    async handler({ c, deps }) {
      if (deps.realtimeHub === undefined) throw new ApiError('not_found', 'The realtime hub is not enabled here.');
      const answer = await deps.realtimeHub.handleNegotiate(c.req.raw);
      // Refusals in the API's own shape: the documents' 401, problem details for the rest.
      if (answer.status === 401) throw unauthorized();
      if (answer.status >= 400) {
        await answer.body?.cancel();
        throw new ApiError(
          answer.status === 404 ? 'not_found' : 'invalid_request',
          'The negotiate request was refused.',
        );
      }
      // Re-emitted through the context so the API's prepared headers (security, correlation id) apply.
      return c.body(await answer.text(), 200, { 'content-type': 'application/json' });
    },
  }),
];
