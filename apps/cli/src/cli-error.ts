import { EXIT_CODES, type ExitCode } from './exit-codes.ts';

/** An error the CLI reports in one line and maps to an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;
  constructor(code: string, message: string, exitCode: ExitCode = EXIT_CODES.failure, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError('usage', message, EXIT_CODES.usage);
}
