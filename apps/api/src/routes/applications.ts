import type { Application } from '@herald/store';
import { z } from 'zod';
import { notFound } from '../api-error.ts';
import { defineRoute, type Route } from '../route.ts';
import { HERALD_BASE, iso, operatorErrors, pathId, problem } from './schemas.ts';

const TAG = 'Operators: applications';

export const ApplicationView = z.object({
  id: z.uuid(),
  name: z.string(),
  rateLimitPerSecond: z.int().nullable(),
  createdAt: z.string(),
});

export const toApplicationView = (a: Application) => ({
  id: a.id,
  name: a.name,
  rateLimitPerSecond: a.rateLimitPerSecond,
  createdAt: iso(a.createdAt),
});

export const applicationRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/applications`,
    operationId: 'createApplication',
    summary: 'Create an application (tenant)',
    tag: TAG,
    auth: 'operator',
    body: z.strictObject({
      name: z.string().min(1).max(200),
      rateLimitPerSecond: z.int().min(1).max(1_000_000).nullable().optional(),
    }),
    responses: {
      201: { description: 'The application', schema: ApplicationView },
      400: problem('Bad body.'),
      ...operatorErrors,
    },
    async handler({ c, deps, body }) {
      const app = await deps.store.createApplication({
        name: body.name,
        rateLimitPerSecond: body.rateLimitPerSecond ?? null,
      });
      return c.json(toApplicationView(app), 201);
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/applications`,
    operationId: 'listApplications',
    summary: 'List applications',
    tag: TAG,
    auth: 'operator',
    responses: { 200: { description: 'Every application', schema: z.array(ApplicationView) }, ...operatorErrors },
    async handler({ c, deps }) {
      return c.json((await deps.store.listApplications()).map(toApplicationView));
    },
  }),
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/applications/:applicationId`,
    operationId: 'getApplication',
    summary: 'Get one application',
    tag: TAG,
    auth: 'operator',
    params: z.object({ applicationId: z.string() }),
    responses: { 200: { description: 'The application', schema: ApplicationView }, ...operatorErrors },
    async handler({ c, deps, params }) {
      const app = await deps.store.getApplication(pathId(params.applicationId, 'application'));
      if (app === null) throw notFound('application');
      return c.json(toApplicationView(app));
    },
  }),
];
