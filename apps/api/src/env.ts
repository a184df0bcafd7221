import { z } from 'zod';

const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: (i) => `expected true or false; received ${JSON.stringify(i.input)}`,
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const positiveInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: (i) => `expected a whole number; received ${JSON.stringify(i.input)}` })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const cidrList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

/** Every environment variable the API reads. Names and defaults are documented in docs/operations.md. */
export const ApiEnv = z.object({
  HERALD_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres|postgresql|sqlite):/, { error: () => 'expected a postgres://, postgresql:// or sqlite: URL' })
    .optional(),
  HERALD_HOST: z.string().min(1).default('127.0.0.1'),
  HERALD_PORT: positiveInt(0, 65535).default(8080),
  /** Public base URL printed at start-up and used in credentials.json; defaults to http://host:port. */
  HERALD_PUBLIC_URL: z.url().optional(),
  HERALD_EMBEDDED_WORKER: booleanText.optional(),
  /** The embedded worker's lease: how long work held by a killed process waits before it is claimed again. */
  HERALD_WORKER_LEASE_MS: positiveInt(30_000, 3_600_000).default(120_000),
  HERALD_ALLOW_CIDRS: cidrList.default([]),
  HERALD_ALLOW_HTTP: booleanText.default(false),
  HERALD_EXTRA_CA_FILE: z.string().min(1).optional(),
  HERALD_ENCRYPTION_KEYS: z.string().min(1).optional(),
  HERALD_JWT_SECRET: z
    .string()
    .min(32, { error: () => 'expected at least 32 characters' })
    .optional(),
  HERALD_JWT_TTL_SECONDS: positiveInt(60, 86_400).default(3600),
  HERALD_BODY_LIMIT_BYTES: positiveInt(1024, 64 * 1024 * 1024).default(1024 * 1024),
  HERALD_API_KEY_CACHE_MS: positiveInt(0, 60_000).default(1000),
  /** An operator's RabbitMQ that /readyz checks (amqp:// or amqps://); none by default. */
  HERALD_READY_AMQP_URL: z
    .string()
    .regex(/^amqps?:\/\//, { error: 'expected an amqp:// or amqps:// URL' })
    .optional(),
  HERALD_RATE_LIMIT_PER_SECOND: positiveInt(1, 1_000_000).default(100),
  HERALD_RATE_LIMIT_BURST: positiveInt(1, 1_000_000).optional(),
  HERALD_METRICS_TOKEN: z
    .string()
    .min(16, { error: () => 'expected at least 16 characters' })
    .optional(),
  HERALD_SHUTDOWN_DEADLINE_MS: positiveInt(0, 600_000).default(10_000),
  HERALD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HERALD_BOOTSTRAP: booleanText.default(true),
});
export type ApiEnv = z.output<typeof ApiEnv>;

export class EnvError extends Error {
  readonly code = 'HERALD_INVALID_ENV';
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/** Never echo values of these: they are secrets. */
const SECRET_VARS = new Set([
  'HERALD_ENCRYPTION_KEYS',
  'HERALD_JWT_SECRET',
  'HERALD_METRICS_TOKEN',
  'HERALD_READY_AMQP_URL',
  'DATABASE_URL',
]);

/**
 * Parses the API's environment (default: `process.env`; the only place that reads it).
 * Throws `EnvError` listing every bad variable; secret values are never repeated.
 */
export function loadEnv(source: Readonly<Record<string, string | undefined>> = process.env): ApiEnv {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(ApiEnv.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const result = ApiEnv.safeParse(picked);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '?');
    const message = SECRET_VARS.has(name)
      ? issue.message.replace(/received .*/, 'received an invalid value')
      : issue.message;
    return `  ${name}: ${message}`;
  });
  throw new EnvError(`invalid environment:\n${lines.join('\n')}`);
}
