import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type FetchImplementation,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { AuthConfigError } from './auth-config-error.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

/** Signature algorithms Herald accepts; `none` is never one of them. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export type JwtRole = 'application' | 'operator';

export interface JwtClaims {
  /** From `ApplicationId` (or `applicationId` / `application_id`); null only for operator tokens. */
  applicationId: string | null;
  role: JwtRole;
  sub?: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

export type JwtFailure =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'algorithm_not_allowed'
  | 'missing_application_id'
  | 'missing_exp';

export type JwtVerifyResult = { ok: true; claims: JwtClaims } | { ok: false; reason: JwtFailure };

export interface JwtIssuer {
  issue(input: { applicationId?: string | null; role?: JwtRole; subject?: string }): Promise<string>;
}

export interface JwtVerifier {
  /** Takes the bare token (no `Bearer ` prefix). */
  verify(token: string | undefined | null): Promise<JwtVerifyResult>;
}

/** The JWKS endpoint could not be reached or answered garbage: infrastructure, not a bad token. */
export class JwksUnavailableError extends Error {
  readonly code = 'jwks_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JwksUnavailableError';
  }
}

type KeyFamily = 'hmac' | 'rsa' | 'ec-P-256' | 'ec-P-384' | 'ec-P-521' | 'ed25519';

function familyOf(algorithm: JwtAlgorithm): KeyFamily {
  if (algorithm.startsWith('HS')) return 'hmac';
  if (algorithm.startsWith('RS') || algorithm.startsWith('PS')) return 'rsa';
  if (algorithm === 'ES256') return 'ec-P-256';
  if (algorithm === 'ES384') return 'ec-P-384';
  if (algorithm === 'ES512') return 'ec-P-521';
  return 'ed25519';
}

const CURVES: Record<string, KeyFamily> = { prime256v1: 'ec-P-256', secp384r1: 'ec-P-384', secp521r1: 'ec-P-521' };

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
function minHmacBytes(algorithm: JwtAlgorithm): number {
  return algorithm === 'HS512' ? 64 : algorithm === 'HS384' ? 48 : 32;
}

function checkAlgorithm(value: unknown, label: string): JwtAlgorithm {
  if (typeof value !== 'string' || !(JWT_ALGORITHMS as readonly string[]).includes(value)) {
    throw new AuthConfigError(
      'invalid_algorithm',
      `${label} must be one of ${JWT_ALGORITHMS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as JwtAlgorithm;
}

/** Checks the asymmetric key's type and strength against the algorithms it will serve. */
function checkAsymmetricKey(key: KeyObject, algorithms: readonly JwtAlgorithm[], label: string): void {
  let family: KeyFamily | undefined;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    family = 'rsa';
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048)
      throw new AuthConfigError('invalid_key', `${label} is RSA with ${bits} bits; at least 2048 required`);
  } else if (key.asymmetricKeyType === 'ec') {
    family = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  } else if (key.asymmetricKeyType === 'ed25519') {
    family = 'ed25519';
  }
  if (family === undefined) throw new AuthConfigError('invalid_key', `${label} is not a supported key type`);
  for (const algorithm of algorithms) {
    if (familyOf(algorithm) !== family) {
      throw new AuthConfigError('invalid_algorithm', `${label} cannot be used with ${algorithm}`);
    }
  }
}

function checkHmacSecret(secret: string | Uint8Array, algorithms: readonly JwtAlgorithm[]): KeyObject {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  for (const algorithm of algorithms) {
    if (familyOf(algorithm) !== 'hmac') {
      throw new AuthConfigError('invalid_algorithm', `a shared secret cannot be used with ${algorithm}`);
    }
    const min = minHmacBytes(algorithm);
    if (bytes.length < min) {
      throw new AuthConfigError(
        'invalid_secret',
        `${algorithm} needs a secret of at least ${min} bytes, got ${bytes.length}`,
      );
    }
  }
  return createSecretKey(bytes);
}

function checkText(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new AuthConfigError('invalid_option', `${label} must be a non-empty string`);
  }
  return value;
}

export interface JwtIssuerOptions {
  /** HMAC secret for HS* (at least as long as the hash: 32/48/64 bytes). */
  secret?: string | Uint8Array;
  /** PKCS#8 PEM private key for RS/PS/ES/EdDSA (RSA at least 2048 bits). */
  privateKeyPem?: string;
  algorithm: JwtAlgorithm;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Current time in epoch milliseconds. */
  now?: () => number;
}

/** Issues short-lived API tokens carrying the `ApplicationId` claim. */
export function createJwtIssuer(options: JwtIssuerOptions): JwtIssuer {
  const algorithm = checkAlgorithm(options.algorithm, 'algorithm');
  const issuer = checkText(options.issuer, 'issuer');
  const audience = checkText(options.audience, 'audience');
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1 || options.ttlSeconds > 86_400) {
    throw new AuthConfigError(
      'invalid_option',
      `ttlSeconds must be an integer from 1 to 86400, got ${options.ttlSeconds}`,
    );
  }
  if ((options.secret === undefined) === (options.privateKeyPem === undefined)) {
    throw new AuthConfigError('invalid_key', 'give exactly one of secret or privateKeyPem');
  }
  let key: KeyObject;
  if (options.secret !== undefined) {
    key = checkHmacSecret(options.secret, [algorithm]);
  } else {
    try {
      key = createPrivateKey(options.privateKeyPem ?? '');
    } catch (cause) {
      throw new AuthConfigError('invalid_key', 'privateKeyPem is not a readable private key', { cause });
    }
    checkAsymmetricKey(key, [algorithm], 'privateKeyPem');
  }
  const ttlSeconds = options.ttlSeconds;
  const now = options.now ?? Date.now;

  return {
    async issue({ applicationId = null, role = 'application', subject }) {
      if (role !== 'application' && role !== 'operator') throw new TypeError(`unknown role ${JSON.stringify(role)}`);
      if (role === 'application' && (typeof applicationId !== 'string' || applicationId === '')) {
        throw new TypeError('an application token needs a non-empty applicationId');
      }
      const nowSeconds = Math.floor(now() / 1000);
      const payload: JWTPayload = { role, ...(applicationId === null ? {} : { ApplicationId: applicationId }) };
      const sub = subject ?? applicationId;
      const jwt = new SignJWT(payload)
        .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(nowSeconds)
        .setNotBefore(nowSeconds)
        .setExpirationTime(nowSeconds + ttlSeconds)
        .setJti(randomUUID());
      if (sub !== null) jwt.setSubject(sub);
      return jwt.sign(key);
    },
  };
}

export interface JwtVerifierOptions {
  secret?: string | Uint8Array;
  /** SPKI PEM public key (or a certificate's public key in SPKI form). */
  publicKeyPem?: string;
  /** An `https:` JWKS endpoint. */
  jwksUrl?: string;
  /** Fetch used for the JWKS (for a private CA, pass one bound to an undici Agent that trusts it). */
  jwksFetch?: FetchImplementation;
  /** The allowlist; must match the key's type. `none` is never accepted. */
  algorithms: readonly JwtAlgorithm[];
  issuer: string;
  audience: string;
  /** Accepted clock skew, 0 to 60. Default 30. */
  clockToleranceSeconds?: number;
  /** Current time in epoch milliseconds. */
  now?: () => number;
}

const APPLICATION_ID_CLAIMS = ['ApplicationId', 'applicationId', 'application_id'] as const;

function readApplicationId(payload: JWTPayload): string | null {
  for (const claim of APPLICATION_ID_CLAIMS) {
    const value = payload[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
}

function mapJoseError(error: unknown): JwtFailure | undefined {
  if (error instanceof errors.JWTExpired) return 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp') return error.reason === 'missing' ? 'missing_exp' : 'malformed';
    if (error.claim === 'nbf') return error.reason === 'check_failed' ? 'not_yet_valid' : 'malformed';
    if (error.claim === 'iat') return error.reason === 'check_failed' ? 'not_yet_valid' : 'malformed';
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'aud') return 'wrong_audience';
    return 'malformed';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm_not_allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return 'bad_signature';
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'bad_signature';
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return 'malformed';
  }
  return undefined;
}

/** Longest token looked at; anything larger is malformed before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;

/**
 * Verifies API tokens: the header's `alg` must be in the allowlist, `exp` is required, issuer and
 * audience must match, and an application token must carry `ApplicationId`.
 * Throws {@link JwksUnavailableError} when a JWKS endpoint cannot be used.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  if (!Array.isArray(options.algorithms) || options.algorithms.length === 0) {
    throw new AuthConfigError('invalid_algorithm', 'algorithms must list at least one algorithm');
  }
  const algorithms = options.algorithms.map((a, i) => checkAlgorithm(a, `algorithms[${i}]`));
  const issuer = checkText(options.issuer, 'issuer');
  const audience = checkText(options.audience, 'audience');
  const clockToleranceSeconds = options.clockToleranceSeconds ?? 30;
  if (!Number.isInteger(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 60) {
    throw new AuthConfigError(
      'invalid_option',
      `clockToleranceSeconds must be an integer from 0 to 60, got ${clockToleranceSeconds}`,
    );
  }
  const sources = [options.secret, options.publicKeyPem, options.jwksUrl].filter((s) => s !== undefined);
  if (sources.length !== 1)
    throw new AuthConfigError('invalid_key', 'give exactly one of secret, publicKeyPem or jwksUrl');

  let key: KeyObject | ReturnType<typeof createRemoteJWKSet>;
  if (options.secret !== undefined) {
    key = checkHmacSecret(options.secret, algorithms);
  } else if (options.publicKeyPem !== undefined) {
    try {
      key = createPublicKey(options.publicKeyPem);
    } catch (cause) {
      throw new AuthConfigError('invalid_key', 'publicKeyPem is not a readable public key', { cause });
    }
    if (key.type !== 'public') throw new AuthConfigError('invalid_key', 'publicKeyPem must hold a public key');
    checkAsymmetricKey(key, algorithms, 'publicKeyPem');
  } else {
    let url: URL;
    try {
      url = new URL(options.jwksUrl ?? '');
    } catch (cause) {
      throw new AuthConfigError('invalid_option', 'jwksUrl is not a URL', { cause });
    }
    if (url.protocol !== 'https:') throw new AuthConfigError('invalid_option', 'jwksUrl must use https:');
    for (const algorithm of algorithms) {
      if (familyOf(algorithm) === 'hmac') {
        throw new AuthConfigError('invalid_algorithm', `a JWKS cannot be used with ${algorithm}`);
      }
    }
    key = createRemoteJWKSet(url, options.jwksFetch === undefined ? {} : { [customFetch]: options.jwksFetch });
  }
  const now = options.now ?? Date.now;

  return {
    async verify(token) {
      if (token === undefined || token === null || token === '') return { ok: false, reason: 'missing' };
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        return { ok: false, reason: 'malformed' };
      }
      if (typeof alg !== 'string' || !(algorithms as readonly string[]).includes(alg)) {
        return { ok: false, reason: 'algorithm_not_allowed' };
      }
      let payload: JWTPayload;
      try {
        const verifyOptions = {
          algorithms: [...algorithms],
          issuer,
          audience,
          clockTolerance: clockToleranceSeconds,
          currentDate: new Date(now()),
          requiredClaims: ['exp'],
        };
        // Two calls only because jose's overloads differ for a key and a key resolver.
        payload = (
          typeof key === 'function'
            ? await jwtVerify(token, key, verifyOptions)
            : await jwtVerify(token, key, verifyOptions)
        ).payload;
      } catch (error) {
        const reason = mapJoseError(error);
        if (reason !== undefined) return { ok: false, reason };
        if (typeof key !== 'function') throw error;
        throw new JwksUnavailableError('the JWKS endpoint could not be used to verify a token', { cause: error });
      }
      if (typeof payload.exp !== 'number') return { ok: false, reason: 'missing_exp' };
      const role: JwtRole = payload['role'] === 'operator' ? 'operator' : 'application';
      const applicationId = readApplicationId(payload);
      if (applicationId === null && role !== 'operator') return { ok: false, reason: 'missing_application_id' };
      const claims: JwtClaims = {
        applicationId,
        role,
        exp: payload.exp,
        ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}),
      };
      return { ok: true, claims };
    },
  };
}

/** What {@link jwtAuth} stores on the context after a successful check. */
export interface JwtAuthVariables {
  jwtClaims: JwtClaims;
}

/**
 * Hono middleware: reads `Authorization: Bearer <token>`, sets `c.var.jwtClaims`, and answers the
 * documents' 401 body ("Token is missing, invalid or ApplicationId is not found in the token.").
 */
export function jwtAuth(options: {
  verifier: JwtVerifier;
  onRejected?: (reason: JwtFailure) => void;
}): MiddlewareHandler<{ Variables: JwtAuthVariables }> {
  return createMiddleware<{ Variables: JwtAuthVariables }>(async (c, next) => {
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const result = await options.verifier.verify(match?.[1]);
    if (!result.ok) {
      options.onRejected?.(result.reason);
      return respondUnauthorized(c, { api: true, wwwAuthenticate: 'Bearer' });
    }
    c.set('jwtClaims', result.claims);
    await next();
  });
}
