import 'reflect-metadata';
import { createPrivateKey, X509Certificate, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { AuthConfigError } from './auth-config-error.ts';

x509.cryptoProvider.set(globalThis.crypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key type of issued certificates. ECDSA P-256 is the default: small and fast on every TLS stack. */
export type CertificateKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-2048' | 'rsa-3072';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex (node's `fingerprint256` form). */
  fingerprint256: string;
  /** Upper-case hex (node's `serialNumber` form). */
  serialNumber: string;
  notAfter: Date;
}

interface CommonIssueOptions {
  commonName: string;
  validDays: number;
  keyType?: CertificateKeyType;
  /** Current time in epoch milliseconds. */
  now?: () => number;
}

const MAX_VALID_DAYS = 3650;
const DAY_MS = 24 * 3600_000;
/** notBefore is backdated so a receiver whose clock runs a little behind still accepts the cert. */
const BACKDATE_MS = 5 * 60_000;

type SigningAlgorithm = (webcrypto.EcKeyGenParams & webcrypto.EcdsaParams) | webcrypto.RsaHashedKeyGenParams;

function algorithmFor(keyType: CertificateKeyType): SigningAlgorithm {
  switch (keyType) {
    case 'ecdsa-p256':
      return { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    case 'ecdsa-p384':
      return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
    case 'rsa-2048':
    case 'rsa-3072':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: keyType === 'rsa-2048' ? 2048 : 3072,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

function checkCommon(options: CommonIssueOptions): { keyType: CertificateKeyType; nowMs: number } {
  if (typeof options.commonName !== 'string' || options.commonName.trim() === '' || options.commonName.length > 64) {
    throw new AuthConfigError('invalid_option', 'commonName must be a non-empty string of at most 64 characters');
  }
  if (!Number.isInteger(options.validDays) || options.validDays < 1 || options.validDays > MAX_VALID_DAYS) {
    throw new AuthConfigError(
      'invalid_option',
      `validDays must be an integer from 1 to ${MAX_VALID_DAYS}, got ${options.validDays}`,
    );
  }
  const keyType = options.keyType ?? 'ecdsa-p256';
  if (!['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'].includes(keyType)) {
    throw new AuthConfigError('invalid_option', `keyType ${JSON.stringify(keyType)} is not supported`);
  }
  return { keyType, nowMs: (options.now ?? Date.now)() };
}

/** Positive random serial (RFC 5280: at most 20 octets, non-negative). */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function exportPkcs8(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Escapes RFC 4514 specials so a CN such as `a,b` stays one attribute. */
function distinguishedName(commonName: string): string {
  return `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;
}

function describe(certPem: string, keyPem: string): IssuedCertificate {
  const cert = new X509Certificate(certPem);
  return {
    certPem,
    keyPem,
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber.toUpperCase(),
    notAfter: new Date(cert.validTo),
  };
}

/** Creates a self-signed CA (the platform's issuer of client certificates). */
export async function createCertificateAuthority(options: CommonIssueOptions): Promise<CertificateAuthority> {
  const { keyType, nowMs } = checkCommon(options);
  const alg = algorithmFor(keyType);
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(options.commonName),
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + options.validDays * DAY_MS),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPkcs8(keys.privateKey) };
}

async function loadAuthority(
  ca: CertificateAuthority,
): Promise<{ cert: x509.X509Certificate; key: CryptoKey; alg: SigningAlgorithm }> {
  let cert: x509.X509Certificate;
  let nodeCert: X509Certificate;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    nodeCert = new X509Certificate(ca.certPem);
  } catch (cause) {
    throw new AuthConfigError('invalid_certificate', 'ca.certPem is not a PEM certificate', { cause });
  }
  if (!nodeCert.ca) throw new AuthConfigError('invalid_certificate', 'ca.certPem is not a CA certificate');
  let nodeKey: ReturnType<typeof createPrivateKey>;
  try {
    nodeKey = createPrivateKey(ca.keyPem);
  } catch (cause) {
    throw new AuthConfigError('invalid_key', 'ca.keyPem is not a readable private key', { cause });
  }
  if (!nodeCert.checkPrivateKey(nodeKey))
    throw new AuthConfigError('key_mismatch', 'ca.keyPem does not match ca.certPem');
  let alg: SigningAlgorithm;
  const details = nodeKey.asymmetricKeyDetails;
  if (
    nodeKey.asymmetricKeyType === 'ec' &&
    (details?.namedCurve === 'prime256v1' || details?.namedCurve === 'secp384r1')
  ) {
    alg = algorithmFor(details.namedCurve === 'prime256v1' ? 'ecdsa-p256' : 'ecdsa-p384');
  } else if (nodeKey.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) {
    alg = { ...algorithmFor('rsa-2048'), modulusLength: details?.modulusLength ?? 2048 };
  } else {
    throw new AuthConfigError('invalid_key', 'the CA key must be ECDSA P-256/P-384 or RSA >= 2048 bits');
  }
  const der = nodeKey.export({ format: 'der', type: 'pkcs8' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']);
  return { cert, key, alg };
}

async function issueLeaf(
  options: CommonIssueOptions & { ca: CertificateAuthority },
  usage: 'client' | 'server',
  names: x509.JsonGeneralName[],
): Promise<IssuedCertificate> {
  const { keyType, nowMs } = checkCommon(options);
  const authority = await loadAuthority(options.ca);
  const alg = algorithmFor(keyType);
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notAfter = Math.min(nowMs + options.validDays * DAY_MS, authority.cert.notAfter.getTime());
  const keyUsage =
    alg.name === 'ECDSA'
      ? x509.KeyUsageFlags.digitalSignature
      : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(options.commonName),
    issuer: authority.cert.subject,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingKey: authority.key,
    publicKey: keys.publicKey,
    signingAlgorithm: authority.alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      new x509.ExtendedKeyUsageExtension(
        [usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return describe(cert.toString('pem'), await exportPkcs8(keys.privateKey));
}

/**
 * Issues a client certificate (clientAuth EKU) for mutual TLS; use the application id as the
 * common name so a receiver can pin it.
 */
export async function issueClientCertificate(
  options: CommonIssueOptions & { ca: CertificateAuthority },
): Promise<IssuedCertificate> {
  return issueLeaf(options, 'client', []);
}

/** Issues a server certificate (serverAuth EKU, DNS/IP SANs) for development and test receivers. */
export async function issueServerCertificate(
  options: CommonIssueOptions & { ca: CertificateAuthority; hosts: readonly string[] },
): Promise<IssuedCertificate> {
  if (!Array.isArray(options.hosts) || options.hosts.length === 0) {
    throw new AuthConfigError('invalid_option', 'hosts must list at least one DNS name or IP address');
  }
  const names = options.hosts.map((host): x509.JsonGeneralName => {
    if (isIP(host) !== 0) return { type: 'ip', value: host };
    if (!/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(host)) {
      throw new AuthConfigError('invalid_option', `host ${JSON.stringify(host)} is not a DNS name or IP address`);
    }
    return { type: 'dns', value: host };
  });
  return issueLeaf(options, 'server', names);
}
