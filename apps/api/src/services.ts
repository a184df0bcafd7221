import { hash } from 'node:crypto';
import {
  type CertificateAuthority,
  createApiSecretCache,
  createJwtIssuer,
  createJwtVerifier,
  generateApiCredentials,
  hashApiSecret,
  issueClientCertificate,
} from '@herald/auth';
import type { ClientCertificateIssuer, CredentialService, TokenClaims, TokenService } from './app-types.ts';

const JWT_ISSUER = 'herald';
const JWT_AUDIENCE = 'herald-api';

/** HS256 tokens signed with the platform's JWT secret (at least 32 bytes). */
export function createTokenService(options: { secret: string; ttlSeconds: number; now?: () => number }): TokenService {
  const now = options.now === undefined ? {} : { now: options.now };
  const issuer = createJwtIssuer({
    secret: options.secret,
    algorithm: 'HS256',
    issuer: JWT_ISSUER,
    audience: JWT_AUDIENCE,
    ttlSeconds: options.ttlSeconds,
    ...now,
  });
  const verifier = createJwtVerifier({
    secret: options.secret,
    algorithms: ['HS256'],
    issuer: JWT_ISSUER,
    audience: JWT_AUDIENCE,
    clockToleranceSeconds: 30,
    ...now,
  });
  const clock = options.now ?? Date.now;
  // Verified tokens are remembered until they expire (at most 5 minutes), keyed by a hash of the
  // token: a repeated token skips the signature check. Failures are never remembered.
  const verified = new Map<string, { claims: TokenClaims; untilMs: number }>();
  const MAX_ENTRIES = 10_000;
  return {
    ttlSeconds: options.ttlSeconds,
    issue: (claims) => issuer.issue({ applicationId: claims.applicationId, role: claims.role }),
    async verify(token) {
      const id = hash('sha256', token, 'base64url');
      const hit = verified.get(id);
      if (hit !== undefined) {
        if (hit.untilMs > clock()) return { ok: true, claims: hit.claims };
        verified.delete(id);
      }
      const r = await verifier.verify(token);
      if (!r.ok) return r;
      const claims: TokenClaims = { applicationId: r.claims.applicationId, role: r.claims.role };
      if (verified.size >= MAX_ENTRIES) verified.clear();
      verified.set(id, { claims, untilMs: Math.min(r.claims.exp * 1000, clock() + 300_000) });
      return { ok: true, claims };
    },
  };
}

/** scrypt-hashed API secrets, with successful verifications remembered for a minute. */
export function createCredentialService(options: { cacheTtlMs?: number } = {}): CredentialService {
  const cache = createApiSecretCache({ maxEntries: 10_000, ttlMs: options.cacheTtlMs ?? 60_000 });
  return {
    generate: generateApiCredentials,
    hash: hashApiSecret,
    verify: (secret, hash) => cache.verify(secret, hash),
    isRemembered: (secret, hash) => cache.isRemembered(secret, hash),
    forget: () => cache.clear(),
  };
}

/** Client certificates for webhook mTLS, signed by the platform's CA; valid one year. */
export function createClientCertificateIssuer(ca: CertificateAuthority): ClientCertificateIssuer {
  return {
    async issue(commonName) {
      const cert = await issueClientCertificate({ ca, commonName, validDays: 365 });
      return { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.certPem, notAfter: cert.notAfter };
    },
  };
}
