import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressClass, classifyAddress } from './classify-address.ts';

const CASES: ReadonlyArray<readonly [string, AddressClass]> = [
  // public
  ['8.8.8.8', 'public'],
  ['1.1.1.1', 'public'],
  ['93.184.216.34', 'public'],
  ['172.15.255.255', 'public'],
  ['172.32.0.0', 'public'],
  ['100.63.255.255', 'public'],
  ['100.128.0.0', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['2a00:1450:4001:80b::200e', 'public'],
  // loopback, every spelling
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['127.1', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['2130706433', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::127.0.0.1', 'loopback'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['2002:7f00:1::1', 'loopback'],
  // private
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:a00:1', 'private'],
  ['::ffff:c0a8:101', 'private'],
  ['::10.0.0.1', 'private'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::a00:1', 'private'],
  ['64:ff9b:1::8.8.8.8', 'private'],
  ['64:ff9b:1::10.0.0.1', 'private'],
  ['2002:c0a8:101::1', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456:789a::1', 'private'],
  ['fec0::1', 'private'],
  // link-local
  ['169.254.0.1', 'link-local'],
  ['169.254.1.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['::ffff:169.254.1.1', 'link-local'],
  // shared (CGNAT)
  ['100.64.0.1', 'shared'],
  ['100.127.255.255', 'shared'],
  ['::ffff:100.64.0.1', 'shared'],
  // metadata
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['fd20:ce::254', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['2852039166', 'metadata'],
  ['0xa9.0xfe.0xa9.0xfe', 'metadata'],
  ['64:ff9b::169.254.169.254', 'metadata'],
  // multicast
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff05::1:3', 'multicast'],
  // unspecified
  ['0.0.0.0', 'unspecified'],
  ['0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['::ffff:0.0.0.0', 'unspecified'],
  // broadcast
  ['255.255.255.255', 'broadcast'],
  // documentation
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  // benchmarking
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['2001:2::1', 'benchmarking'],
  // reserved
  ['240.0.0.1', 'reserved'],
  ['254.255.255.255', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.88.99.1', 'reserved'],
  ['100::1', 'reserved'],
  ['2001:10::1', 'reserved'],
  ['5f00::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['::8.8.8.8', 'reserved'], // IPv4-compatible, deprecated: not dialled even when the v4 is public
  ['::ffff:0:8.8.8.8', 'reserved'],
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'reserved'], // Teredo, client 8.8.8.8 (bits inverted)
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'documentation'], // Teredo, client 192.0.2.45
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // Teredo, client 127.0.0.1 (bits inverted)
  // invalid
  ['', 'invalid'],
  ['localhost', 'invalid'],
  ['example.com', 'invalid'],
  ['1.2.3.4.5', 'invalid'],
  ['256.1.1.1', 'invalid'],
  ['::g', 'invalid'],
  ['1::2::3', 'invalid'],
  [' 127.0.0.1', 'invalid'],
  ['127.0.0.1/8', 'invalid'],
];

describe('classifyAddress', () => {
  for (const [ip, expected] of CASES) {
    it(`${JSON.stringify(ip)} is ${expected}`, () => {
      assert.equal(classifyAddress(ip), expected);
    });
  }

  it('treats 6to4 and NAT64 with a public embedded IPv4 as public', () => {
    assert.equal(classifyAddress('2002:808:808::1'), 'public');
    assert.equal(classifyAddress('64:ff9b::8.8.8.8'), 'public');
    assert.equal(classifyAddress('::ffff:8.8.8.8'), 'public');
  });

  it('returns invalid for non-strings', () => {
    assert.equal(classifyAddress(undefined as unknown as string), 'invalid');
    assert.equal(classifyAddress(2130706433 as unknown as string), 'invalid');
  });
});
