import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { AuthConfigError } from './auth-config-error.ts';
import { formatIp, type IpAddress, type IpRange, isInRange, parseIpRange, parseIpStrict } from './ip-address.ts';
import { respondUnauthorized } from './unauthorized-response.ts';

/** Longest X-Forwarded-For list walked; longer lists are treated as invalid. */
const MAX_FORWARDED_HOPS = 32;

export type IpAllowlistResult =
  | { ok: true; clientIp: string }
  | { ok: false; reason: 'not_allowed' | 'invalid_address' };

export interface IpAllowlist {
  /**
   * `forwardedFor` (the X-Forwarded-For value) is read only when `remoteAddress` is a trusted
   * proxy; it is walked right to left, skipping trusted proxies, and the first other address is
   * the client.
   */
  check(remoteAddress: string, forwardedFor?: string): IpAllowlistResult;
}

export interface IpAllowlistOptions {
  /** IPs and CIDRs, IPv4 and IPv6. */
  allow: readonly string[];
  /** Proxies whose X-Forwarded-For is believed (IPs and CIDRs). */
  trustedProxies?: readonly string[];
}

function compileRanges(list: readonly string[], label: string): IpRange[] {
  return list.map((entry, i) => {
    const range = parseIpRange(entry);
    if (range === undefined) {
      throw new AuthConfigError(
        'invalid_cidr',
        `${label}[${i}] is not an IP address or CIDR: ${JSON.stringify(entry)}`,
      );
    }
    return range;
  });
}

/** Strips the `[v6]:port`, `[v6]` and `v4:port` decorations some proxies add. */
function parseForwardedEntry(entry: string): IpAddress | undefined {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) return parseIpStrict(bracketed[1] ?? '');
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  if (v4WithPort) return parseIpStrict(v4WithPort[1] ?? '');
  return parseIpStrict(text);
}

/** The verifier's half of the fixed-source-IP strategy. Rules are compiled once, here. */
export function createIpAllowlist(options: IpAllowlistOptions): IpAllowlist {
  if (!Array.isArray(options.allow) || options.allow.length === 0) {
    throw new AuthConfigError('invalid_cidr', 'allow must list at least one IP address or CIDR');
  }
  const allow = compileRanges(options.allow, 'allow');
  const proxies = compileRanges(options.trustedProxies ?? [], 'trustedProxies');
  const isProxy = (ip: IpAddress) => proxies.some((r) => isInRange(ip, r));

  return {
    check(remoteAddress, forwardedFor) {
      const peer = parseIpStrict(remoteAddress);
      if (peer === undefined) return { ok: false, reason: 'invalid_address' };
      let client = peer;
      if (forwardedFor !== undefined && forwardedFor.trim() !== '' && isProxy(peer)) {
        const hops = forwardedFor.split(',');
        if (hops.length > MAX_FORWARDED_HOPS) return { ok: false, reason: 'invalid_address' };
        for (let i = hops.length - 1; i >= 0; i--) {
          const hop = parseForwardedEntry(hops[i] ?? '');
          if (hop === undefined) return { ok: false, reason: 'invalid_address' };
          client = hop;
          if (!isProxy(hop)) break;
        }
      }
      if (!allow.some((r) => isInRange(client, r))) return { ok: false, reason: 'not_allowed' };
      return { ok: true, clientIp: formatIp(client) };
    },
  };
}

/** Reads the peer address from `@hono/node-server`'s `c.env.incoming`. */
export function readNodeRemoteAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming)) return undefined;
  const socket: unknown = incoming.socket;
  if (typeof socket !== 'object' || socket === null || !('remoteAddress' in socket)) return undefined;
  return typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}

export interface IpAllowlistAuthOptions extends IpAllowlistOptions {
  /** Where the direct peer's address comes from. Default: {@link readNodeRemoteAddress}. */
  getRemoteAddress?: (c: Context) => string | undefined;
  onRejected?: (reason: 'not_allowed' | 'invalid_address') => void;
}

/** What {@link ipAllowlistAuth} stores on the context after a successful check. */
export interface IpAllowlistVariables {
  clientIp: string;
}

/** Hono middleware: 401 problem body unless the client address is allowed. */
export function ipAllowlistAuth(
  options: IpAllowlistAuthOptions,
): MiddlewareHandler<{ Variables: IpAllowlistVariables }> {
  const allowlist = createIpAllowlist(options);
  const getRemoteAddress = options.getRemoteAddress ?? readNodeRemoteAddress;
  return createMiddleware<{ Variables: IpAllowlistVariables }>(async (c, next) => {
    const result = allowlist.check(getRemoteAddress(c) ?? '', c.req.header('x-forwarded-for'));
    if (!result.ok) {
      options.onRejected?.(result.reason);
      return respondUnauthorized(c);
    }
    c.set('clientIp', result.clientIp);
    await next();
  });
}
