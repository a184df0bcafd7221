import ipaddr from 'ipaddr.js';

/** What kind of destination an IP address is; only `public` is dialled without an explicit allow. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  /** 100.64.0.0/10, carrier-grade NAT. */
  | 'shared'
  | 'multicast'
  | 'reserved'
  | 'unspecified'
  /** Cloud instance metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200, ...). */
  | 'metadata'
  | 'documentation'
  | 'benchmarking'
  | 'broadcast'
  | 'invalid';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

type Table<T extends IpAddress> = ReadonlyArray<readonly [T, number, AddressClass]>;

function v4Table(rows: ReadonlyArray<readonly [string, AddressClass]>): Table<ipaddr.IPv4> {
  return rows.map(([cidr, cls]) => {
    const [addr, bits] = ipaddr.IPv4.parseCIDR(cidr);
    return [addr, bits, cls] as const;
  });
}

function v6Table(rows: ReadonlyArray<readonly [string, AddressClass]>): Table<ipaddr.IPv6> {
  return rows.map(([cidr, cls]) => {
    const [addr, bits] = ipaddr.IPv6.parseCIDR(cidr);
    return [addr, bits, cls] as const;
  });
}

// First match wins: specific entries before the blocks that contain them.
const IPV4: Table<ipaddr.IPv4> = v4Table([
  ['169.254.169.254/32', 'metadata'], // AWS, GCP, Azure, OpenStack, DigitalOcean, ...
  ['169.254.170.2/32', 'metadata'], // AWS ECS task metadata
  ['169.254.169.253/32', 'metadata'], // AWS VPC DNS / NTP
  ['100.100.100.200/32', 'metadata'], // Alibaba Cloud
  ['168.63.129.16/32', 'metadata'], // Azure WireServer (inside public space)
  ['192.0.0.192/32', 'metadata'], // Oracle Cloud (classic)
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['169.254.0.0/16', 'link-local'],
  ['100.64.0.0/10', 'shared'],
  ['224.0.0.0/4', 'multicast'],
  ['192.0.2.0/24', 'documentation'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['198.18.0.0/15', 'benchmarking'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast
  ['240.0.0.0/4', 'reserved'],
]);

const IPV6: Table<ipaddr.IPv6> = v6Table([
  ['fd00:ec2::254/128', 'metadata'], // AWS IMDS over IPv6
  ['fd00:ec2::23/128', 'metadata'], // AWS VPC DNS over IPv6
  ['fd20:ce::254/128', 'metadata'], // GCP metadata over IPv6
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['ff00::/8', 'multicast'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['fc00::/7', 'private'], // unique local
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['2001:2::/48', 'benchmarking'],
  ['100::/64', 'reserved'], // discard-only
  ['2001::/23', 'reserved'], // IETF protocol assignments (incl. Teredo, ORCHID)
  ['5f00::/16', 'reserved'], // SRv6 SIDs
  ['2000::/3', 'public'],
  ['::/0', 'reserved'], // everything outside global unicast
]);

// Prefixes that carry an IPv4 address in their low 32 bits (or, for 6to4, bits 16..48).
const MAPPED = ipaddr.IPv6.parseCIDR('::ffff:0:0/96');
const COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const TRANSLATED = ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96');
const NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const NAT64_LOCAL = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');
const TEREDO = ipaddr.IPv6.parseCIDR('2001::/32');

function v4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([(high >> 8) & 0xff, high & 0xff, (low >> 8) & 0xff, low & 0xff]);
}

/**
 * Parses an IP address in any form the WHATWG URL parser or `inet_aton` accepts (`127.1`,
 * `0x7f.0.0.1`, `2130706433`, `[::1]`, zone ids), or returns undefined.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined;
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  try {
    if (!bare.includes(':')) return ipaddr.IPv4.parse(bare);
    // ipaddr.js reads "::1.2.3.4" as "::ffff:1.2.3.4"; the WHATWG parser is exact, so let it
    // canonicalise first (it has no zone ids: set those aside).
    const zone = bare.indexOf('%');
    const addr = zone < 0 ? bare : bare.slice(0, zone);
    const probe = `http://[${addr}]/`;
    if (!URL.canParse(probe)) return undefined;
    const parsed = ipaddr.IPv6.parse(new URL(probe).hostname.slice(1, -1));
    if (zone >= 0) parsed.zoneId = bare.slice(zone + 1);
    return parsed;
  } catch {
    return undefined;
  }
}

function classifyV4(addr: ipaddr.IPv4): AddressClass {
  for (const [range, bits, cls] of IPV4) if (addr.match(range, bits)) return cls;
  return 'public';
}

function classifyV6(addr: ipaddr.IPv6): AddressClass {
  const p = addr.parts;
  const low = v4FromWords(p[6] ?? 0, p[7] ?? 0);
  // :: and ::1 sit inside ::/96 but are IPv6 specials.
  if (addr.match(COMPATIBLE) && !(p[6] === 0 && (p[7] === 0 || p[7] === 1))) {
    const cls = classifyV4(low);
    return cls === 'public' ? 'reserved' : cls;
  }
  // Dual-stack sockets dial the embedded IPv4 address directly.
  if (addr.match(MAPPED)) return classifyV4(low);
  if (addr.match(TRANSLATED) || addr.match(NAT64_LOCAL)) {
    const cls = classifyV4(low);
    return cls === 'public' ? (addr.match(NAT64_LOCAL) ? 'private' : 'reserved') : cls;
  }
  if (addr.match(NAT64)) return classifyV4(low);
  if (addr.match(SIX_TO_FOUR)) return classifyV4(v4FromWords(p[1] ?? 0, p[2] ?? 0));
  if (addr.match(TEREDO)) {
    // Teredo obfuscates the client address by inverting its bits.
    const cls = classifyV4(v4FromWords(~(p[6] ?? 0), ~(p[7] ?? 0)));
    return cls === 'public' ? 'reserved' : cls;
  }
  for (const [range, bits, cls] of IPV6) if (addr.match(range, bits)) return cls;
  return 'reserved';
}

/**
 * Classifies an IP address. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64,
 * 6to4, Teredo) are classified by the embedded address when that is not public.
 */
export function classifyAddress(ip: string): AddressClass {
  const addr = parseIpAddress(ip);
  return addr === undefined ? 'invalid' : classifyParsedAddress(addr);
}

/** {@link classifyAddress} for an address already parsed. */
export function classifyParsedAddress(addr: IpAddress): AddressClass {
  return addr.kind() === 'ipv4' ? classifyV4(addr as ipaddr.IPv4) : classifyV6(addr as ipaddr.IPv6);
}
