export type { CliContext, GlobalOptions } from './cli-context.ts';
export { CliError } from './cli-error.ts';
export { type CliEnv, readCliEnv } from './env.ts';
export { EXAMPLE_TYPES, exampleMessage } from './examples.ts';
export { EXIT_CODES, type ExitCode } from './exit-codes.ts';
export { createOutput, type Output } from './output.ts';
export { createProgram, type RunCliOptions, runCli } from './run-cli.ts';
