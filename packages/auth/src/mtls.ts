import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { TLSSocket } from 'node:tls';
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { AuthConfigError } from './auth-config-error.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

/** Validated client identity for the HTTP client's TLS options (`cert`, `key`). */
export interface MtlsIdentity {
  cert: string;
  key: string;
}

export type MtlsFailure = 'no_certificate' | 'untrusted' | 'subject_not_allowed' | 'fingerprint_not_allowed';

export type MtlsVerifyResult =
  | { ok: true; subject: string; fingerprint256: string }
  | { ok: false; reason: MtlsFailure };

export interface MtlsVerifier {
  /**
   * Options for `https.createServer`. `rejectUnauthorized: false` lets the handshake finish
   * without a valid client certificate so the application can answer a 401 problem body
   * instead of a bare TLS alert; {@link MtlsVerifier.verify} (or {@link mtlsAuth}) MUST then run
   * on every request. Node still checks the chain against `ca` and reports it in
   * `socket.authorized`, which `verify` reads.
   */
  serverOptions: { ca: string; requestCert: true; rejectUnauthorized: false };
  verify(socket: TLSSocket): MtlsVerifyResult;
}

function parseCertificate(pem: string, label: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new AuthConfigError('invalid_certificate', `${label} is not a PEM certificate`, { cause });
  }
}

/**
 * The sender's half of mutual TLS: checks that the key matches the certificate, that the
 * certificate is valid now and, when `caPem` is given, that this CA issued it.
 */
export function createMtlsIdentity(options: {
  certPem: string;
  keyPem: string;
  caPem?: string;
  /** Current time in epoch milliseconds. */
  now?: () => number;
}): MtlsIdentity {
  const cert = parseCertificate(options.certPem, 'certPem');
  let key: KeyObject;
  try {
    key = createPrivateKey(options.keyPem);
  } catch (cause) {
    throw new AuthConfigError('invalid_key', 'keyPem is not a readable private key', { cause });
  }
  if (!cert.checkPrivateKey(key)) throw new AuthConfigError('key_mismatch', 'keyPem does not match certPem');
  const nowMs = (options.now ?? Date.now)();
  if (Date.parse(cert.validTo) <= nowMs) {
    throw new AuthConfigError(
      'certificate_expired',
      `the client certificate expired at ${new Date(cert.validTo).toISOString()}`,
    );
  }
  if (Date.parse(cert.validFrom) > nowMs) {
    throw new AuthConfigError(
      'certificate_not_yet_valid',
      `the client certificate is valid from ${new Date(cert.validFrom).toISOString()}`,
    );
  }
  if (options.caPem !== undefined) {
    const ca = parseCertificate(options.caPem, 'caPem');
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      throw new AuthConfigError('untrusted_certificate', 'certPem was not issued by caPem');
    }
  }
  return { cert: options.certPem, key: options.keyPem };
}

/** Accepts `AB:CD:...`, `abcd...` or `ab cd ...`; returns node's colon-separated upper-case form. */
function normaliseFingerprint(text: string, label: string): string {
  const hex = typeof text === 'string' ? text.replace(/[:\s]/g, '').toUpperCase() : '';
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new AuthConfigError('invalid_option', `${label} is not a SHA-256 fingerprint`);
  return hex.match(/../g)?.join(':') ?? '';
}

function commonNameOf(subject: Record<string, unknown> | undefined): string | undefined {
  const cn = subject?.['CN'];
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && cn.length === 1 && typeof cn[0] === 'string') return cn[0];
  return undefined;
}

export interface MtlsVerifierOptions {
  /** CA certificate(s) client certificates must chain to (PEM, several may be concatenated). */
  caPem: string;
  /** Allowed subject common names (e.g. application ids); any when omitted. */
  allowedSubjects?: readonly string[];
  /** Allowed SHA-256 fingerprints; any when omitted. */
  allowedFingerprints256?: readonly string[];
}

/** The verifier's half of mutual TLS. */
export function createMtlsVerifier(options: MtlsVerifierOptions): MtlsVerifier {
  const ca = parseCertificate(options.caPem, 'caPem');
  if (!ca.ca) throw new AuthConfigError('invalid_certificate', 'caPem is not a CA certificate');
  const subjects = options.allowedSubjects === undefined ? undefined : new Set(options.allowedSubjects);
  if (subjects !== undefined && (subjects.size === 0 || [...subjects].some((s) => typeof s !== 'string' || s === ''))) {
    throw new AuthConfigError('invalid_option', 'allowedSubjects must be omitted or list non-empty names');
  }
  const fingerprints =
    options.allowedFingerprints256 === undefined
      ? undefined
      : new Set(options.allowedFingerprints256.map((f, i) => normaliseFingerprint(f, `allowedFingerprints256[${i}]`)));
  if (fingerprints !== undefined && fingerprints.size === 0) {
    throw new AuthConfigError('invalid_option', 'allowedFingerprints256 must be omitted or non-empty');
  }
  return {
    serverOptions: { ca: options.caPem, requestCert: true, rejectUnauthorized: false },
    verify(socket) {
      const peer = socket.getPeerCertificate();
      if (peer === null || typeof peer !== 'object' || peer.raw === undefined)
        return { ok: false, reason: 'no_certificate' };
      if (!socket.authorized) return { ok: false, reason: 'untrusted' };
      const subject = commonNameOf(peer.subject as unknown as Record<string, unknown> | undefined);
      if (subject === undefined) return { ok: false, reason: 'subject_not_allowed' };
      if (subjects !== undefined && !subjects.has(subject)) return { ok: false, reason: 'subject_not_allowed' };
      if (fingerprints !== undefined && !fingerprints.has(peer.fingerprint256)) {
        return { ok: false, reason: 'fingerprint_not_allowed' };
      }
      return { ok: true, subject, fingerprint256: peer.fingerprint256 };
    },
  };
}

/** Reads the TLS socket from `@hono/node-server`'s `c.env.incoming`. */
export function readNodeTlsSocket(c: Context): TLSSocket | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming)) return undefined;
  return incoming.socket instanceof TLSSocket ? incoming.socket : undefined;
}

/** What {@link mtlsAuth} stores on the context after a successful check. */
export interface MtlsVariables {
  clientCertificate: { subject: string; fingerprint256: string };
}

export interface MtlsAuthOptions extends MtlsVerifierOptions {
  /** Default: {@link readNodeTlsSocket}. A plain-HTTP request has no socket and is refused. */
  getSocket?: (c: Context) => TLSSocket | undefined;
  onRejected?: (reason: MtlsFailure) => void;
}

/**
 * Hono middleware: 401 problem body unless the client presented a trusted, allowed certificate.
 * Serve with the verifier's `serverOptions` (see {@link MtlsVerifier.serverOptions}).
 */
export function mtlsAuth(options: MtlsAuthOptions): MiddlewareHandler<{ Variables: MtlsVariables }> {
  const verifier = createMtlsVerifier(options);
  const getSocket = options.getSocket ?? readNodeTlsSocket;
  return createMiddleware<{ Variables: MtlsVariables }>(async (c, next) => {
    const socket = getSocket(c);
    const result: MtlsVerifyResult =
      socket === undefined ? { ok: false, reason: 'no_certificate' } : verifier.verify(socket);
    if (!result.ok) {
      options.onRejected?.(result.reason);
      return respondUnauthorized(c);
    }
    c.set('clientCertificate', { subject: result.subject, fingerprint256: result.fingerprint256 });
    await next();
  });
}
