import { z } from 'zod';

/** Misconfiguration found at start-up. */
export class WorkerConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerConfigError';
  }
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);

/** Shares its names with apps/api where the setting is the same. */
export const Env = z
  .object({
    /** postgres://... for scale-out; without it the worker uses the SQLite file in HERALD_DATA_DIR. */
    DATABASE_URL: z
      .string()
      .regex(/^(postgres|postgresql|sqlite):/, 'expected a postgres://, postgresql:// or sqlite: URL')
      .optional(),
    /** Directory of the embedded SQLite file and of the keyring the one-command start generates. */
    HERALD_DATA_DIR: z.string().min(1).default('./data'),
    /** Keyring spec "<id>:<base64 32 bytes>[,...]"; read from HERALD_DATA_DIR when absent. */
    HERALD_ENCRYPTION_KEYS: z.string().min(1).optional(),
    HERALD_ALLOW_CIDRS: list.optional(),
    HERALD_ALLOW_HTTP: flag.default(false),
    HERALD_EXTRA_CA_FILE: z.string().min(1).optional(),
    HERALD_WORKER_ID: z.string().min(1).max(200).optional(),
    HERALD_WORKER_CONCURRENCY: int(1, 10_000).default(64),
    HERALD_WORKER_BATCH_SIZE: int(1, 10_000).default(32),
    HERALD_WORKER_LEASE_MS: int(1_000, 3_600_000).default(120_000),
    HERALD_WORKER_POLL_INTERVAL_MS: int(10, 600_000).default(5_000),
    /** Longest a finished attempt waits to be recorded with others in one transaction (engine recordDelayMs). */
    HERALD_WORKER_RECORD_DELAY_MS: int(0, 1_000).default(10),
    HERALD_WORKER_SHUTDOWN_DEADLINE_MS: int(0, 600_000).default(20_000),
    /** Retry policy (platform-wide; a channel sets its retry count and backoff factor). */
    HERALD_RETRY_BASE_DELAY_MS: int(1, 86_400_000).optional(),
    HERALD_RETRY_MAX_DELAY_MS: int(1, 7 * 86_400_000).optional(),
    /** Retries of a delivery span at least this long (0: no stretching). */
    HERALD_RETRY_MIN_WINDOW_MS: int(0, 30 * 86_400_000).optional(),
    HERALD_WEBHOOK_TIMEOUT_MS: int(100, 300_000).default(30_000),
    /** Health/metrics server. Port 0 picks a free port (printed at start). */
    HERALD_WORKER_PORT: int(0, 65_535).default(9464),
    HERALD_WORKER_HOST: z.string().min(1).default('127.0.0.1'),
    HERALD_AMQP_CONFIRM_TIMEOUT_MS: int(100, 300_000).default(10_000),
    HERALD_AMQP_CONNECT_TIMEOUT_MS: int(100, 300_000).default(10_000),
    HERALD_AMQP_MAX_CONNECTIONS: int(1, 10_000).default(64),
    /** Extra CA (PEM) trusted for amqps:// brokers. */
    HERALD_AMQP_CA_FILE: z.string().min(1).optional(),
    HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .refine((e) => e.HERALD_WORKER_BATCH_SIZE <= e.HERALD_WORKER_CONCURRENCY, {
    message: 'must not exceed HERALD_WORKER_CONCURRENCY',
    path: ['HERALD_WORKER_BATCH_SIZE'],
  });
export type Env = z.infer<typeof Env>;

/** The only reader of process.env in this app; a bad value throws with one line per problem (never a value). */
export function loadEnv(source: Readonly<Record<string, string | undefined>> = process.env): Env {
  // Empty values count as unset, as in apps/api.
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith('HERALD_') || key === 'DATABASE_URL') {
      if (value !== undefined && value !== '') picked[key] = value;
    }
  }
  const result = Env.safeParse(picked);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`).join('\n');
    throw new WorkerConfigError(`invalid worker environment:\n${lines}`);
  }
  return result.data;
}
