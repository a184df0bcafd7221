import dns from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { BlockedDestinationError } from './blocked-destination-error.ts';
import { classifyParsedAddress, type IpAddress, parseIpAddress } from './classify-address.ts';
import { SsrfConfigError } from './ssrf-config-error.ts';

/** One resolved address, as `dns.lookup(..., { all: true })` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a name to all its addresses (default: `dns.promises.lookup` with `all: true`). */
export type ResolveHost = (
  hostname: string,
  options: { family: 0 | 4 | 6; hints?: number },
) => Promise<ResolvedAddress[]>;

export type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | ResolvedAddress[],
  family?: number,
) => void;

/** `dns.lookup`-compatible: usable as the `lookup` option of `net.connect` / `tls.connect`. */
export type GuardedLookup = {
  (hostname: string, callback: LookupCallback): void;
  (hostname: string, options: dns.LookupOptions | number | undefined, callback: LookupCallback): void;
};

export interface DestinationPolicyOptions {
  /** Non-public ranges to allow anyway, e.g. `['127.0.0.0/8', '10.1.0.0/16', 'fd12::/64']`. */
  allowCidrs?: readonly string[];
  /** Allow every address (development only; disables the guard). */
  allowAll?: boolean;
  /** Name resolution, injectable for tests; defaults to the system resolver. */
  resolveHost?: ResolveHost;
}

export interface CheckUrlOptions {
  /** Also accept `http:` (default: https only). Ignored when `schemes` is given. */
  allowHttp?: boolean;
  /** Accepted schemes, e.g. `['amqps:', 'amqp:']` (with or without the trailing colon). */
  schemes?: readonly string[];
}

export type CheckUrlResult =
  | { ok: true; url: URL }
  | { ok: false; reason: 'invalid_url' | 'scheme_not_allowed' | 'credentials_in_url' | 'blocked_address' };

export type CheckHostResult =
  | { ok: true; address: string; family: 4 | 6 }
  | { ok: false; reason: 'blocked_address' | 'dns_failure' };

export interface DestinationPolicy {
  /** Public addresses are allowed; any other only inside `allowCidrs` (or with `allowAll`). */
  isAllowedAddress(ip: string): boolean;
  /**
   * For a connector: true when `host` is not an IP literal (the guarded lookup will check what it
   * resolves to) or is an allowed one. Node skips `lookup` for IP literals, so check them here.
   */
  isAllowedDialHost(host: string): boolean;
  /** Syntax-level check of a destination URL, without DNS. */
  checkUrl(url: string, opts?: CheckUrlOptions): CheckUrlResult;
  /** Resolves `hostname` and refuses it if ANY of its addresses is not allowed. */
  checkHost(hostname: string): Promise<CheckHostResult>;
  /** A `dns.lookup` replacement that fails with `HERALD_BLOCKED_DESTINATION` for refused names. */
  lookup: GuardedLookup;
  readonly allowAll: boolean;
}

type Range = readonly [IpAddress, number];

function parseAllowCidr(text: string): Range {
  const fail = (cause?: unknown): never => {
    throw new SsrfConfigError(
      'HERALD_SSRF_INVALID_CIDR',
      `allowCidrs: expected an IP address or CIDR such as "10.0.0.0/8" or "fd00::/8", received ${JSON.stringify(text)}`,
      cause === undefined ? undefined : { cause },
    );
  };
  if (typeof text !== 'string') return fail();
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  // Strict forms only: "127.1/8" in a config file is more likely a typo than a shorthand.
  if (isIP(addrText) === 0) return fail();
  let addr: IpAddress;
  let bits: number;
  try {
    addr = ipaddr.parse(addrText);
    const full = addr.kind() === 'ipv4' ? 32 : 128;
    if (slash < 0) bits = full;
    else {
      const prefix = text.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > full) return fail();
      bits = Number(prefix);
    }
  } catch (err) {
    return fail(err);
  }
  // ::ffff:a.b.c.d/N with N >= 96 is an IPv4 range.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [addr, bits];
}

function normaliseSchemes(opts: CheckUrlOptions | undefined): ReadonlySet<string> {
  if (opts?.schemes !== undefined) {
    return new Set(opts.schemes.map((s) => (s.endsWith(':') ? s : `${s}:`).toLowerCase()));
  }
  return new Set(opts?.allowHttp === true ? ['https:', 'http:'] : ['https:']);
}

function stripHost(hostname: string): string {
  let host = hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  // "localhost." and "localhost" are the same name.
  while (host.endsWith('.') && host.length > 1) host = host.slice(0, -1);
  return host.toLowerCase();
}

function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.localdomain';
}

const defaultResolveHost: ResolveHost = async (hostname, options) =>
  dns.promises.lookup(hostname, { all: true, family: options.family, order: 'verbatim', hints: options.hints ?? 0 });

/**
 * Builds the policy that decides which destinations outgoing connections may reach. `allowCidrs` is
 * validated here: a bad entry throws {@link SsrfConfigError} (`HERALD_SSRF_INVALID_CIDR`).
 */
export function createDestinationPolicy(options: DestinationPolicyOptions = {}): DestinationPolicy {
  if (typeof options !== 'object' || options === null) {
    throw new SsrfConfigError('HERALD_SSRF_INVALID_CONFIG', 'destination policy options must be an object');
  }
  const { allowCidrs = [], allowAll = false, resolveHost = defaultResolveHost } = options;
  if (!Array.isArray(allowCidrs)) {
    throw new SsrfConfigError('HERALD_SSRF_INVALID_CONFIG', 'allowCidrs must be an array of CIDR strings');
  }
  if (typeof allowAll !== 'boolean') {
    throw new SsrfConfigError('HERALD_SSRF_INVALID_CONFIG', 'allowAll must be a boolean');
  }
  const ranges = allowCidrs.map(parseAllowCidr);

  const inAllowedRange = (addr: IpAddress): boolean => {
    const candidates: IpAddress[] = [addr];
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      candidates.push((addr as ipaddr.IPv6).toIPv4Address());
    }
    return ranges.some(([range, bits]) => candidates.some((c) => c.kind() === range.kind() && c.match(range, bits)));
  };

  const isAllowedParsed = (addr: IpAddress): boolean =>
    allowAll || classifyParsedAddress(addr) === 'public' || inAllowedRange(addr);

  const isAllowedAddress = (ip: string): boolean => {
    const addr = parseIpAddress(ip);
    return addr !== undefined && isAllowedParsed(addr);
  };

  // "localhost" never needs DNS to be known as loopback (RFC 6761).
  const isAllowedLocalhost = (): boolean => isAllowedAddress('127.0.0.1') && isAllowedAddress('::1');

  const isAllowedDialHost = (host: string): boolean => {
    const bare = stripHost(host);
    if (isIP(bare) !== 0) return isAllowedAddress(bare);
    return !isLocalhostName(bare) || isAllowedLocalhost();
  };

  const checkUrl = (raw: string, opts?: CheckUrlOptions): CheckUrlResult => {
    const url = typeof raw === 'string' ? URL.parse(raw) : null;
    if (url === null) return { ok: false, reason: 'invalid_url' };
    if (!normaliseSchemes(opts).has(url.protocol)) return { ok: false, reason: 'scheme_not_allowed' };
    if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials_in_url' };
    const host = stripHost(url.hostname);
    if (host === '') return { ok: false, reason: 'invalid_url' };
    // Special schemes have their IPv4 forms normalised by the parser; others (amqp:) keep opaque
    // hosts like "0x7f.1", which the system resolver would still read as 127.0.0.1.
    const literal = parseIpAddress(host);
    if (literal !== undefined) {
      return isAllowedParsed(literal) ? { ok: true, url } : { ok: false, reason: 'blocked_address' };
    }
    if (isLocalhostName(host) && !isAllowedLocalhost()) return { ok: false, reason: 'blocked_address' };
    return { ok: true, url };
  };

  const resolveChecked = async (
    hostname: string,
    family: 0 | 4 | 6,
    hints?: number,
  ): Promise<{ ok: true; addresses: ResolvedAddress[] } | { ok: false; error: NodeJS.ErrnoException }> => {
    const host = stripHost(hostname);
    const literal = parseIpAddress(host);
    if (literal !== undefined) {
      const address = literal.toString();
      if (!isAllowedParsed(literal)) return { ok: false, error: new BlockedDestinationError(hostname) };
      return { ok: true, addresses: [{ address, family: literal.kind() === 'ipv4' ? 4 : 6 }] };
    }
    if (isLocalhostName(host) && !isAllowedLocalhost()) {
      return { ok: false, error: new BlockedDestinationError(hostname) };
    }
    let addresses: ResolvedAddress[];
    try {
      addresses = await resolveHost(host, hints === undefined ? { family } : { family, hints });
    } catch (err) {
      return { ok: false, error: err as NodeJS.ErrnoException };
    }
    if (addresses.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      return { ok: false, error: err };
    }
    // One refused address refuses the name: a resolver answering a public and a private address
    // must not get the private one dialled on a retry or by happy-eyeballs.
    if (!addresses.every((a) => isAllowedAddress(a.address))) {
      return { ok: false, error: new BlockedDestinationError(hostname) };
    }
    return { ok: true, addresses };
  };

  const checkHost = async (hostname: string): Promise<CheckHostResult> => {
    const r = await resolveChecked(hostname, 0);
    if (!r.ok) {
      return { ok: false, reason: r.error instanceof BlockedDestinationError ? 'blocked_address' : 'dns_failure' };
    }
    const first = r.addresses[0] as ResolvedAddress;
    return { ok: true, address: first.address, family: first.family === 6 ? 6 : 4 };
  };

  const lookup = ((
    hostname: string,
    optionsOrCallback: dns.LookupOptions | number | undefined | LookupCallback,
    maybeCallback?: LookupCallback,
  ): void => {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    if (typeof callback !== 'function') throw new TypeError('lookup: callback must be a function');
    const opts: dns.LookupOptions =
      typeof optionsOrCallback === 'number'
        ? { family: optionsOrCallback }
        : typeof optionsOrCallback === 'object' && optionsOrCallback !== null
          ? optionsOrCallback
          : {};
    const rawFamily = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : opts.family;
    const family: 0 | 4 | 6 = rawFamily === 4 || rawFamily === 6 ? rawFamily : 0;
    resolveChecked(hostname, family, opts.hints).then(
      (r) => {
        if (!r.ok) return callback(r.error, opts.all === true ? [] : '', 0);
        if (opts.all === true) return callback(null, r.addresses);
        const first = r.addresses[0] as ResolvedAddress;
        return callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, opts.all === true ? [] : '', 0),
    );
  }) as GuardedLookup;

  return { isAllowedAddress, isAllowedDialHost, checkUrl, checkHost, lookup, allowAll };
}
