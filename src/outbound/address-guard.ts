/**
 * Which addresses an outbound fetch (OCSP, CRL, AIA) may connect to. A URL in a submitted
 * certificate must not steer this service at its own network (SSRF), so every address is parsed
 * to bytes first and every way of writing an IPv4 address inside IPv6 is unwrapped before the
 * check: IPv4-mapped `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2, also written `::ffff:7f00:1` or in
 * full), IPv4-compatible `::a.b.c.d` (deprecated, §2.5.5.1), NAT64 `64:ff9b::/96` (RFC 6052) and
 * 6to4 `2002::/16` (RFC 3056). Only global unicast survives (RFC 6890 special-purpose registries).
 * Pure: no I/O.
 */
import { isIP } from 'node:net';

/** Why an address is refused, or null when it is a public unicast address. */
export type AddressRefusal = 'loopback' | 'private' | 'link-local' | 'unique-local' | 'shared' | 'multicast' | 'unspecified' | 'reserved' | 'not-an-address';

function parseIPv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.map(Number);
}

/** An IPv6 address as 16 bytes (a trailing dotted IPv4 and `::` allowed; zone id dropped). */
export function parseIPv6(input: string): Uint8Array | null {
  const text = input.replace(/^\[|\]$/g, '').replace(/%.*$/, '').toLowerCase();
  if (!/^[0-9a-f:.]+$/.test(text)) return null;
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if ([...left, ...right].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  const known = left.length + right.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const words = [...left.map((g) => parseInt(g, 16)), ...Array<number>(8 - known).fill(0), ...right.map((g) => parseInt(g, 16)), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

/** RFC 6890 and the IANA IPv4 special-purpose registry: what is not reachable on the Internet. */
function refuseIPv4(v: ArrayLike<number>): AddressRefusal | null {
  const [a, b, c] = [v[0], v[1], v[2]];
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 100 && b >= 64 && b <= 127) return 'shared'; // RFC 6598 carrier-grade NAT
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // incl. 255.255.255.255
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved'; // IETF protocol assignments, TEST-NET-1
  if (a === 192 && b === 88 && c === 99) return 'reserved'; // 6to4 relay anycast
  if (a === 198 && (b === 18 || b === 19)) return 'reserved'; // benchmarking
  if ((a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) return 'reserved'; // TEST-NET-2/3
  return null;
}

const zero = (bytes: Uint8Array, from: number, to: number) => bytes.subarray(from, to).every((x) => x === 0);

function refuseIPv6(x: Uint8Array): AddressRefusal | null {
  if (zero(x, 0, 10) && x[10] === 0xff && x[11] === 0xff) return refuseIPv4(x.subarray(12)); // ::ffff:a.b.c.d
  if (zero(x, 0, 12)) {
    if (zero(x, 12, 15) && x[15] === 0) return 'unspecified';
    if (zero(x, 12, 15) && x[15] === 1) return 'loopback';
    return refuseIPv4(x.subarray(12)) ?? 'reserved'; // IPv4-compatible: deprecated, never fetched
  }
  if (x[0] === 0x00 && x[1] === 0x64 && x[2] === 0xff && x[3] === 0x9b) {
    // NAT64 well-known prefix: the IPv4 address it translates to decides; 64:ff9b:1::/48 is local use.
    return zero(x, 4, 12) ? refuseIPv4(x.subarray(12)) : 'private';
  }
  if (x[0] === 0x20 && x[1] === 0x02) return refuseIPv4(x.subarray(2, 6)); // 6to4
  if (x[0] === 0xff) return 'multicast';
  if (x[0] === 0xfe && (x[1] & 0xc0) === 0x80) return 'link-local';
  if ((x[0] & 0xfe) === 0xfc) return 'unique-local';
  if ((x[0] & 0xe0) !== 0x20) return 'reserved'; // outside 2000::/3 global unicast (site-local fec0::/10 too)
  if (x[0] === 0x20 && x[1] === 0x01 && x[2] === 0x0d && x[3] === 0xb8) return 'reserved'; // documentation
  if (x[0] === 0x20 && x[1] === 0x01 && x[2] < 0x02) return 'reserved'; // 2001::/23 IETF assignments (Teredo, ORCHID …)
  return null;
}

/** Null for a public unicast address; otherwise why it is refused. */
export function refusedAddress(address: string): AddressRefusal | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(bare) === 4) return refuseIPv4(parseIPv4(bare)!);
  const v6 = parseIPv6(bare);
  return v6 ? refuseIPv6(v6) : 'not-an-address';
}

/** RFC 6761 §6.3: `localhost` and every name under it are the loopback, whatever DNS says. */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain';
}
