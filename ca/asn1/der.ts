/**
 * Byte, DER and PEM helpers shared by the CA domain. Everything here is pure.
 *
 * Two asn1js majors live in node_modules (pkijs 4 uses asn1js 4, @peculiar/x509 uses 3), so the
 * CA exchanges plain DER bytes between libraries, never asn1js objects.
 */
import * as asn1js from 'asn1js';
import { CaError, type CaErrorKind } from '../errors.js';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new TypeError(`not an even-length hex string: ${hex}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * A tight ArrayBuffer copy: pkijs and WebCrypto read whole buffers, not views. Not
 * `bytes.slice()`: on a Node Buffer that is a view, not a copy, and pg hands bytea out as Buffers
 * cut from a shared 8 KB pool, so `.buffer` was the whole pool (crash recovery on PostgreSQL
 * signed the wrong bytes: test/integration/faults/node-kill.test.ts).
 */
export function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

/** DER of an asn1js block or a pkijs object. */
export function der(value: { toSchema(): asn1js.AsnType } | asn1js.AsnType): Uint8Array {
  const block = 'toSchema' in value ? value.toSchema() : value;
  return new Uint8Array(block.toBER(false));
}

/**
 * Decodes exactly one ASN.1 value that spans all of `bytes`; trailing bytes are an error, since a
 * signature or a hash over "the object" must cover every byte we were given.
 */
export function decodeDer(bytes: Uint8Array, what: string, kind: CaErrorKind): asn1js.AsnType {
  if (bytes.byteLength === 0) throw new CaError(kind, `${what}: empty input`);
  let decoded: ReturnType<typeof asn1js.fromBER>;
  try {
    decoded = asn1js.fromBER(bytes);
  } catch (error) {
    // asn1js throws (rather than reporting offset -1) on some malformed lengths and tags.
    throw new CaError(kind, `${what}: malformed DER (${(error as Error).message})`, { cause: error });
  }
  const { offset, result } = decoded;
  if (offset === -1) throw new CaError(kind, `${what}: malformed DER (${result.error || 'cannot decode'})`);
  if (offset !== bytes.byteLength) {
    throw new CaError(kind, `${what}: ${bytes.byteLength - offset} trailing byte(s) after the DER value`);
  }
  return result;
}

/** Parses a pkijs object from DER, turning schema mismatches into a precise CaError. */
export function decodePkijs<T>(
  fromSchema: (schema: asn1js.AsnType) => T,
  bytes: Uint8Array,
  what: string,
  kind: CaErrorKind,
): T {
  const asn = decodeDer(bytes, what, kind);
  try {
    return fromSchema(asn);
  } catch (error) {
    throw new CaError(kind, `${what}: not a valid structure (${(error as Error).message})`, { cause: error });
  }
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const pemPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** RFC 7468 §2 (lax parsing): whitespace inside the base64 is ignored; anything else is an error. */
export function decodePem(text: string, kind: CaErrorKind = 'badInput'): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const [, label, body, endLabel] of text.matchAll(pemPattern)) {
    if (label !== endLabel) throw new CaError(kind, `PEM block "${label}" ends with "${endLabel}"`);
    const base64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
      throw new CaError(kind, `PEM block "${label}" holds invalid base64`);
    }
    blocks.push({ label, der: new Uint8Array(Buffer.from(base64, 'base64')) });
  }
  return blocks;
}

export function encodePem(bytes: Uint8Array, label: string): string {
  const lines = Buffer.from(bytes).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function looksLikePem(input: string | Uint8Array): boolean {
  const head = typeof input === 'string' ? input.slice(0, 64) : Buffer.from(input.subarray(0, 64)).toString('latin1');
  return head.replace(/^\uFEFF/, '').trimStart().startsWith('-----BEGIN ');
}

/**
 * Accepts one object as PEM (text or bytes) or DER (bytes). A PEM of another type is named in
 * the error ("got CERTIFICATE"), so a user who pasted the wrong file learns which one it was.
 */
export function readDerOrPem(
  input: string | Uint8Array,
  labels: readonly string[],
  what: string,
  kind: CaErrorKind,
): Uint8Array {
  if (!looksLikePem(input)) {
    if (typeof input === 'string') throw new CaError(kind, `${what}: expected PEM ("-----BEGIN ${labels[0]}-----") or DER bytes`);
    return input;
  }
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const blocks = decodePem(text, kind);
  if (blocks.length !== 1) throw new CaError(kind, `${what}: expected exactly one PEM block, found ${blocks.length}`);
  const [block] = blocks;
  if (!labels.includes(block.label)) {
    throw new CaError(kind, `${what}: expected a PEM "${labels[0]}" block, got "${block.label}"`);
  }
  return block.der;
}

/** RFC 5280 §4.1.2.5 and §5.1.2.4: times are whole seconds, Z; UTCTime through 2049. */
export function encodeTime(date: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  const valueDate = wholeSeconds(date);
  return valueDate.getUTCFullYear() < 2050 ? new asn1js.UTCTime({ valueDate }) : new asn1js.GeneralizedTime({ valueDate });
}

/** GeneralizedTime regardless of year (e.g. RFC 5280 §5.3.2 invalidityDate). */
export function encodeGeneralizedTime(date: Date): asn1js.GeneralizedTime {
  return new asn1js.GeneralizedTime({ valueDate: wholeSeconds(date) });
}

export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * Serial numbers and CRL entries are kept as the canonical hex of the (positive) value: lower
 * case, whole octets, no leading zero octet (as @peculiar/x509 and `openssl x509 -serial` show
 * them). These convert between that and the INTEGER's DER content octets.
 */
export function integerFromHex(hex: string): asn1js.Integer {
  const bytes = fromHex(hex);
  return new asn1js.Integer({ valueHex: arrayBuffer(bytes[0] & 0x80 ? Uint8Array.of(0, ...bytes) : bytes) });
}

export function hexFromInteger(contentOctets: Uint8Array): string {
  let start = 0;
  while (start < contentOctets.length - 1 && contentOctets[start] === 0) start++;
  return toHex(contentOctets.subarray(start));
}

/**
 * Dotted form of an OBJECT IDENTIFIER, decoded here because asn1js renders arcs above 2^53 (e.g.
 * the UUID arcs under 2.25 of X.667) as hex. X.690 §8.19: base-128 sub-identifiers, the first
 * encoding 40·X + Y.
 */
export function oidToString(node: asn1js.ObjectIdentifier): string {
  const bytes = new Uint8Array(node.valueBlock.toBER(false));
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of bytes) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift() ?? 0n;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/**
 * One DER TLV from its tag byte and content parts (X.690 §8.1: definite, minimal length). Used to
 * assemble signed structures from exact bytes (an issuer's Name, a linted TBS) that must not be
 * re-encoded on the way.
 */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  const lengthBytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256);
  const header = length < 0x80 ? [tag, length] : [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  return new Uint8Array(Buffer.concat([Uint8Array.from(header), ...parts]));
}

export const derTag = { sequence: 0x30, bitString: 0x03, explicit0: 0xa0, explicit3: 0xa3 } as const;

/** A BIT STRING with no unused bits holding `bytes` (signatures, RFC 5280 §4.1.1.3). */
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(derTag.bitString, Uint8Array.of(0), bytes);
