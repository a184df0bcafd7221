import { ChannelConfigurationResponse } from '@herald/schemas';
import type { Channel, WebhookChannelConfig } from '@herald/store';
import { z } from 'zod';
import { ApiError, notFound } from '../api-error.ts';
import { scopeApplication } from '../authenticate.ts';
import { toHeraldChannelView } from '../channel-view.ts';
import { defineRoute, type ResolvedDeps, type Route } from '../route.ts';
import { authErrors, HERALD_BASE, pathId, problem, ScopeQuery } from './schemas.ts';

const TAG = 'Channels (Herald)';
const ChannelParams = z.object({ channelId: z.string() });

export const HeraldChannelView = ChannelConfigurationResponse.extend({
  auth: z
    .record(z.string(), z.unknown())
    .describe('Authentication settings; secrets appear only as "set" flags or counts'),
  options: z.object({
    orderingKey: z.string().nullable(),
    coalesceProgress: z.boolean(),
    maxInFlight: z.int().nullable(),
  }),
  disabledReason: z.string().nullable(),
  failingSince: z.string().nullable(),
});

async function webhookChannel(deps: ResolvedDeps, appId: string, id: string): Promise<Channel> {
  const channel = await deps.store.getChannel(appId, pathId(id, 'channel'));
  if (channel === null) throw notFound('channel');
  if (channel.kind !== 0) {
    throw new ApiError('invalid_request', 'This operation applies to WebHook channels only.', {
      errors: { channelId: ['expected a WebHook channel'] },
    });
  }
  return channel;
}

export const channelExtraRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/channels/:channelId`,
    operationId: 'getChannelDetails',
    summary: 'Get a channel with Herald’s settings (auth options, delivery options, health)',
    description:
      'Never returns a secret: secrets appear only as flags (`secretHeaderValueSet`, `passwordSet`) or counts.',
    tag: TAG,
    auth: 'application',
    params: ChannelParams,
    query: ScopeQuery,
    responses: { 200: { description: 'The channel', schema: HeraldChannelView }, ...authErrors },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const channel = await deps.store.getChannel(appId, pathId(params.channelId, 'channel'));
      if (channel === null) throw notFound('channel');
      return c.json(toHeraldChannelView(channel));
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/channels/:channelId/signing-secret`,
    operationId: 'rotateSigningSecret',
    summary: 'Generate a new Standard Webhooks signing secret (shown once)',
    description:
      'Turns signatures on. The new secret signs from now on; the previous one keeps signing beside it (both signatures sent) until the next rotation or `?keepPrevious=false`, so a receiver can switch without losing pushes.',
    tag: TAG,
    auth: 'application',
    params: ChannelParams,
    query: ScopeQuery.extend({ keepPrevious: z.enum(['true', 'false']).optional() }),
    responses: {
      200: {
        description: 'The new secret: store it now, it is never shown again',
        schema: z.object({ signingSecret: z.string(), activeSecrets: z.int() }),
      },
      400: problem('Not a WebHook channel.'),
      ...authErrors,
    },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const channel = await webhookChannel(deps, appId, params.channelId);
      const fresh = deps.generateSigningSecret();
      const previous = query.keepPrevious === 'false' ? [] : (channel.secrets.signingSecrets ?? []).slice(0, 1);
      const signingSecrets = [fresh, ...previous];
      await deps.store.updateChannel(appId, channel.id, {
        config: { ...(channel.config as WebhookChannelConfig), signatures: true },
        secrets: { ...channel.secrets, signingSecrets },
      });
      return c.json({ signingSecret: fresh, activeSecrets: signingSecrets.length });
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/channels/:channelId/client-certificate`,
    operationId: 'issueClientCertificate',
    summary: 'Issue a new mTLS client certificate for pushes to this WebHook channel',
    description:
      'Herald creates the key pair and keeps the private key (encrypted at rest); the response carries the certificate and the CA that signed it, for the receiver to trust. Replaces any earlier certificate.',
    tag: TAG,
    auth: 'application',
    params: ChannelParams,
    query: ScopeQuery,
    responses: {
      200: {
        description: 'The certificate (public)',
        schema: z.object({ certificatePem: z.string(), caCertificatePem: z.string(), notAfter: z.string() }),
      },
      400: problem('Not a WebHook channel.'),
      ...authErrors,
      501: problem('Client certificates are not configured on this platform.'),
    },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const channel = await webhookChannel(deps, appId, params.channelId);
      if (deps.clientCertificates === undefined) {
        throw new ApiError('not_configured', 'Client certificates are not configured on this platform.');
      }
      const issued = await deps.clientCertificates.issue(`herald-${appId}`);
      await deps.store.updateChannel(appId, channel.id, {
        config: { ...(channel.config as WebhookChannelConfig), clientCertificatePem: issued.certPem },
        secrets: { ...channel.secrets, clientKeyPem: issued.keyPem },
      });
      return c.json({
        certificatePem: issued.certPem,
        caCertificatePem: issued.caPem,
        notAfter: issued.notAfter.toISOString(),
      });
    },
  }),
];
