/** Service URLs for integration tests; the defaults are the local services of the development machines and CI. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const RABBITMQ_MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** A URL with its password masked, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

export class ServiceUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(service: string, url: string, envVar: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      `${service} is not reachable at ${redactUrl(url)} (set ${envVar} to point elsewhere): ${why}. ` +
        'Integration tests need it and do not skip; start it (see README, "Running the tests").',
      { cause },
    );
    this.name = 'ServiceUnavailableError';
  }
}
