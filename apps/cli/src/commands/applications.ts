import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { usageError } from '../cli-error.ts';
import { formatKeyValues, s } from '../format.ts';

export function registerApplications(program: Command, ctx: () => CliContext): void {
  const apps = program.command('applications').description('applications (operator)');
  apps
    .command('create')
    .description('create an application')
    .requiredOption('--name <name>', 'application name')
    .action(async (opts: { name: string }) => {
      const c = ctx();
      const app = await c.api('operator').createApplication(opts.name);
      c.out.result(app, () => `${c.out.c.green('✓')} application created\n${formatKeyValues(app)}`);
    });
  apps
    .command('list')
    .description('list applications')
    .action(async () => {
      const c = ctx();
      const list = await c.api('operator').listApplications();
      c.out.result(list, () =>
        c.out.table(
          list.map((a) => ({ id: s(a['id']), name: s(a['name']), created: s(a['createdAt']) })),
          ['id', 'name', 'created'],
        ),
      );
    });
}

function requireApplication(c: CliContext): string {
  const id = c.globals.application ?? c.env.applicationId;
  if (id === undefined) throw usageError('name the application: --application <id>');
  return id;
}

export function registerKeys(program: Command, ctx: () => CliContext): void {
  const keys = program
    .command('keys')
    .description('API keys of an application (operator, with --application <id>); secrets are shown once');
  keys
    .command('issue')
    .description('issue an API key + secret for an application')
    .option('--label <label>', 'label')
    .action(async (opts: { label?: string }) => {
      const c = ctx();
      const application = requireApplication(c);
      const key = await c.api('operator').issueKey(application, opts.label);
      c.out.result(
        key,
        () => `${c.out.c.green('✓')} key issued (the secret is shown only now)\n${formatKeyValues(key)}`,
      );
    });
  keys
    .command('list')
    .description('list the keys of an application')
    .action(async () => {
      const c = ctx();
      const application = requireApplication(c);
      const list = await c.api('operator').listKeys(application);
      c.out.result(list, () =>
        c.out.table(
          list.map((k) => ({ id: s(k['id']), key: s(k['key']), label: s(k['label']), revoked: s(k['revokedAt']) })),
          ['id', 'key', 'label', 'revoked'],
        ),
      );
    });
  keys
    .command('rotate <keyId>')
    .description('replace a key with a new key + secret')
    .action(async (keyId: string) => {
      const c = ctx();
      const application = requireApplication(c);
      const key = await c.api('operator').rotateKey(application, keyId);
      c.out.result(
        key,
        () => `${c.out.c.green('✓')} key rotated (the new secret is shown only now)\n${formatKeyValues(key)}`,
      );
    });
  keys
    .command('revoke <keyId>')
    .description('revoke a key')
    .action(async (keyId: string) => {
      const c = ctx();
      const application = requireApplication(c);
      const result = await c.api('operator').revokeKey(application, keyId);
      c.out.result({ revoked: keyId, result }, () => `${c.out.c.green('✓')} key ${keyId} revoked`);
    });
}

export function registerToken(program: Command, ctx: () => CliContext): void {
  program
    .command('token')
    .description('tokens')
    .command('mint')
    .description('exchange the API key + secret for a bearer token (JWT)')
    .action(async () => {
      const c = ctx();
      const token = await c.api('application').mintToken();
      c.out.result(token, () => s(token['token']));
    });
}
