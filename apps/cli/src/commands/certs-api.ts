import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { s } from '../format.ts';

/** mTLS material issued by the API: Herald keeps the client key; the receiver needs the CA. */
export function registerCertsApi(certs: Command, ctx: () => CliContext): void {
  certs
    .command('client <channelId>')
    .description(
      'have Herald issue a new mTLS client certificate for a WebHook channel; writes the certificate and the CA to trust',
    )
    .option('--out <dir>', 'directory for client.pem and herald-client-ca.pem', '.')
    .action(async (channelId: string, opts: { out: string }) => {
      const c = ctx();
      c.out.progress('issuing the client certificate…');
      const issued = await c.api().issueClientCertificate(channelId);
      mkdirSync(opts.out, { recursive: true });
      const certPath = join(opts.out, 'client.pem');
      const caPath = join(opts.out, 'herald-client-ca.pem');
      writeFileSync(certPath, s(issued['certificatePem']));
      writeFileSync(caPath, s(issued['caCertificatePem']));
      c.out.result({ ...issued, files: { certificate: certPath, ca: caPath } }, () =>
        [
          `${c.out.c.green('✓')} client certificate issued (valid until ${s(issued['notAfter'])}); Herald keeps its private key`,
          `  ${certPath}`,
          `  ${caPath}  ← put this in the receiver's auth.mtls.caFile`,
        ].join('\n'),
      );
    });
}
