import { z } from 'zod';
import { ReceiverError } from './receiver-error.ts';

const Env = z
  .object({
    /** Path of the JSON config file (see docs/receiver.md). */
    HERALD_RECEIVER_CONFIG: z.string().min(1).optional(),
    /** The same JSON inline (containers); relative paths are read from the working directory. */
    HERALD_RECEIVER_CONFIG_JSON: z.string().min(1).optional(),
    /** Overrides `listen.port` / `listen.host` of the file. */
    HERALD_RECEIVER_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    HERALD_RECEIVER_HOST: z.string().min(1).optional(),
    HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .refine((e) => (e.HERALD_RECEIVER_CONFIG === undefined) !== (e.HERALD_RECEIVER_CONFIG_JSON === undefined), {
    message:
      'set HERALD_RECEIVER_CONFIG (a config file path) or HERALD_RECEIVER_CONFIG_JSON (the config inline), not both',
    path: ['HERALD_RECEIVER_CONFIG'],
  });
export type Env = z.infer<typeof Env>;

/** The only reader of process.env in this app. */
export function loadEnv(source: Readonly<Record<string, string | undefined>> = process.env): Env {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith('HERALD_') && value !== undefined && value !== '') picked[key] = value;
  }
  const result = Env.safeParse(picked);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ReceiverError('invalid_config', `invalid environment:\n${lines}`);
  }
  return result.data;
}
