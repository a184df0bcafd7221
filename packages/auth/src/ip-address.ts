import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses a textual IP strictly (node's `isIP`: no `127.1` or hex forms) and folds an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) to its IPv4 form.
 */
export function parseIpStrict(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || isIP(text) === 0) return undefined;
  try {
    return ipaddr.process(text);
  } catch {
    return undefined;
  }
}

/** A parsed CIDR range (a single address is a full-length range). */
export type IpRange = [IpAddress, number];

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a single address; mapped IPv6 ranges fold to IPv4. */
export function parseIpRange(text: string): IpRange | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  const address = parseIpStrict(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const wasMappedV6 = address.kind() === 'ipv4' && isIP(slash < 0 ? text : text.slice(0, slash)) === 6;
  const fullBits = wasMappedV6 ? 128 : address.kind() === 'ipv4' ? 32 : 128;
  let bits = fullBits;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix)) return undefined;
    bits = Number(prefix);
    if (bits > fullBits) return undefined;
  }
  if (wasMappedV6) {
    // ::ffff:a.b.c.d/N covers IPv4 space only when N >= 96.
    if (bits < 96) return undefined;
    bits -= 96;
  }
  return [address, bits];
}

/** True when `address` falls within `range` (families must match). */
export function isInRange(address: IpAddress, range: IpRange): boolean {
  const [base, bits] = range;
  if (address.kind() !== base.kind()) return false;
  return address.kind() === 'ipv4'
    ? (address as ipaddr.IPv4).match(base as ipaddr.IPv4, bits)
    : (address as ipaddr.IPv6).match(base as ipaddr.IPv6, bits);
}

/** Canonical text: dotted IPv4, RFC 5952 IPv6. */
export function formatIp(address: IpAddress): string {
  return address.kind() === 'ipv4' ? address.toString() : (address as ipaddr.IPv6).toRFC5952String();
}
