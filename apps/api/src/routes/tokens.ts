import { z } from 'zod';
import { defineRoute, type Route } from '../route.ts';
import { HERALD_BASE, problem } from './schemas.ts';

export const TokenResponse = z.object({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.int().describe('Seconds until the token expires'),
  applicationId: z.string().nullable(),
  role: z.enum(['application', 'operator']),
});

export const tokenRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: `${HERALD_BASE}/tokens`,
    operationId: 'mintToken',
    summary: 'Mint a JWT for the calling API key',
    description:
      'Authenticated by `x-api-key` and `x-api-secret` alone. Returns the Bearer token the documented API needs, carrying the key’s ApplicationId (and role).',
    tag: 'Credentials',
    auth: 'key',
    responses: {
      200: { description: 'A token', schema: TokenResponse },
      401: problem('Unknown, revoked or wrong API key or secret.'),
    },
    async handler({ c, deps, principal }) {
      const token = await deps.tokens.issue({ applicationId: principal.applicationId, role: principal.role });
      return c.json({
        token,
        tokenType: 'Bearer' as const,
        expiresIn: deps.tokens.ttlSeconds,
        applicationId: principal.applicationId,
        role: principal.role,
      });
    },
  }),
];
