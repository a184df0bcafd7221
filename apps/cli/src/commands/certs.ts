import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueServerCertificate } from '@herald/auth';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { CliError, usageError } from '../cli-error.ts';

function writePem(path: string, text: string, secret: boolean): void {
  writeFileSync(path, text, { mode: secret ? 0o600 : 0o644 });
}

function parseDays(text: string): number {
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw usageError(`--days must be 1-3650, got ${text}`);
  return days;
}

/** Local certificates for a receiver's HTTPS endpoint (the API issues mTLS client certificates: see `certs client`). */
export function registerCertsLocal(certs: Command, ctx: () => CliContext): void {
  certs
    .command('server')
    .description(
      "create a CA (unless --ca-cert/--ca-key are given) and a server certificate for a receiver's HTTPS endpoint, locally",
    )
    .option('--host <name...>', 'DNS names / IPs the certificate is for', ['localhost', '127.0.0.1', '::1'])
    .option('--out <dir>', 'directory to write ca.pem, ca-key.pem, server.pem, server-key.pem', '.')
    .option('--ca-cert <file>', 'existing CA certificate (PEM)')
    .option('--ca-key <file>', 'existing CA private key (PEM)')
    .option('--days <n>', 'validity in days', '365')
    .action(async (opts: { host: string[]; out: string; caCert?: string; caKey?: string; days: string }) => {
      const c = ctx();
      const days = parseDays(opts.days);
      if ((opts.caCert === undefined) !== (opts.caKey === undefined))
        throw usageError('give both --ca-cert and --ca-key, or neither');
      mkdirSync(opts.out, { recursive: true });
      let ca: { certPem: string; keyPem: string };
      const written: string[] = [];
      if (opts.caCert !== undefined && opts.caKey !== undefined) {
        try {
          ca = { certPem: readFileSync(opts.caCert, 'utf8'), keyPem: readFileSync(opts.caKey, 'utf8') };
        } catch (error) {
          throw new CliError('read_ca', 'cannot read the CA files', 1, { cause: error });
        }
      } else {
        c.out.progress('creating a CA…');
        ca = await createCertificateAuthority({ commonName: 'Herald receiver CA', validDays: Math.max(days, 365) });
        writePem(join(opts.out, 'ca.pem'), ca.certPem, false);
        writePem(join(opts.out, 'ca-key.pem'), ca.keyPem, true);
        written.push(join(opts.out, 'ca.pem'), join(opts.out, 'ca-key.pem'));
      }
      c.out.progress('issuing the server certificate…');
      const server = await issueServerCertificate({
        ca,
        hosts: opts.host,
        commonName: opts.host[0] ?? 'localhost',
        validDays: days,
      });
      writePem(join(opts.out, 'server.pem'), server.certPem, false);
      writePem(join(opts.out, 'server-key.pem'), server.keyPem, true);
      written.push(join(opts.out, 'server.pem'), join(opts.out, 'server-key.pem'));
      c.out.result(
        {
          files: written,
          fingerprint256: server.fingerprint256,
          notAfter: server.notAfter.toISOString(),
          hosts: opts.host,
        },
        () =>
          [
            `${c.out.c.green('✓')} server certificate for ${opts.host.join(', ')} (valid until ${server.notAfter.toISOString()})`,
            ...written.map((f) => `  ${f}`),
            `  SHA-256 ${server.fingerprint256}`,
          ].join('\n'),
      );
    });
}
