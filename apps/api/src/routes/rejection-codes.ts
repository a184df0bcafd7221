import { ACCEPTED_REJECTION_CODE } from '@herald/schemas';
import { z } from 'zod';
import { ApiError, notFound } from '../api-error.ts';
import { scopeApplication } from '../authenticate.ts';
import { defineRoute, type Route } from '../route.ts';
import { authErrors, HERALD_BASE, problem, ScopeQuery } from './schemas.ts';

const TAG = 'Rejection codes';
const CODE_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

export const RejectionCodeView = z.object({ code: z.string(), description: z.string() });
const CodeParams = z.object({ code: z.string() });

function checkCode(code: string): string {
  if (!CODE_PATTERN.test(code)) {
    const message = 'expected a code of 1 to 32 letters, digits, "_", "." or "-"';
    throw new ApiError('invalid_request', message, { errors: { code: [message] } });
  }
  if (code === ACCEPTED_REJECTION_CODE) {
    const message = `"${ACCEPTED_REJECTION_CODE}" is reserved for accepted images`;
    throw new ApiError('invalid_request', message, { errors: { code: [message] } });
  }
  return code;
}

export const rejectionCodeRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: `${HERALD_BASE}/rejection-codes`,
    operationId: 'listRejectionCodes',
    summary: 'List the application’s rejection-code catalogue',
    description:
      'When the catalogue is not empty, a Rejected image-checking message must carry one of its codes. "00" is reserved for Accepted.',
    tag: TAG,
    auth: 'application',
    query: ScopeQuery,
    responses: { 200: { description: 'The catalogue', schema: z.array(RejectionCodeView) }, ...authErrors },
    async handler({ c, deps, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const codes = await deps.store.listRejectionCodes(appId);
      return c.json(codes.map((r) => ({ code: r.code, description: r.description })));
    },
  }),
  defineRoute({
    method: 'PUT',
    path: `${HERALD_BASE}/rejection-codes/:code`,
    operationId: 'putRejectionCode',
    summary: 'Add or change one rejection code',
    tag: TAG,
    auth: 'application',
    params: CodeParams,
    query: ScopeQuery,
    body: z.strictObject({ description: z.string().min(1).max(500) }),
    responses: {
      200: { description: 'The stored code', schema: RejectionCodeView },
      400: problem('Bad code (or "00", reserved) or description.'),
      ...authErrors,
    },
    async handler({ c, deps, params, query, body, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      const stored = await deps.store.upsertRejectionCode({
        applicationId: appId,
        code: checkCode(params.code),
        description: body.description,
      });
      return c.json({ code: stored.code, description: stored.description });
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: `${HERALD_BASE}/rejection-codes/:code`,
    operationId: 'deleteRejectionCode',
    summary: 'Remove one rejection code',
    tag: TAG,
    auth: 'application',
    params: CodeParams,
    query: ScopeQuery,
    responses: { 200: { description: '`true`', schema: z.literal(true) }, ...authErrors },
    async handler({ c, deps, params, query, principal }) {
      const appId = await scopeApplication(deps, principal, query.applicationId);
      if (!(await deps.store.deleteRejectionCode(appId, params.code))) throw notFound('rejection code');
      return c.json(true);
    },
  }),
];
