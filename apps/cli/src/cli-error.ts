import { EXIT_CODES, type ExitCode } from './exit-codes.ts';

/** An error the CLI reports in one line and maps to an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  /** The command already printed the outcome; only the exit code is left to set. */
  readonly reported: boolean;
  constructor(
    code: string,
    message: string,
    exitCode: ExitCode = EXIT_CODES.failure,
    options?: { cause?: unknown; reported?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
    this.reported = options?.reported === true;
  }
}

export function usageError(message: string): CliError {
  return new CliError('usage', message, EXIT_CODES.usage);
}
