import type { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import type { CliContext, GlobalOptions } from './cli-context.ts';
import { CliError } from './cli-error.ts';
import type { CliApi } from './cli-api.ts';
import { registerApplications, registerKeys, registerToken } from './commands/applications.ts';
import { registerCertsLocal } from './commands/certs.ts';
import { registerCertsApi } from './commands/certs-api.ts';
import { registerChannels } from './commands/channels.ts';
import { registerDeliveries } from './commands/deliveries.ts';
import { registerSend } from './commands/send.ts';
import { createCliApi } from './create-cli-api.ts';
import { resolveConnection } from './resolve-connection.ts';
import { registerListen } from './commands/listen.ts';
import { registerReceive } from './commands/receive.ts';
import { type CliEnv, readCliEnv } from './env.ts';
import { EXIT_CODES, type ExitCode } from './exit-codes.ts';
import { createOutput } from './output.ts';
import { mapError } from './map-error.ts';

export interface RunCliOptions {
  env?: CliEnv;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

/** Builds the `herald` program. */
export function createProgram(getContext: () => CliContext): Command {
  const program = new Command('herald')
    .description(
      'Herald command-line interface: applications, channels, send, deliveries, certificates, local receivers',
    )
    .option('--url <url>', 'API base URL (env HERALD_URL, or the credentials file)')
    .option('--api-key <key>', 'API key (env HERALD_API_KEY)')
    .option('--api-secret <secret>', 'API secret (env HERALD_API_SECRET)')
    .option('--token <jwt>', 'bearer token (env HERALD_TOKEN)')
    .option('--credentials <file>', 'credentials.json written by the one-command start (env HERALD_CREDENTIALS)')
    .option('--application <id>', 'application to act on (env HERALD_APPLICATION_ID; default: the caller’s own)')
    .option('--json', 'machine-readable output: one JSON document per result')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 authentication, 5 delivery dead, 6 timed out.',
    );
  registerApplications(program, getContext);
  registerKeys(program, getContext);
  registerToken(program, getContext);
  registerChannels(program, getContext);
  registerSend(program, getContext);
  registerDeliveries(program, getContext);
  const certs = program
    .command('certs')
    .description('certificates: mTLS client certificates (via the API) and local receiver certificates');
  registerCertsApi(certs, getContext);
  registerCertsLocal(certs, getContext);
  registerListen(program, getContext);
  registerReceive(program, getContext);
  return program;
}

/** Runs one CLI invocation; resolves with the exit code (never calls process.exit). */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<ExitCode> {
  const env = options.env ?? readCliEnv();
  const stderr = options.stderr ?? process.stderr;
  let context: CliContext | undefined;
  const program = createProgram(() => {
    if (context !== undefined) return context;
    const globals = program.opts<GlobalOptions>();
    const apis = new Map<string, CliApi>();
    context = {
      env,
      globals,
      api(role = 'application') {
        let api = apis.get(role);
        if (api === undefined) {
          const connection = resolveConnection(globals, env, role);
          api = createCliApi(connection, connection.applicationId);
          apis.set(role, api);
        }
        return api;
      },
      out: createOutput({
        json: globals.json === true,
        color: globals.color !== false && env.colorAllowed,
        ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
        stderr,
      }),
    };
    return context;
  });
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => (options.stdout ?? process.stdout).write(s),
    writeErr: (s) => stderr.write(s),
  });
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (text) => (options.stdout ?? process.stdout).write(text),
      writeErr: (text) => stderr.write(text),
    });
    for (const sub of cmd.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0)
        return EXIT_CODES.ok;
      if (error.code === 'commander.help') return EXIT_CODES.ok;
      return EXIT_CODES.usage;
    }
    if (error instanceof CliError && error.reported) return error.exitCode;
    const mapped = mapError(error);
    const json = program.opts<GlobalOptions>().json === true;
    if (json) {
      (options.stdout ?? process.stdout).write(
        `${JSON.stringify({ error: { code: mapped.code, message: mapped.message, ...(mapped.details === undefined ? {} : { details: mapped.details }) } })}\n`,
      );
    } else {
      stderr.write(`herald: ${mapped.message}\n`);
      if (mapped.details !== undefined) stderr.write(`${mapped.details.map((d) => `  ${d}`).join('\n')}\n`);
    }
    return mapped.exitCode;
  }
}

export { CliError };
