import { CliError } from './cli-error.ts';
import { EXIT_CODES, type ExitCode } from './exit-codes.ts';

export interface MappedError {
  code: string;
  message: string;
  details?: string[];
  exitCode: ExitCode;
}

function errorsOf(body: unknown): string[] | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body)) return undefined;
  const errors = (body as { errors: unknown }).errors;
  if (typeof errors !== 'object' || errors === null) return undefined;
  const lines: string[] = [];
  for (const [field, messages] of Object.entries(errors)) {
    if (Array.isArray(messages)) for (const m of messages) lines.push(`${field}: ${String(m)}`);
  }
  return lines.length > 0 ? lines : undefined;
}

/** The one place errors become exit codes. */
export function mapError(error: unknown): MappedError {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  if (error instanceof Error && error.name === 'HeraldApiError') {
    const e = error as Error & { status?: number; problem?: unknown; body?: unknown };
    const status = typeof e.status === 'number' ? e.status : 0;
    const details = errorsOf(e.problem ?? e.body);
    const exitCode =
      status === 401 || status === 403 ? EXIT_CODES.auth : status === 404 ? EXIT_CODES.notFound : EXIT_CODES.failure;
    return {
      code: `http_${status}`,
      // The client's message already names the call, the status and the first error.
      message: e.message,
      ...(details && details.length > 1 ? { details } : {}),
      exitCode,
    };
  }
  if (error instanceof Error && ['ReceiverError', 'AuthConfigError'].includes(error.name)) {
    return { code: 'invalid_config', message: error.message, exitCode: EXIT_CODES.usage };
  }
  const cause = error instanceof Error ? error.cause : undefined;
  const causeCode = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  if (causeCode === 'ECONNREFUSED' || causeCode === 'ENOTFOUND') {
    return { code: 'unreachable', message: `cannot reach the API (${causeCode})`, exitCode: EXIT_CODES.failure };
  }
  return {
    code: 'error',
    message: error instanceof Error ? error.message : String(error),
    exitCode: EXIT_CODES.failure,
  };
}
