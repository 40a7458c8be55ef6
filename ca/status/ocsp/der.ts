/**
 * The few DER primitives the OCSP core needs (X.690 §8, §10), written for hostile input: every
 * read is bounds-checked against its enclosing element, nothing recurses, and the only exception
 * thrown is {@link DerError}, which callers turn into a typed OCSP result. Values are returned as
 * views (`subarray`) of the input, never copies.
 */
import { Buffer } from 'node:buffer';

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag number n, constructed (EXPLICIT or IMPLICIT of a SEQUENCE). */
export const ctx = (n: number): number => 0xa0 | n;
/** Context-specific tag number n, primitive (IMPLICIT of a primitive type). */
export const ctxPrim = (n: number): number => 0x80 | n;

/** One element: `tag`, the value in `[start, end)`, and the whole element in `[offset, end)`. */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/**
 * Reads the element at `offset`, which must end at or before `limit`. Only low tag numbers
 * (X.690 §8.1.2.2) occur in OCSP; indefinite lengths are BER, not DER (X.690 §10.1). Long-form
 * lengths that are not minimal are tolerated: they are unambiguous and no value is re-used as is.
 */
export function readTlv(buf: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in OCSP');
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 4) throw new DerError('length too large');
    if (start + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new DerError('element longer than its container');
  return { tag, offset, start, end };
}

/** Reads an element that must carry `tag`. */
export function expect(buf: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  if (offset >= limit) throw new DerError(`${what}: missing`);
  const tlv = readTlv(buf, offset, limit);
  if (tlv.tag !== tag) throw new DerError(`${what}: unexpected tag 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The element at `offset` if it is present and carries `tag`, else undefined. */
export function optional(buf: Uint8Array, offset: number, limit: number, tag: number): Tlv | undefined {
  if (offset >= limit || buf[offset] !== tag) return undefined;
  return readTlv(buf, offset, limit);
}

export const bytes = (buf: Uint8Array, tlv: Tlv): Uint8Array => buf.subarray(tlv.start, tlv.end);
export const element = (buf: Uint8Array, tlv: Tlv): Uint8Array => buf.subarray(tlv.offset, tlv.end);

/** DER BOOLEAN: exactly one octet, 0x00 or 0xff (X.690 §11.1). */
export function readBoolean(buf: Uint8Array, tlv: Tlv): boolean {
  if (tlv.end - tlv.start !== 1) throw new DerError('BOOLEAN must have one octet');
  const v = buf[tlv.start];
  if (v !== 0x00 && v !== 0xff) throw new DerError('BOOLEAN must be 0x00 or 0xff');
  return v === 0xff;
}

/** The INTEGER content, checked to be a minimal two's-complement encoding (X.690 §8.3.2). */
export function readIntegerBytes(buf: Uint8Array, tlv: Tlv): Uint8Array {
  const len = tlv.end - tlv.start;
  if (len === 0) throw new DerError('empty INTEGER');
  if (len > 1) {
    const a = buf[tlv.start];
    const b = buf[tlv.start + 1];
    if ((a === 0x00 && b < 0x80) || (a === 0xff && b >= 0x80)) throw new DerError('INTEGER not minimally encoded');
  }
  return bytes(buf, tlv);
}

/** A small non-negative INTEGER (versions, reasons). */
export function readSmallInt(buf: Uint8Array, tlv: Tlv): number {
  const v = readIntegerBytes(buf, tlv);
  if (v.length > 4 || v[0] & 0x80) throw new DerError('INTEGER out of range');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writing

function lengthOctets(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  if (len < 0x10000) return Uint8Array.of(0x82, len >> 8, len & 0xff);
  if (len < 0x1000000) return Uint8Array.of(0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
  return Uint8Array.of(0x84, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
}

/** Encodes one element from its already-encoded content parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const header = lengthOctets(len);
  const out = Buffer.allocUnsafe(1 + header.length + len);
  out[0] = tag;
  out.set(header, 1);
  let at = 1 + header.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...parts);
export const octetString = (value: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, value);
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(ctx(n), inner);

/** A non-negative INTEGER from unsigned big-endian magnitude bytes (leading zeros trimmed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  return trimmed.length > 0 && trimmed[0] & 0x80
    ? tlv(TAG.INTEGER, Uint8Array.of(0), trimmed)
    : tlv(TAG.INTEGER, trimmed.length ? trimmed : Uint8Array.of(0));
}

export const smallInteger = (n: number): Buffer =>
  unsignedInteger(Uint8Array.of((n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff));

/** Dotted OID → DER OBJECT IDENTIFIER element (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (value: number): void => {
    const chunk = [value & 0x7f];
    for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG.OID, Uint8Array.from(out));
}

/**
 * GeneralizedTime as RFC 5280 §4.1.2.5.2 fixes it for PKIX (and RFC 6960 reuses it): UTC,
 * `YYYYMMDDHHMMSSZ`, no fractional seconds.
 */
export function generalizedTime(date: Date): Buffer {
  const t = date.getTime();
  if (!Number.isFinite(t)) throw new RangeError('invalid date');
  const iso = new Date(Math.floor(t / 1000) * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
  const text = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(text, 'latin1'));
}

export const NULL_ELEMENT = Buffer.from([TAG.NULL, 0x00]);

/** BIT STRING with zero unused bits (signatures, keys). */
export const bitString = (value: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Uint8Array.of(0), value);
