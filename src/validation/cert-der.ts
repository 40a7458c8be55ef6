/**
 * One pass over a certificate's DER (RFC 5280 §4.1) for the facts the validator reads, without
 * asn1js or pkijs objects. `--cpu-prof` of the cold path (a new signer per validation,
 * bench/validate.ts) put two fifths of the time in pkijs: asn1js builds an object per TLV and
 * checks every buffer's type on the way, and `certificateFacts` then decodes each extension
 * again and re-encodes the names and the key. Here the TLV headers are walked once and every
 * field is a view into the certificate's own bytes.
 *
 * The reader is strict DER and knows the usual profile only: anything else (BER lengths,
 * multi-byte tags, an unexpected field, an extension value it cannot read, a time that is not
 * the RFC 5280 form) raises `UnusualCertificate`, and cert.ts then takes the pkijs path, which
 * decides as before. So this path never accepts what pkijs would refuse, nor reads a field
 * differently: test/unit/validation/cert-der.test.ts compares both on every certificate it has.
 */
import type { CertificateFacts } from '../../ca/asn1/certificate.js';
import { hexFromInteger } from '../../ca/asn1/der.js';
import { keyUsageNames, type KeyUsage } from '../../ca/asn1/extensions.js';
import { oid } from '../../ca/asn1/oids.js';

/** The certificate is outside what this reader handles; the caller parses it with pkijs. */
export class UnusualCertificate extends Error {}

export interface Tlv {
  tag: number;
  /** Start of the content. */
  at: number;
  end: number;
  /** Start of the header (the whole TLV is bytes[start, end)). */
  start: number;
}

export function unusual(why: string): never {
  throw new UnusualCertificate(why);
}

/** One TLV at `at` within `limit`: single-byte tag, definite minimal length (X.690 §10.1). */
export function tlv(bytes: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) unusual('truncated');
  const tag = bytes[at];
  if ((tag & 0x1f) === 0x1f) unusual('multi-byte tag');
  let length = bytes[at + 1];
  let content = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || content + count > limit) unusual('length');
    if (bytes[content] === 0) unusual('non-minimal length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[content + i];
    if (length < 0x80) unusual('non-minimal length');
    content += count;
  }
  const end = content + length;
  if (end > limit) unusual('truncated');
  return { tag, at: content, end, start: at };
}

export function children(bytes: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.at; at < parent.end; ) {
    const child = tlv(bytes, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

export function expect(node: Tlv | undefined, tag: number, what: string): Tlv {
  if (!node || node.tag !== tag) unusual(what);
  return node;
}

/** Dotted OID (X.690 §8.19); arcs beyond 2^53 in BigInt. */
export function oidOf(bytes: Uint8Array, node: Tlv): string {
  if (node.tag !== 0x06 || node.end === node.at || bytes[node.end - 1] & 0x80) unusual('object identifier');
  // The OIDs of certificates and signatures are a handful, read thousands of times (BigInt
  // arithmetic per arc was a tenth of the reader in `--cpu-prof`): remembered by their bytes,
  // short ones only, at most 1,024.
  if (node.end - node.at > 32) return decodeOid(bytes, node);
  // The key built by hand: a Buffer and its latin1 decoding per OID was a hundredth of a cold validation.
  let key = '';
  for (let i = node.at; i < node.end; i++) key += String.fromCharCode(bytes[i]);
  let text = oidTexts.get(key);
  if (text === undefined) {
    text = decodeOid(bytes, node);
    if (oidTexts.size >= 1_024) oidTexts.clear();
    oidTexts.set(key, text);
  }
  return text;
}

const oidTexts = new Map<string, string>();

function decodeOid(bytes: Uint8Array, node: Tlv): string {
  const arcs: Array<number | bigint> = [];
  let value = 0n;
  for (let i = node.at; i < node.end; i++) {
    value = (value << 7n) | BigInt(bytes[i] & 0x7f);
    if ((bytes[i] & 0x80) === 0) {
      arcs.push(value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
      value = 0n;
    }
  }
  const first = BigInt(arcs.shift()!);
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/**
 * UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5), read digit by
 * digit from the bytes (a regular expression over a copied string was a fiftieth of a cold
 * validation, `--cpu-prof`: three times per new signer). Exactly the forms the pattern
 * `^\d{2|4}\d{10}Z$` took; anything else is unusual (test/unit/validation/cert-der.test.ts
 * compares both on every one-byte change).
 */
// Module-level helpers, not closures per call: under tsx (the sources, as `npm run bench:validate` ran
// until 2026-12-06's ninth pass) every closure made per call pays a `__name` (Object.defineProperty).
const twoDigits = (bytes: Uint8Array, i: number): number => (bytes[i] - 0x30) * 10 + bytes[i + 1] - 0x30;

export function timeOf(bytes: Uint8Array, node: Tlv): Date {
  const utc = node.tag === 0x17;
  if (!utc && node.tag !== 0x18) unusual('time');
  const digits = utc ? 12 : 14;
  if (node.end - node.at !== digits + 1 || bytes[node.end - 1] !== 0x5a) unusual('time');
  const at = node.at;
  for (let i = at; i < at + digits; i++) if (bytes[i] < 0x30 || bytes[i] > 0x39) unusual('time');
  let year: number;
  let p: number;
  if (utc) {
    const yy = twoDigits(bytes, at);
    year = (yy >= 50 ? 1900 : 2000) + yy;
    p = at + 2;
  } else {
    year = twoDigits(bytes, at) * 100 + twoDigits(bytes, at + 2);
    p = at + 4;
  }
  const month = twoDigits(bytes, p);
  const day = twoDigits(bytes, p + 2);
  const hour = twoDigits(bytes, p + 4);
  const minute = twoDigits(bytes, p + 6);
  const second = twoDigits(bytes, p + 8);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) unusual('time');
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** The regular-expression reading `timeOf` replaced (kept for the tests' comparison). */
export function timeOfPattern(bytes: Uint8Array, node: Tlv): Date {
  const text = Buffer.from(bytes.subarray(node.at, node.end)).toString('latin1');
  const m = node.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : node.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) unusual('time');
  const year = node.tag === 0x17 ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) unusual('time');
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** A small non-negative INTEGER (pathLenConstraint). */
function smallInteger(bytes: Uint8Array, node: Tlv): number {
  const n = node.end - node.at;
  if (node.tag !== 0x02 || n < 1 || n > 4 || bytes[node.at] & 0x80) unusual('integer');
  let v = 0;
  for (let i = node.at; i < node.end; i++) v = v * 256 + bytes[i];
  return v;
}

const ia5 = (bytes: Uint8Array, node: Tlv): string => Buffer.from(bytes.subarray(node.at, node.end)).toString('latin1');

/** GeneralNames (RFC 5280 §4.2.1.6): values of the primitive [tag] choices, as text. */
function generalNames(bytes: Uint8Array, parent: Tlv, tag: number): string[] {
  return children(bytes, parent).filter((n) => n.tag === tag).map((n) => ia5(bytes, n));
}

export interface DerCertificate {
  facts: CertificateFacts;
  version: number;
  /** TBSCertificate, exactly as signed. */
  tbs: Uint8Array;
  /** The signatureAlgorithm AlgorithmIdentifier's DER, and the signature's bits. */
  signatureAlgorithm: Uint8Array;
  signatureValue: Uint8Array;
  eku: string[] | null;
  criticalExtensions: string[];
}

interface Extensions {
  critical: string[];
  values: Map<string, Tlv>;
}

function readExtensions(bytes: Uint8Array, explicit: Tlv | undefined): Extensions {
  const critical: string[] = [];
  const values = new Map<string, Tlv>();
  if (!explicit) return { critical, values };
  const [list, ...rest] = children(bytes, explicit);
  if (rest.length) unusual('extensions');
  for (const ext of children(bytes, expect(list, 0x30, 'extensions'))) {
    const fields = children(bytes, expect(ext, 0x30, 'extension'));
    const id = oidOf(bytes, expect(fields[0], 0x06, 'extnID'));
    let i = 1;
    let isCritical = false;
    if (fields[i]?.tag === 0x01) {
      if (fields[i].end - fields[i].at !== 1) unusual('critical');
      isCritical = bytes[fields[i].at] !== 0;
      i++;
    }
    const value = expect(fields[i], 0x04, 'extnValue');
    if (fields.length !== i + 1) unusual('extension');
    if (isCritical) critical.push(id);
    // pkijs keeps every entry and reads the first of an OID; so do we.
    if (!values.has(id)) values.set(id, value);
  }
  return { critical, values };
}

/** The single value inside an extension's OCTET STRING. */
function inner(bytes: Uint8Array, value: Tlv): Tlv {
  const node = tlv(bytes, value.at, value.end);
  if (node.end !== value.end) unusual('extension value');
  return node;
}

function keyUsage(bytes: Uint8Array, node: Tlv): KeyUsage[] {
  if (node.tag !== 0x03 || node.end === node.at || bytes[node.at] > 7) unusual('keyUsage');
  const bits = bytes.subarray(node.at + 1, node.end);
  return keyUsageNames.filter((_, p) => p >> 3 < bits.length && (bits[p >> 3] & (0x80 >> (p & 7))) !== 0);
}

/** The value of extension `id`, when present (module-level, not a closure per certificate). */
function extensionValue(bytes: Uint8Array, ext: Extensions, id: string): Tlv | undefined {
  const v = ext.values.get(id);
  return v ? inner(bytes, v) : undefined;
}

function accessUris(access: Array<{ method: string; uri: string | null }>, method: string): string[] {
  const out: string[] = [];
  for (const a of access) if (a.method === method && a.uri !== null) out.push(a.uri);
  return out;
}

function extensionFacts(bytes: Uint8Array, ext: Extensions) {
  let ca = false;
  let pathLenConstraint: number | null = null;
  const bc = extensionValue(bytes, ext, oid.basicConstraints);
  if (bc) {
    const f = children(bytes, expect(bc, 0x30, 'basicConstraints'));
    let i = 0;
    if (f[i]?.tag === 0x01) {
      if (f[i].end - f[i].at !== 1) unusual('cA');
      ca = bytes[f[i].at] !== 0;
      i++;
    }
    if (f[i]) pathLenConstraint = smallInteger(bytes, f[i++]);
    if (f.length !== i) unusual('basicConstraints');
  }
  const ku = extensionValue(bytes, ext, oid.keyUsage);
  const ski = extensionValue(bytes, ext, oid.subjectKeyIdentifier);
  if (ski && ski.tag !== 0x04) unusual('subjectKeyIdentifier');
  const aki = extensionValue(bytes, ext, oid.authorityKeyIdentifier);
  const akiId = aki ? children(bytes, expect(aki, 0x30, 'authorityKeyIdentifier')).find((n) => n.tag === 0x80) : undefined;
  const san = extensionValue(bytes, ext, oid.subjectAltName);
  if (san) expect(san, 0x30, 'subjectAltName');
  const aia = extensionValue(bytes, ext, oid.authorityInfoAccess);
  const access = aia
    ? children(bytes, expect(aia, 0x30, 'authorityInfoAccess')).map((d) => {
        const [method, location, ...more] = children(bytes, expect(d, 0x30, 'accessDescription'));
        if (!location || more.length) unusual('accessDescription');
        return { method: oidOf(bytes, method), uri: location.tag === 0x86 ? ia5(bytes, location) : null };
      })
    : [];
  const dp = extensionValue(bytes, ext, oid.crlDistributionPoints);
  const crlUrls = dp
    ? children(bytes, expect(dp, 0x30, 'cRLDistributionPoints')).flatMap((point) => {
        const name = children(bytes, expect(point, 0x30, 'distributionPoint')).find((n) => n.tag === 0xa0);
        if (!name) return [];
        const [choice, ...more] = children(bytes, name);
        if (!choice || more.length) unusual('distributionPointName');
        return choice.tag === 0xa0 ? generalNames(bytes, choice, 0x86) : [];
      })
    : [];
  const eku = extensionValue(bytes, ext, oid.extKeyUsage);
  return {
    ca,
    pathLenConstraint,
    keyUsage: ku ? keyUsage(bytes, ku) : null,
    subjectKeyIdentifier: ski ? bytes.subarray(ski.at, ski.end) : null,
    authorityKeyIdentifier: akiId ? bytes.subarray(akiId.at, akiId.end) : null,
    emails: san ? generalNames(bytes, san, 0x81) : [],
    dnsNames: san ? generalNames(bytes, san, 0x82) : [],
    ocspUrls: accessUris(access, oid.adOcsp),
    caIssuersUrls: accessUris(access, oid.adCaIssuers),
    crlUrls,
    eku: eku ? children(bytes, expect(eku, 0x30, 'extKeyUsage')).map((n) => oidOf(bytes, n)) : null,
  };
}

/** The whole TLV (header included) as a view. */
const whole = (der: Uint8Array, n: Tlv): Uint8Array => der.subarray(n.start, n.end);

/** Reads a DER certificate that spans all of `der`; UnusualCertificate for anything else. */
export function readCertificateDer(der: Uint8Array): DerCertificate {
  const outer = tlv(der, 0, der.length);
  if (outer.tag !== 0x30 || outer.end !== der.length) unusual('not one SEQUENCE');
  const [tbsNode, algorithm, value, ...extra] = children(der, outer);
  if (extra.length) unusual('certificate');
  expect(tbsNode, 0x30, 'tbsCertificate');
  expect(algorithm, 0x30, 'signatureAlgorithm');
  expect(value, 0x03, 'signatureValue');
  if (value.end === value.at || der[value.at] !== 0) unusual('signature bits');
  const f = children(der, tbsNode);
  let i = 0;
  let version = 0;
  if (f[0]?.tag === 0xa0) {
    const [v, ...more] = children(der, f[0]);
    if (more.length) unusual('version');
    version = smallInteger(der, v);
    i++;
  }
  const serial = expect(f[i++], 0x02, 'serialNumber');
  if (serial.end === serial.at) unusual('serialNumber');
  expect(f[i++], 0x30, 'signature');
  const issuer = expect(f[i++], 0x30, 'issuer');
  const validity = children(der, expect(f[i++], 0x30, 'validity'));
  if (validity.length !== 2) unusual('validity');
  const subject = expect(f[i++], 0x30, 'subject');
  const spki = expect(f[i++], 0x30, 'subjectPublicKeyInfo');
  if (f[i]?.tag === 0x81) i++;
  if (f[i]?.tag === 0x82) i++;
  const explicit = f[i]?.tag === 0xa3 ? f[i++] : undefined;
  if (i !== f.length) unusual('tbsCertificate');
  const ext = readExtensions(der, explicit);
  const { eku, ...facts } = extensionFacts(der, ext);
  return {
    facts: {
      serial: hexFromInteger(der.subarray(serial.at, serial.end)),
      subject: whole(der, subject),
      issuer: whole(der, issuer),
      spki: whole(der, spki),
      notBefore: timeOf(der, validity[0]),
      notAfter: timeOf(der, validity[1]),
      ...facts,
    },
    version,
    tbs: whole(der, tbsNode),
    signatureAlgorithm: whole(der, algorithm),
    signatureValue: der.subarray(value.at + 1, value.end),
    eku,
    criticalExtensions: ext.critical,
  };
}
