import {
  ActiveChannelConfigurationsResponse,
  ChannelConfigurationListResponse,
  ChannelConfigurationResponse,
  DeleteChannelConfigurationResponse,
  PASSWORD_MASK,
  ProblemDetails,
  RabbitMqChannelRequest,
  SignalRChannelRequest,
  Uuid,
  WebHookChannelRequest,
} from '@herald/schemas';
import type {
  Channel,
  ChannelConfig,
  ChannelOptions,
  ChannelSecrets,
  RabbitMqChannelConfig,
  WebhookChannelConfig,
} from '@herald/store';
import { z } from 'zod';
import { ApiError, notFound } from '../api-error.ts';
import { scopeApplication } from '../authenticate.ts';
import { toChannelConfigurationResponse } from '../channel-view.ts';
import { checkDestination } from '../check-destination.ts';
import { defineRoute, type ResolvedDeps, type Route } from '../route.ts';

const BASE = '/api/v1/Notification/ChannelConfiguration';
const TAG = 'Channel configuration (documented API)';

const AppQuery = z.object({ applicationId: Uuid });
const ConfigQuery = z.object({ applicationId: Uuid, configurationId: Uuid });

const SAFETY =
  ' Herald never returns secrets: the RabbitMQ `Password` inside `notificationChannelConfigurationJSON` is always "********", and webhook secrets are never echoed.';

const problem = (description: string) => ({ description, schema: ProblemDetails });
const commonErrors = {
  400: problem('Validation failed: `errors` maps each field path to its messages.'),
  401: problem('Token is missing, invalid or ApplicationId is not found in the token.'),
  404: problem('Unknown application or configuration (another application’s resources are never revealed).'),
};

function options(
  req: { orderingKey?: string | undefined; coalesceProgress?: boolean | undefined; maxInFlight?: number | undefined },
  prev?: ChannelOptions,
): ChannelOptions {
  const out: ChannelOptions = { ...(prev ?? {}) };
  if (req.orderingKey !== undefined) out.orderingKey = req.orderingKey;
  if (req.coalesceProgress !== undefined) out.coalesceProgress = req.coalesceProgress;
  if (req.maxInFlight !== undefined) out.maxInFlight = req.maxInFlight;
  return out;
}

async function webhookParts(
  deps: ResolvedDeps,
  applicationId: string,
  req: WebHookChannelRequest,
  prev: Channel | null,
): Promise<{ config: WebhookChannelConfig; secrets: ChannelSecrets; options: ChannelOptions }> {
  await checkDestination(deps.destinationPolicy, 'webHookUrl', req.webHookUrl, {
    schemes: deps.allowHttp ? ['https:', 'http:'] : ['https:'],
  });
  const prevConfig = prev?.kind === 0 ? (prev.config as WebhookChannelConfig) : undefined;
  const secrets: ChannelSecrets = { ...(prev?.kind === 0 ? prev.secrets : {}) };
  const config: WebhookChannelConfig = {
    ...(prevConfig ?? {}),
    webHookUrl: req.webHookUrl,
    retryCount: req.retryCount,
    exponentialBackoffFactor: req.exponentialBackoffFactor,
  };
  if (req.secretHeaderName !== undefined && req.secretHeaderValue !== undefined) {
    config.secretHeaderName = req.secretHeaderName;
    secrets.secretHeaderValue = req.secretHeaderValue;
  }
  if (req.signingSecret !== undefined) {
    config.signatures = true;
    secrets.signingSecrets = [req.signingSecret];
  }
  if (req.sourceAddress !== undefined) config.sourceAddress = req.sourceAddress;
  if (req.clientCertificate === 'generate') {
    if (deps.clientCertificates === undefined) {
      throw new ApiError('not_configured', 'Client certificates are not configured on this platform.');
    }
    const issued = await deps.clientCertificates.issue(`herald-${applicationId}`);
    config.clientCertificatePem = issued.certPem;
    secrets.clientKeyPem = issued.keyPem;
  }
  return { config, secrets, options: options(req, prev?.options) };
}

async function rabbitParts(
  deps: ResolvedDeps,
  req: RabbitMqChannelRequest,
  prev: Channel | null,
): Promise<{ config: RabbitMqChannelConfig; secrets?: ChannelSecrets; options: ChannelOptions }> {
  await checkDestination(deps.destinationPolicy, 'url', req.url, { schemes: ['amqp:', 'amqps:'] });
  const prevConfig = prev?.kind === 2 ? (prev.config as RabbitMqChannelConfig) : undefined;
  // A client that reads a configuration and writes it back sends the mask Herald returned in place of the
  // password: on an update that keeps the stored password instead of replacing it with the mask.
  const keepPassword = prevConfig !== undefined && req.password === PASSWORD_MASK;
  return {
    config: { ...(prevConfig ?? {}), url: req.url, username: req.username, queueName: req.queueName },
    ...(keepPassword ? {} : { secrets: { password: req.password } }),
    options: options(req, prev?.options),
  };
}

async function existing(
  deps: ResolvedDeps,
  applicationId: string,
  configurationId: string,
  kind?: 0 | 1 | 2,
): Promise<Channel> {
  const channel = await deps.store.getChannel(applicationId, configurationId.toLowerCase());
  if (channel === null || (kind !== undefined && channel.kind !== kind)) throw notFound('configuration');
  return channel;
}

/** What a create or update writes besides the flags, derived from the previous channel (null on create). */
type ChannelParts = { config: ChannelConfig; secrets?: ChannelSecrets; options: ChannelOptions };

/**
 * Shared create/update of the documented channel endpoints: creates when `configurationId` is absent,
 * otherwise updates the application's channel of that kind (another kind or application is 404).
 */
async function saveChannel(
  deps: ResolvedDeps,
  applicationId: string,
  kind: 0 | 1 | 2,
  configurationId: string | undefined,
  body: { isActive: boolean; includeImageData?: boolean | undefined },
  parts: (prev: Channel | null) => Promise<ChannelParts>,
): Promise<Channel> {
  if (configurationId === undefined) {
    const flags = { isActive: body.isActive, includeImageData: body.includeImageData ?? false };
    return deps.store.createChannel({ applicationId, kind, ...flags, ...(await parts(null)) });
  }
  const prev = await existing(deps, applicationId, configurationId, kind);
  const flags = { isActive: body.isActive, includeImageData: body.includeImageData ?? prev.includeImageData };
  const updated = await deps.store.updateChannel(applicationId, prev.id, { ...flags, ...(await parts(prev)) });
  if (updated === null) throw notFound('configuration');
  return updated;
}

export const channelConfigurationRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: `${BASE}/All`,
    operationId: 'listChannelConfigurations',
    summary: 'List all notification channel configurations of an application',
    description: `A plain JSON array.${SAFETY}`,
    tag: TAG,
    auth: 'application',
    query: AppQuery,
    responses: {
      200: { description: 'Every configuration', schema: ChannelConfigurationListResponse },
      ...commonErrors,
    },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const channels = await deps.store.listChannels(appId);
      return c.json(channels.map((ch) => toChannelConfigurationResponse(ch, true)));
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${BASE}/Active`,
    operationId: 'listActiveChannelConfigurations',
    summary: 'List the active notification channel configurations of an application',
    description: `Wrapped as \`{"$id":"1","$values":[...]}\` like the documented server; 404 with the documented body when none is active.${SAFETY}`,
    tag: TAG,
    auth: 'application',
    query: AppQuery,
    responses: {
      200: { description: 'Active configurations', schema: ActiveChannelConfigurationsResponse },
      ...commonErrors,
      404: problem('No active notification channel (the documented body), or an unknown application.'),
    },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const channels = await deps.store.listChannels(appId, { activeOnly: true });
      if (channels.length === 0) throw noActiveChannel(appId);
      return c.json({ $id: '1', $values: channels.map((ch) => toChannelConfigurationResponse(ch, true)) });
    },
  }),
  defineRoute({
    method: 'GET',
    path: BASE,
    operationId: 'getChannelConfiguration',
    summary: 'Get one notification channel configuration',
    description: SAFETY.trim(),
    tag: TAG,
    auth: 'application',
    query: ConfigQuery,
    responses: { 200: { description: 'The configuration', schema: ChannelConfigurationResponse }, ...commonErrors },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      return c.json(toChannelConfigurationResponse(await existing(deps, appId, query.configurationId), true));
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: BASE,
    operationId: 'deleteChannelConfiguration',
    summary: 'Delete one notification channel configuration',
    description: 'Answers `true`. Pending deliveries to the channel are no longer attempted.',
    tag: TAG,
    auth: 'application',
    query: ConfigQuery,
    responses: { 200: { description: '`true`', schema: DeleteChannelConfigurationResponse }, ...commonErrors },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const deleted = await deps.store.deleteChannel(appId, query.configurationId.toLowerCase());
      if (!deleted) throw notFound('configuration');
      return c.json(true);
    },
  }),
  ...(['POST', 'PUT'] as const).flatMap((method) => {
    const create = method === 'POST';
    const verb = create ? 'Create' : 'Update';
    const query = create ? AppQuery : ConfigQuery;
    const responses = {
      200: { description: `The ${create ? 'new' : 'updated'} configuration`, schema: ChannelConfigurationResponse },
      ...commonErrors,
      422: problem(
        'The URL points to a destination the platform does not deliver to (the reason never reveals addresses).',
      ),
    };
    return [
      defineRoute({
        method,
        path: `${BASE}/RabbitMQ`,
        operationId: `${create ? 'create' : 'update'}RabbitMqChannel`,
        summary: `${verb} a RabbitMQ notification channel configuration`,
        description: `Body as multipart/form-data, application/x-www-form-urlencoded or JSON. The password is stored encrypted and never returned.${SAFETY}`,
        tag: TAG,
        auth: 'application',
        query,
        body: RabbitMqChannelRequest,
        bodyKinds: ['form', 'json'],
        aspNetBinding: true,
        responses,
        async handler({ c, deps, query: q, body, principal }) {
          const appId = await scopeApplication(deps, principal, q.applicationId);
          const id = create ? undefined : (q as z.output<typeof ConfigQuery>).configurationId;
          const channel = await saveChannel(deps, appId, 2, id, body, (prev) => rabbitParts(deps, body, prev));
          return c.json(toChannelConfigurationResponse(channel, false));
        },
      }),
      defineRoute({
        method,
        path: `${BASE}/WebHook`,
        operationId: `${create ? 'create' : 'update'}WebHookChannel`,
        summary: `${verb} a WebHook notification channel configuration`,
        description:
          'Body as multipart/form-data, application/x-www-form-urlencoded or JSON. The URL must be https (unless the operator allows http) and resolve to a public address. ' +
          'Optional Herald fields configure the push authentication: `secretHeaderName` + `secretHeaderValue` (shared secret header), `signingSecret` (Standard Webhooks signatures), ' +
          '`sourceAddress` (fixed source IP), `clientCertificate: "generate"` (mutual TLS; Herald keeps the key, the certificate is shown by the Herald channel view), and delivery options ' +
          `\`orderingKey\`, \`coalesceProgress\`, \`maxInFlight\`. On update, omitted optional fields keep their value.${SAFETY}`,
        tag: TAG,
        auth: 'application',
        query,
        body: WebHookChannelRequest,
        bodyKinds: ['form', 'json'],
        aspNetBinding: true,
        responses,
        async handler({ c, deps, query: q, body, principal }) {
          const appId = await scopeApplication(deps, principal, q.applicationId);
          const id = create ? undefined : (q as z.output<typeof ConfigQuery>).configurationId;
          const channel = await saveChannel(deps, appId, 0, id, body, (prev) => webhookParts(deps, appId, body, prev));
          return c.json(toChannelConfigurationResponse(channel, false));
        },
      }),
      defineRoute({
        method,
        path: `${BASE}/SignalR`,
        operationId: `${create ? 'create' : 'update'}SignalRChannel`,
        summary: `${verb} a SignalR notification channel configuration (Herald addition)`,
        description:
          'The documents name the SignalR channel (1) without an endpoint for it; Herald adds this one. ' +
          "Pushes go to the application's clients connected to the hub at `/hubs/notifications` " +
          '(the official SignalR client libraries work unchanged; they authenticate with the JWT of the application). ' +
          'Body as multipart/form-data, application/x-www-form-urlencoded or JSON: `isActive`, `includeImageData`, and the delivery options.',
        tag: TAG,
        auth: 'application',
        query,
        body: SignalRChannelRequest,
        bodyKinds: ['form', 'json'],
        aspNetBinding: true,
        responses,
        async handler({ c, deps, query: q, body, principal }) {
          const appId = await scopeApplication(deps, principal, q.applicationId);
          const id = create ? undefined : (q as z.output<typeof ConfigQuery>).configurationId;
          const channel = await saveChannel(deps, appId, 1, id, body, async (prev) => ({
            config: prev?.config ?? {},
            options: options(body, prev?.options),
          }));
          return c.json(toChannelConfigurationResponse(channel, false));
        },
      }),
    ];
  }),
];

/** The documents' 404 for an application without an active channel. */
export function noActiveChannel(applicationId: string): ApiError {
  return new ApiError(
    'no_active_channel',
    `No active notification channel configurations found for Application ${applicationId}.`,
    {
      errors: {
        'engine: Active': [`No active notification channel configurations found for Application ${applicationId}.`],
        'business: Active': [
          `Error getting active notification channel configurations for Application: ${applicationId}`,
        ],
      },
    },
  );
}
