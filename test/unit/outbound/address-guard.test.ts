import { describe, expect, it } from '@jest/globals';
import { isLocalhostName, parseIPv6, refusedAddress } from '../../../src/outbound/address-guard.js';

describe('outbound address guard (issue 19 defect 6)', () => {
  it.each([
    // IPv4 loopback, private, link-local, CGNAT, multicast, unspecified, reserved
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'], ['169.254.169.254', 'link-local'], ['100.64.0.1', 'shared'], ['100.127.255.254', 'shared'], ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['255.255.255.255', 'reserved'], ['192.0.2.7', 'reserved'], ['198.18.0.1', 'reserved'],
    // IPv4-mapped IPv6, every spelling
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['0:0:0:0:0:ffff:7f00:1', 'loopback'], ['0000:0000:0000:0000:0000:FFFF:7F00:0001', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'], ['::ffff:a9fe:a9fe', 'link-local'], ['::FFFF:10.0.0.1', 'private'], ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    // IPv4-compatible (deprecated), NAT64, 6to4
    ['::127.0.0.1', 'loopback'], ['::7f00:1', 'loopback'], ['::8.8.8.8', 'reserved'], ['64:ff9b::127.0.0.1', 'loopback'], ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a00:1', 'private'], ['64:ff9b:1::1', 'private'], ['2002:7f00:1::1', 'loopback'], ['2002:c0a8:101::', 'private'],
    // IPv6 loopback, unspecified, ULA, link-local with a zone, multicast, documentation, Teredo, site-local
    ['::1', 'loopback'], ['0:0:0:0:0:0:0:1', 'loopback'], ['::', 'unspecified'], ['fd00::1', 'unique-local'], ['fc12::1', 'unique-local'],
    ['fe80::1%eth0', 'link-local'], ['fe80::1', 'link-local'], ['ff02::1', 'multicast'], ['2001:db8::1', 'reserved'], ['2001:0:4136:e378::1', 'reserved'],
    ['fec0::1', 'reserved'], ['100::1', 'reserved'],
    ['not an address', 'not-an-address'], ['1:2:3:4:5:6:7:8:9', 'not-an-address'], ['::ffff:300.0.0.1', 'not-an-address'],
  ])('%s is refused (%s)', (address, why) => {
    expect(refusedAddress(address)).toBe(why);
  });

  it.each(['8.8.8.8', '1.1.1.1', '203.162.4.190', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:4860:4860::8888', '2404:6800:4005:80e::200e'])('%s is public', (address) => {
    expect(refusedAddress(address)).toBeNull();
  });

  it('parses every IPv6 spelling to the same bytes', () => {
    const forms = ['::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '0000:0000:0000:0000:0000:ffff:7f00:0001', '[::FFFF:7F00:1]', '0::ffff:127.0.0.1'];
    const bytes = forms.map((f) => Buffer.from(parseIPv6(f)!).toString('hex'));
    expect(new Set(bytes)).toEqual(new Set(['00000000000000000000ffff7f000001']));
  });

  it('knows the localhost names (RFC 6761)', () => {
    for (const n of ['localhost', 'LOCALHOST', 'localhost.', 'ocsp.localhost', 'a.b.localhost.', 'localhost.localdomain']) expect(isLocalhostName(n)).toBe(true);
    for (const n of ['localhost.example.vn', 'mylocalhost', 'ocsp.ca.gov.vn']) expect(isLocalhostName(n)).toBe(false);
  });
});
