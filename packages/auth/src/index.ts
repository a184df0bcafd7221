export { AuthConfigError, type AuthConfigErrorCode } from './auth-config-error.ts';
export { type HeaderSource, readHeader } from './header-value.ts';
export {
  API_UNAUTHORIZED_MESSAGE,
  createUnauthorizedProblem,
  resolveTraceId,
  type UnauthorizedProblem,
} from './unauthorized-problem.ts';
export {
  createSharedSecretSender,
  createSharedSecretVerifier,
  MIN_SHARED_SECRET_LENGTH,
  type SharedSecretAuthOptions,
  type SharedSecretResult,
  type SharedSecretSender,
  type SharedSecretVerifier,
  sharedSecretAuth,
} from './shared-secret.ts';
export {
  createWebhookSigner,
  createWebhookVerifier,
  type Ed25519KeyInput,
  generateWebhookKeyPair,
  generateWebhookSecret,
  type WebhookAuthVariables,
  type WebhookSignatureAuthOptions,
  type WebhookSignatureHeaders,
  type WebhookSigner,
  type WebhookVerifier,
  type WebhookVerifierOptions,
  type WebhookVerifyFailure,
  type WebhookVerifyResult,
  webhookSignatureAuth,
} from './webhook-signature.ts';
export {
  createIpAllowlist,
  type IpAllowlist,
  type IpAllowlistAuthOptions,
  type IpAllowlistOptions,
  type IpAllowlistResult,
  type IpAllowlistVariables,
  ipAllowlistAuth,
  readNodeRemoteAddress,
} from './ip-allowlist.ts';
export {
  createSourceAddressBinding,
  type InterfaceAddresses,
  type SourceAddressBinding,
  type SourceAddressBindingOptions,
} from './source-address-binding.ts';
export {
  type CertificateAuthority,
  type CertificateKeyType,
  createCertificateAuthority,
  type IssuedCertificate,
  issueClientCertificate,
  issueServerCertificate,
} from './certificates.ts';
export {
  createMtlsIdentity,
  createMtlsVerifier,
  type MtlsAuthOptions,
  type MtlsFailure,
  type MtlsIdentity,
  type MtlsVariables,
  type MtlsVerifier,
  type MtlsVerifierOptions,
  type MtlsVerifyResult,
  mtlsAuth,
  readNodeTlsSocket,
} from './mtls.ts';
export {
  API_SECRET_SCRYPT,
  type ApiCredentials,
  type ApiSecretCache,
  createApiSecretCache,
  generateApiCredentials,
  hashApiSecret,
  verifyApiSecret,
} from './api-credentials.ts';
export {
  createJwtIssuer,
  createJwtVerifier,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  type JwtAuthVariables,
  type JwtClaims,
  type JwtFailure,
  type JwtIssuer,
  type JwtIssuerOptions,
  type JwtRole,
  JwksUnavailableError,
  type JwtVerifier,
  type JwtVerifierOptions,
  type JwtVerifyResult,
  jwtAuth,
} from './jwt.ts';
export {
  type ApiAuthVariables,
  type ApiCredentialsAuthOptions,
  type ApiCredentialsFailure,
  apiCredentialsAuth,
  type StoredApiKey,
} from './api-credentials-auth.ts';
export {
  type PushAuthFailure,
  type PushAuthOptions,
  type PushAuthStrategy,
  type PushAuthVariables,
  pushAuth,
} from './push-auth.ts';
export { DEFAULT_MAX_BODY_BYTES } from './raw-body.ts';
