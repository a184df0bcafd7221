import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { AuthConfigError } from './auth-config-error.ts';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
} from './certificates.ts';
import { createMtlsIdentity } from './mtls.ts';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const DAY = 24 * 3600_000;
const code = (c: string) => (e: unknown) => e instanceof AuthConfigError && e.code === c;

describe('certificate issuance', () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'Herald Test CA', validDays: 365, now: () => NOW });
    otherCa = await createCertificateAuthority({ commonName: 'Other CA', validDays: 365, now: () => NOW });
  });

  it('creates a self-signed CA certificate with its key', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.subject, 'CN=Herald Test CA');
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.equal(Date.parse(cert.validTo), NOW + 365 * DAY);
  });

  it('issues a client certificate for an application, chained to the CA', async () => {
    const issued = await issueClientCertificate({ ca, commonName: 'app-42', validDays: 30, now: () => NOW });
    const cert = new X509Certificate(issued.certPem);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(cert.subject, 'CN=app-42');
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.ok(!cert.verify(new X509Certificate(otherCa.certPem).publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)));
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(issued.fingerprint256, cert.fingerprint256);
    assert.equal(issued.serialNumber, cert.serialNumber.toUpperCase());
    assert.equal(issued.notAfter.getTime(), NOW + 30 * DAY);
    assert.ok(Date.parse(cert.validFrom) < NOW, 'backdated for clock skew');
    const again = await issueClientCertificate({ ca, commonName: 'app-42', validDays: 30, now: () => NOW });
    assert.notEqual(again.serialNumber, issued.serialNumber);
  });

  it('never issues beyond the CA expiry', async () => {
    const issued = await issueClientCertificate({ ca, commonName: 'app-1', validDays: 3000, now: () => NOW });
    assert.equal(issued.notAfter.getTime(), NOW + 365 * DAY);
  });

  it('issues server certificates with DNS and IP SANs and the serverAuth EKU', async () => {
    const issued = await issueServerCertificate({
      ca,
      commonName: 'localhost',
      hosts: ['localhost', '127.0.0.1', '::1'],
      validDays: 7,
      now: () => NOW,
    });
    const cert = new X509Certificate(issued.certPem);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  });

  it('supports RSA keys and RSA CAs', async () => {
    const rsaCa = await createCertificateAuthority({ commonName: 'RSA CA', validDays: 10, keyType: 'rsa-2048' });
    const leaf = await issueClientCertificate({
      ca: rsaCa,
      commonName: 'app-rsa',
      validDays: 5,
      keyType: 'ecdsa-p384',
    });
    const cert = new X509Certificate(leaf.certPem);
    assert.ok(cert.verify(new X509Certificate(rsaCa.certPem).publicKey));
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  });

  it('escapes distinguished-name specials in the common name', async () => {
    const issued = await issueClientCertificate({ ca, commonName: 'a,CN=admin', validDays: 1, now: () => NOW });
    // One CN attribute whose value holds the comma, not two CN attributes.
    assert.equal(new X509Certificate(issued.certPem).subject, 'CN=a\\,CN=admin');
  });

  it('refuses bad options and a CA whose key does not match', async () => {
    await assert.rejects(createCertificateAuthority({ commonName: '', validDays: 1 }), code('invalid_option'));
    await assert.rejects(createCertificateAuthority({ commonName: 'x', validDays: 0 }), code('invalid_option'));
    await assert.rejects(createCertificateAuthority({ commonName: 'x', validDays: 1.5 }), code('invalid_option'));
    await assert.rejects(
      issueClientCertificate({ ca: { certPem: ca.certPem, keyPem: otherCa.keyPem }, commonName: 'a', validDays: 1 }),
      code('key_mismatch'),
    );
    await assert.rejects(
      issueClientCertificate({ ca: { certPem: 'nope', keyPem: ca.keyPem }, commonName: 'a', validDays: 1 }),
      code('invalid_certificate'),
    );
    const leaf = await issueClientCertificate({ ca, commonName: 'leaf', validDays: 1 });
    await assert.rejects(
      issueClientCertificate({ ca: { certPem: leaf.certPem, keyPem: leaf.keyPem }, commonName: 'a', validDays: 1 }),
      code('invalid_certificate'),
    );
    await assert.rejects(
      issueServerCertificate({ ca, commonName: 'x', hosts: ['bad host!'], validDays: 1 }),
      code('invalid_option'),
    );
  });
});

describe('createMtlsIdentity', () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'Identity CA', validDays: 365, now: () => NOW });
    otherCa = await createCertificateAuthority({ commonName: 'Other CA', validDays: 365, now: () => NOW });
  });

  it('returns cert and key for the TLS options when everything matches', async () => {
    const issued = await issueClientCertificate({ ca, commonName: 'app-7', validDays: 30, now: () => NOW });
    const identity = createMtlsIdentity({
      certPem: issued.certPem,
      keyPem: issued.keyPem,
      caPem: ca.certPem,
      now: () => NOW,
    });
    assert.deepEqual(identity, { cert: issued.certPem, key: issued.keyPem });
  });

  it('refuses a mismatched key, an expired or future certificate, and a foreign CA', async () => {
    const issued = await issueClientCertificate({ ca, commonName: 'app-7', validDays: 30, now: () => NOW });
    const other = await issueClientCertificate({ ca, commonName: 'app-8', validDays: 30, now: () => NOW });
    assert.throws(
      () => createMtlsIdentity({ certPem: issued.certPem, keyPem: other.keyPem, now: () => NOW }),
      code('key_mismatch'),
    );
    assert.throws(
      () => createMtlsIdentity({ certPem: issued.certPem, keyPem: issued.keyPem, now: () => NOW + 31 * DAY }),
      code('certificate_expired'),
    );
    assert.throws(
      () => createMtlsIdentity({ certPem: issued.certPem, keyPem: issued.keyPem, now: () => NOW - DAY }),
      code('certificate_not_yet_valid'),
    );
    assert.throws(
      () =>
        createMtlsIdentity({ certPem: issued.certPem, keyPem: issued.keyPem, caPem: otherCa.certPem, now: () => NOW }),
      code('untrusted_certificate'),
    );
    assert.throws(() => createMtlsIdentity({ certPem: 'x', keyPem: issued.keyPem }), code('invalid_certificate'));
    assert.throws(() => createMtlsIdentity({ certPem: issued.certPem, keyPem: 'x' }), code('invalid_key'));
  });
});
