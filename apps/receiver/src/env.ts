import { z } from 'zod';
import { ReceiverError } from './receiver-error.ts';

const Env = z.object({
  /** Path of the JSON config file (see README). */
  HERALD_RECEIVER_CONFIG: z.string().min(1, 'set HERALD_RECEIVER_CONFIG to the path of the receiver config file'),
  /** Overrides `listen.port` / `listen.host` of the file. */
  HERALD_RECEIVER_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  HERALD_RECEIVER_HOST: z.string().min(1).optional(),
  HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof Env>;

/** The only reader of process.env in this app. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = Env.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ReceiverError('invalid_config', `invalid environment:\n${lines}`);
  }
  return result.data;
}
