export { ApiError, type ApiErrorCode, ERROR_STATUS } from './api-error.ts';
export { createApp, DEFAULT_BODY_LIMIT_BYTES, listRoutes } from './app.ts';
export type {
  AppDeps,
  ClientCertificateIssuer,
  CredentialService,
  Principal,
  PublishEngine,
  ReadinessCheck,
  TokenClaims,
  TokenService,
} from './app-types.ts';
export { ApiEnv, EnvError, loadEnv } from './env.ts';
export { createLogger } from './logger.ts';
export { type Platform, startPlatform } from './platform.ts';
export { createClientCertificateIssuer, createCredentialService, createTokenService } from './services.ts';
export { type ApiMetrics, createApiMetrics } from './metrics.ts';
export { buildOpenApiDocument } from './openapi.ts';
export { createRateLimiter, type RateLimiter } from './rate-limiter.ts';
