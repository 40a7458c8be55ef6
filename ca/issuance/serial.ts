/**
 * Serial numbers: 128 random bits (BR §7.1 asks for 64+ bits from a CSPRNG; RFC 5280 §4.1.2.2:
 * positive, at most 20 octets), kept as canonical hex (see hexFromInteger in ca/asn1/der.ts).
 * Uniqueness is the storage's unique constraint; the randomness is injected so tests are
 * deterministic.
 */
import { hexFromInteger } from '../asn1/der.js';
import { secureRandomBytes, type RandomBytes } from '../random.js';

/** A positive 128-bit random serial (at most 17 octets once DER-encoded). */
export function newSerial(randomBytes: RandomBytes = secureRandomBytes): string {
  const random = randomBytes(16);
  if (random.length !== 16) throw new TypeError('randomBytes(16) returned the wrong length');
  return random.every((b) => b === 0) ? newSerial(randomBytes) : hexFromInteger(random);
}

/** Why `serial` is not a canonical, conforming serial number (RFC 5280 §4.1.2.2), or null. */
export function serialProblem(serial: string): string | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(serial)) return `serial "${serial}" is not lower-case hex octets`;
  if (/^00./.test(serial)) return `serial "${serial}" has a leading zero octet (not canonical)`;
  if (/^0+$/.test(serial)) return 'serial is zero (RFC 5280 §4.1.2.2 requires a positive integer)';
  const octets = serial.length / 2 + (parseInt(serial.slice(0, 2), 16) & 0x80 ? 1 : 0);
  return octets > 20 ? `serial takes ${octets} octets; RFC 5280 §4.1.2.2 allows at most 20` : null;
}

/** Why a serial's DER content octets are not a positive, minimally encoded INTEGER (X.690 §8.3.2), or null. */
export function serialEncodingProblem(contentOctets: Uint8Array): string | null {
  if (contentOctets[0] & 0x80) return 'serial is negative (RFC 5280 §4.1.2.2 requires a positive integer)';
  if (contentOctets.length > 1 && contentOctets[0] === 0 && !(contentOctets[1] & 0x80)) return 'serial is not minimally encoded (X.690 §8.3.2)';
  return serialProblem(hexFromInteger(contentOctets));
}
