import { z } from 'zod';
import { Uuid } from './fields.ts';

/** Query of the list and create endpoints: `?applicationId=...`. */
export const ApplicationQuery = z.object({ applicationId: Uuid });
export type ApplicationQuery = z.infer<typeof ApplicationQuery>;

/** Query of the get, update and delete endpoints: `?applicationId=...&configurationId=...`. */
export const ConfigurationQuery = z.object({ applicationId: Uuid, configurationId: Uuid });
export type ConfigurationQuery = z.infer<typeof ConfigurationQuery>;

function present(name: string) {
  // Credentials: say which header is missing, never what it held.
  return z
    .string({ error: () => `expected the ${name} header` })
    .min(1, { error: () => `expected a non-empty ${name} header` });
}

/**
 * The credential headers every API request carries, keyed as the documents print them (map them from
 * the request's case-insensitive headers first). Presence and shape only: `@herald/auth` verifies them.
 */
export const ApiCredentialHeaders = z.object({
  Authorization: z
    .string({ error: () => 'expected the Authorization header' })
    .regex(/^Bearer [^\s]+$/, { error: () => 'expected Authorization: Bearer <token>' }),
  'x-api-key': present('x-api-key'),
  'x-api-secret': present('x-api-secret'),
});
export type ApiCredentialHeaders = z.infer<typeof ApiCredentialHeaders>;
