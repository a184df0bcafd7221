import type { ApiKey } from '@herald/store';
import { z } from 'zod';
import { notFound } from '../api-error.ts';
import { defineRoute, type ResolvedDeps, type Route } from '../route.ts';
import { authErrors, HERALD_BASE, iso, operatorErrors, pathId, problem } from './schemas.ts';

const TAG = 'Operators: API keys and credits';

export const ApiKeyView = z.object({
  id: z.uuid(),
  applicationId: z.uuid().nullable(),
  role: z.enum(['application', 'operator']),
  key: z.string().describe('The public x-api-key value'),
  label: z.string().nullable(),
  credits: z.int().nullable().describe('Remaining usage credits; null = unlimited'),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

export const NewApiKeyView = ApiKeyView.extend({
  secret: z.string().describe('The x-api-secret: shown once, stored only as a hash'),
});

const toApiKeyView = (k: ApiKey) => ({
  id: k.id,
  applicationId: k.applicationId,
  role: k.role,
  key: k.key,
  label: k.label,
  credits: k.credits,
  createdAt: iso(k.createdAt),
  revokedAt: iso(k.revokedAt),
});

const AppParams = z.object({ applicationId: z.string() });
const KeyParams = z.object({ applicationId: z.string(), keyId: z.string() });
const Credits = z.int().min(0).max(1_000_000_000).nullable();

async function applicationOf(deps: ResolvedDeps, id: string): Promise<string> {
  const app = await deps.store.getApplication(pathId(id, 'application'));
  if (app === null) throw notFound('application');
  return app.id;
}

async function keyOf(deps: ResolvedDeps, params: { applicationId: string; keyId: string }): Promise<ApiKey> {
  const appId = await applicationOf(deps, params.applicationId);
  const keyId = pathId(params.keyId, 'API key');
  const key = (await deps.store.listApiKeys(appId)).find((k) => k.id === keyId);
  if (key === undefined) throw notFound('API key');
  return key;
}

async function issueKey(
  deps: ResolvedDeps,
  applicationId: string,
  label: string | null,
  credits: number | null,
): Promise<Record<string, unknown>> {
  const fresh = deps.credentials.generate();
  const key = await deps.store.createApiKey({
    applicationId,
    role: 'application',
    key: fresh.key,
    secretHash: await deps.credentials.hash(fresh.secret),
    label,
    credits,
  });
  return { ...toApiKeyView(key), secret: fresh.secret };
}

export const apiKeyRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/applications/:applicationId/keys`,
    operationId: 'createApiKey',
    summary: 'Issue an API key for an application (the secret is shown once)',
    tag: TAG,
    auth: 'operator',
    params: AppParams,
    body: z.strictObject({ label: z.string().max(200).optional(), credits: Credits.optional() }),
    responses: {
      201: { description: 'The key with its secret', schema: NewApiKeyView },
      400: problem('Bad body.'),
      ...operatorErrors,
    },
    async handler({ c, deps, params, body }) {
      const appId = await applicationOf(deps, params.applicationId);
      return c.json(await issueKey(deps, appId, body.label ?? null, body.credits ?? null), 201);
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/applications/:applicationId/keys`,
    operationId: 'listApiKeys',
    summary: 'List an application’s API keys (never their secrets)',
    tag: TAG,
    auth: 'operator',
    params: AppParams,
    responses: { 200: { description: 'The keys', schema: z.array(ApiKeyView) }, ...operatorErrors },
    async handler({ c, deps, params }) {
      const appId = await applicationOf(deps, params.applicationId);
      return c.json((await deps.store.listApiKeys(appId)).map(toApiKeyView));
    },
  }),
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/applications/:applicationId/keys/:keyId/rotate`,
    operationId: 'rotateApiKey',
    summary: 'Replace an API key by a new key and secret (shown once); the old key is revoked',
    description: 'The new key keeps the label and remaining credits of the old one.',
    tag: TAG,
    auth: 'operator',
    params: KeyParams,
    responses: { 201: { description: 'The new key with its secret', schema: NewApiKeyView }, ...operatorErrors },
    async handler({ c, deps, params }) {
      const old = await keyOf(deps, params);
      if (old.revokedAt !== null) throw notFound('API key');
      const fresh = await issueKey(deps, old.applicationId!, old.label, old.credits);
      await deps.store.revokeApiKey(old.id, deps.now());
      deps.credentials.forget();
      deps.apiKeys.clear();
      return c.json(fresh, 201);
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: `${HERALD_BASE}/applications/:applicationId/keys/:keyId`,
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    tag: TAG,
    auth: 'operator',
    params: KeyParams,
    responses: { 200: { description: '`true`', schema: z.literal(true) }, ...operatorErrors },
    async handler({ c, deps, params }) {
      const key = await keyOf(deps, params);
      await deps.store.revokeApiKey(key.id, deps.now());
      deps.credentials.forget();
      deps.apiKeys.clear();
      return c.json(true);
    },
  }),
  defineRoute({
    method: 'PUT',
    path: `${HERALD_BASE}/applications/:applicationId/keys/:keyId/credits`,
    operationId: 'setApiKeyCredits',
    summary: 'Set the usage credits of an API key (null = unlimited)',
    tag: TAG,
    auth: 'operator',
    params: KeyParams,
    body: z.strictObject({ credits: Credits }),
    responses: { 200: { description: 'The key', schema: ApiKeyView }, 400: problem('Bad body.'), ...operatorErrors },
    async handler({ c, deps, params, body }) {
      const key = await keyOf(deps, params);
      await deps.store.setCredits(key.id, body.credits);
      deps.apiKeys.clear();
      return c.json(toApiKeyView({ ...key, credits: body.credits }));
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/usage`,
    operationId: 'getUsage',
    summary: 'Remaining usage credits of the calling API key',
    tag: 'Credentials',
    auth: 'application',
    responses: {
      200: {
        description: 'Credits left (null = unlimited)',
        schema: z.object({ applicationId: z.uuid().nullable(), key: z.string(), credits: z.int().nullable() }),
      },
      ...authErrors,
    },
    async handler({ c, deps, principal }) {
      const fresh = await deps.store.findApiKey(principal.apiKey.key);
      return c.json({
        applicationId: principal.applicationId,
        key: principal.apiKey.key,
        credits: fresh?.credits ?? null,
      });
    },
  }),
];
