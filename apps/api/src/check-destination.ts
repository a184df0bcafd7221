import type { DestinationPolicy } from '@herald/ssrf';
import { ApiError } from './api-error.ts';

const REASONS: Record<string, string> = {
  invalid_url: 'is not a valid URL',
  scheme_not_allowed: 'uses a scheme that is not allowed',
  credentials_in_url: 'must not contain user:password',
  blocked_address: 'points to an address this platform does not deliver to (private, loopback or reserved)',
  dns_failure: 'has a host name that could not be resolved',
};

function refuse(field: string, reason: string): never {
  // The reason names the rule, never the address the host resolved to.
  const message = `the destination ${REASONS[reason] ?? 'is not allowed'}`;
  throw new ApiError('blocked_destination', message, { errors: { [field]: [message] } });
}

/**
 * Configuration-time SSRF check of a channel URL: syntax, scheme, credentials and every address the
 * host resolves to. Throws a 422 ApiError naming the rule (never the resolved address).
 */
export async function checkDestination(
  policy: DestinationPolicy,
  field: string,
  url: string,
  opts: { schemes: readonly string[] },
): Promise<void> {
  const syntax = policy.checkUrl(url, { schemes: opts.schemes });
  if (!syntax.ok) refuse(field, syntax.reason);
  const host = syntax.url.hostname.replace(/^\[|\]$/g, '');
  const resolved = await policy.checkHost(host);
  if (!resolved.ok) refuse(field, resolved.reason);
}
