import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { TLSSocket } from 'node:tls';
import { AuthConfigError } from './auth-config-error.ts';
import { createIpAllowlist, type IpAllowlistOptions, readNodeRemoteAddress } from './ip-allowlist.ts';
import { createMtlsVerifier, type MtlsVerifierOptions, readNodeTlsSocket } from './mtls.ts';
import { createSharedSecretVerifier } from './shared-secret.ts';
import { createRawBodyReader } from './raw-body.ts';
import { respondUnauthorized } from './unauthorized-response.ts';
import { createWebhookVerifier, type WebhookVerifierOptions } from './webhook-signature.ts';

export type PushAuthStrategy = 'ip_allowlist' | 'mtls' | 'shared_secret' | 'signature';

/** Which check refused a push, and why (for logs; never sent to the caller). */
export interface PushAuthFailure {
  strategy: PushAuthStrategy;
  reason: string;
}

export interface PushAuthOptions {
  ipAllowlist?: IpAllowlistOptions & { getRemoteAddress?: (c: Context) => string | undefined };
  mtls?: MtlsVerifierOptions & { getSocket?: (c: Context) => TLSSocket | undefined };
  sharedSecret?: { headerName: string; secrets: readonly string[] };
  signatures?: WebhookVerifierOptions;
  /** Bodies above this are refused (413) before signature checks. Default 5 MiB. */
  maxBodyBytes?: number;
  onRejected?: (failure: PushAuthFailure) => void;
}

/** What {@link pushAuth} stores on the context after every configured check passed. */
export interface PushAuthVariables {
  push: {
    clientIp?: string;
    clientCertificate?: { subject: string; fingerprint256: string };
    webhook?: { id: string; timestampSeconds: number };
  };
}

/**
 * One receiver middleware for Herald's pushes: runs every configured strategy (all must pass),
 * cheapest first (source IP, client certificate, shared secret, then the signature over the raw
 * body). A refusal is the same 401 problem body whichever check failed.
 */
export function pushAuth(options: PushAuthOptions): MiddlewareHandler<{ Variables: PushAuthVariables }> {
  const ip = options.ipAllowlist ? createIpAllowlist(options.ipAllowlist) : undefined;
  const mtls = options.mtls ? createMtlsVerifier(options.mtls) : undefined;
  const secret = options.sharedSecret ? createSharedSecretVerifier(options.sharedSecret) : undefined;
  const signatures = options.signatures ? createWebhookVerifier(options.signatures) : undefined;
  if (!ip && !mtls && !secret && !signatures) {
    throw new AuthConfigError('invalid_option', 'pushAuth needs at least one strategy');
  }
  const readRawBody = createRawBodyReader(options.maxBodyBytes);
  const getRemoteAddress = options.ipAllowlist?.getRemoteAddress ?? readNodeRemoteAddress;
  const getSocket = options.mtls?.getSocket ?? readNodeTlsSocket;

  return createMiddleware<{ Variables: PushAuthVariables }>(async (c, next) => {
    const reject = (strategy: PushAuthStrategy, reason: string) => {
      options.onRejected?.({ strategy, reason });
      return respondUnauthorized(c);
    };
    const push: PushAuthVariables['push'] = {};
    if (ip) {
      const result = ip.check(getRemoteAddress(c) ?? '', c.req.header('x-forwarded-for'));
      if (!result.ok) return reject('ip_allowlist', result.reason);
      push.clientIp = result.clientIp;
    }
    if (mtls) {
      const socket = getSocket(c);
      const result = socket === undefined ? ({ ok: false, reason: 'no_certificate' } as const) : mtls.verify(socket);
      if (!result.ok) return reject('mtls', result.reason);
      push.clientCertificate = { subject: result.subject, fingerprint256: result.fingerprint256 };
    }
    if (secret) {
      const result = secret.verify(c.req.raw.headers);
      if (!result.ok) return reject('shared_secret', result.reason);
    }
    if (!signatures) {
      c.set('push', push);
      await next();
      return;
    }
    return readRawBody(c, async (body) => {
      const result = signatures.verify(c.req.raw.headers, body);
      if (!result.ok) return reject('signature', result.reason);
      push.webhook = { id: result.id, timestampSeconds: result.timestampSeconds };
      c.set('push', push);
      await next();
      return undefined;
    });
  });
}
