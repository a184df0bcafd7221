import { createHeraldClient, type DeliveryState } from '@herald/client';
import type { HeraldMessageType } from '@herald/schemas';
import type { CliApi, View } from './cli-api.ts';
import { CliError } from './cli-error.ts';
import { EXIT_CODES } from './exit-codes.ts';
import type { Connection } from './resolve-connection.ts';

const asView = (value: unknown): View => value as View;
const asViews = (value: unknown): View[] => value as View[];

/**
 * The commands' API over `@herald/client`. The documented channel API names the application in
 * every call: `--application`, then the credentials file, then the application of the caller's token.
 */
export function createCliApi(connection: Connection, applicationId: string | undefined): CliApi {
  const client = createHeraldClient({
    baseUrl: connection.baseUrl,
    ...(connection.token === undefined ? {} : { token: connection.token }),
    ...(connection.apiKey === undefined ? {} : { apiKey: connection.apiKey }),
    ...(connection.apiSecret === undefined ? {} : { apiSecret: connection.apiSecret }),
    userAgent: 'herald-cli',
  });
  let resolvedApp: Promise<string> | undefined;
  const appId = (): Promise<string> => {
    resolvedApp ??= (async () => {
      if (applicationId !== undefined) return applicationId;
      const token = await client.mintToken();
      if (token.applicationId === null) {
        throw new CliError(
          'no_application',
          'operator credentials: name the application with --application <id>',
          EXIT_CODES.usage,
        );
      }
      return token.applicationId;
    })();
    return resolvedApp;
  };
  const scope = () => (applicationId === undefined ? {} : { applicationId });

  return {
    applicationId: appId,
    createApplication: async (name) => asView(await client.createApplication({ name })),
    listApplications: async () => asViews(await client.listApplications()),
    issueKey: async (app, label) => asView(await client.createApiKey(app, label === undefined ? {} : { label })),
    listKeys: async (app) => asViews(await client.listApiKeys(app)),
    rotateKey: async (app, keyId) => asView(await client.rotateApiKey(app, keyId)),
    revokeKey: async (app, keyId) => client.revokeApiKey(app, keyId),
    mintToken: async () => asView(await client.mintToken()),

    listChannels: async () => asViews(await client.listChannels(await appId())),
    listActiveChannels: async () => asViews(await client.listActiveChannels(await appId())),
    getChannel: async (id) => asView(await client.getChannel(await appId(), id)),
    getChannelDetails: async (id) => asView(await client.getChannelDetails(id, scope())),
    deleteChannel: async (id) => client.deleteChannel(await appId(), id),
    createWebHookChannel: async (input) => asView(await client.createWebHookChannel(await appId(), input)),
    updateWebHookChannel: async (id, input) => asView(await client.updateWebHookChannel(await appId(), id, input)),
    createRabbitMqChannel: async (input) => asView(await client.createRabbitMqChannel(await appId(), input)),
    updateRabbitMqChannel: async (id, input) => asView(await client.updateRabbitMqChannel(await appId(), id, input)),
    rotateSigningSecret: async (id) => asView(await client.rotateSigningSecret(id, scope())),
    issueClientCertificate: async (id) => asView(await client.issueClientCertificate(id, scope())),

    publish: async (message, opts) =>
      asView(
        await client.publish(message as Record<string, unknown>, {
          ...scope(),
          ...(opts.type === undefined ? {} : { type: opts.type as HeraldMessageType }),
          ...(opts.correlationId === undefined ? {} : { correlationId: opts.correlationId }),
          ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }),
        }),
      ),
    listDeliveries: async (f) => {
      const page = await client.listDeliveries({
        ...scope(),
        ...(f.state === undefined ? {} : { state: f.state as DeliveryState }),
        ...(f.channelId === undefined ? {} : { channelId: f.channelId }),
        ...(f.messageId === undefined ? {} : { messageId: f.messageId }),
        ...(f.since === undefined ? {} : { since: f.since }),
        ...(f.limit === undefined ? {} : { limit: f.limit }),
        ...(f.cursor === undefined ? {} : { cursor: f.cursor }),
      });
      return { items: asViews(page.items), nextCursor: page.nextCursor };
    },
    getDelivery: async (id) => asView(await client.getDelivery(id, scope())),
    redeliver: async (id, force) => asView(await client.redeliver(id, { ...scope(), force })),
    recover: async (since, channelId) =>
      asView(await client.recover({ ...scope(), since, ...(channelId === undefined ? {} : { channelId }) })),
  };
}
