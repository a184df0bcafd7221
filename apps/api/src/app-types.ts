import type { SignalRHub } from '@herald/realtime';
import type { DestinationPolicy } from '@herald/ssrf';
import type { Engine } from '@herald/engine';
import type { ApiKey, ApiKeyRole, Store } from '@herald/store';
import type { Logger } from 'pino';
import type { ApiMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** Claims Herald puts in its JWTs. Operators may carry a null applicationId. */
export interface TokenClaims {
  applicationId: string | null;
  role: ApiKeyRole;
}

export type VerifyTokenResult = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

/** JWT minting and checking (adapted from @herald/auth in main). */
export interface TokenService {
  issue(claims: TokenClaims): Promise<string>;
  verify(token: string): Promise<VerifyTokenResult>;
  readonly ttlSeconds: number;
}

/** API key secrets: generated, hashed for storage, and verified (with a cache of successes). */
export interface CredentialService {
  generate(): { key: string; secret: string };
  hash(secret: string): Promise<string>;
  verify(secret: string, hash: string): Promise<boolean>;
  /** True when this secret was verified against this hash recently (from memory, no scrypt). */
  isRemembered?(secret: string, hash: string): boolean;
  /** Forget remembered verifications (after a revoke or rotation). */
  forget(): void;
}

/** What the API needs of @herald/engine. */
export type PublishEngine = Pick<Engine, 'publish' | 'redeliver' | 'recover'>;

/** Issues mTLS client certificates for webhook channels; Herald keeps the private key. */
export interface ClientCertificateIssuer {
  issue(commonName: string): Promise<{ certPem: string; keyPem: string; caPem: string; notAfter: Date }>;
}

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

export interface AppDeps {
  store: Store;
  engine: PublishEngine;
  tokens: TokenService;
  credentials: CredentialService;
  destinationPolicy: DestinationPolicy;
  /** Accept http:// webhook URLs (development only). */
  allowHttp: boolean;
  logger: Logger;
  generateSigningSecret: () => string;
  clientCertificates?: ClientCertificateIssuer;
  /**
   * How long an API key row read at authentication is reused, in milliseconds (default 1000; 0 turns the
   * cache off). Revoking, rotating or re-crediting a key through this process drops the cache at once;
   * other API processes see the change within this time.
   */
  apiKeyCacheMs?: number;
  /** Request bodies above this many bytes get 413 before they are read. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Per-application request rate limiter; default 100/s with a burst of 100. */
  rateLimiter?: RateLimiter;
  metrics?: ApiMetrics;
  /** When set, /metrics needs `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  readiness?: readonly ReadinessCheck[];
  /** SignalR-compatible hub for channel kind 1; its negotiate endpoint answers 404 when absent. */
  realtimeHub?: SignalRHub;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** Who is calling, after authentication. */
export interface Principal {
  role: ApiKeyRole;
  /** The token's application (null for a platform-wide operator). */
  applicationId: string | null;
  apiKey: ApiKey;
}

export interface ApiVariables {
  traceId: string;
  correlationId: string;
  principal: Principal | undefined;
  /** Route pattern that matched, for metrics and logs. */
  routePattern: string;
}

export interface ApiEnvBindings {
  Variables: ApiVariables;
}
