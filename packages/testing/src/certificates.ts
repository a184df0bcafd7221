import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface PemPair {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: PemPair;
  /** Server certificate for `localhost`, 127.0.0.1 and ::1 (plus any extra hosts). */
  server: PemPair;
  /** Client certificate (CN=herald-test-client) for mutual TLS. */
  client: PemPair;
  /** Issue another leaf from this CA. */
  issue(opts: {
    commonName: string;
    hosts?: string[];
    usage: 'server' | 'client';
    validDays?: number;
  }): Promise<PemPair>;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12))).toString('hex');
}

/** Generates a throw-away CA with a server and a client certificate, for TLS tests on loopback. */
export async function createTestPki(opts: { caName?: string; extraHosts?: string[] } = {}): Promise<TestPki> {
  const now = Date.now();
  const notBefore = new Date(now - 60_000);
  const notAfter = new Date(now + 7 * 24 * 3600_000);
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${opts.caName ?? 'Herald Test CA'}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca: PemPair = { cert: caCert.toString('pem'), key: await exportKey(caKeys.privateKey) };

  const issue: TestPki['issue'] = async ({ commonName, hosts = [], usage, validDays = 7 }) => {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const names = hosts.map((h) =>
      /^[\d.]+$/.test(h) || h.includes(':') ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
    );
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${commonName}`,
      issuer: caCert.subject,
      notBefore,
      notAfter: new Date(now + validDays * 24 * 3600_000),
      signingKey: caKeys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(
          [usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
      ],
    });
    return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
  };

  const server = await issue({
    commonName: 'localhost',
    hosts: ['localhost', '127.0.0.1', '::1', ...(opts.extraHosts ?? [])],
    usage: 'server',
  });
  const client = await issue({ commonName: 'herald-test-client', usage: 'client' });
  return { ca, server, client, issue };
}
