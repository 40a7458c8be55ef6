/**
 * The linter's lean reader (docs/ca.md, "Lint"): a TBSCertificate exactly as the CA builds it, read
 * as views into its DER (ca/asn1/der-view.ts), and the view of the fields the checks read, which
 * pkijs's reading of any input gives as well. What the lean reader declines, pkijs reads.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { signatureAlgorithmDer } from '../asn1/algorithms.js';
import { bytesEqual, decodeDer } from '../asn1/der.js';
import { childrenOf, contentBytes, plainKeyInfo, readAscii, readOid, readWhole, tlvBytes, wellFormedDer, type DerNode } from '../asn1/der-view.js';
import { parseNameLean, type DnAttribute } from '../asn1/names.js';
import type { Issuer } from './issuer.js';

/**
 * The DER of the fields the checks compare or parse, as they stand in the input (each decoded
 * block's own bytes), not re-encoded from the parsed objects: re-encoding them was a fifth of the
 * linter's time, and gave the same bytes (pkijs hands a decoded name back as it was given; the
 * tests compare both ways field by field). Read once pkijs or the lean reader accepted the
 * structure, so the positions are those of RFC 5280 §4.1.
 */
export interface RawFields {
  signature: Uint8Array;
  issuer: Uint8Array;
  subject: Uint8Array;
  spki: Uint8Array;
  /** The outer signatureAlgorithm of a signed Certificate. */
  signatureAlgorithm?: Uint8Array;
}

/** An extension as the checks read it, from pkijs or from the lean reader. */
export interface LintExtension {
  extnID: string;
  critical: boolean;
  /** The OCTET STRING's content. */
  extnValue: Uint8Array;
  /** What pkijs makes of the value (its ExtensionValueFactory), computed when first asked for. */
  parsedValue(): unknown;
}

/** The TBSCertificate's fields the checks read, the same whichever reader produced them. */
export interface CertificateView {
  version: number;
  /** The serial INTEGER's content octets. */
  serial: Uint8Array;
  signature(): pkijs.AlgorithmIdentifier;
  notBefore: { utc: boolean; value: Date };
  notAfter: { utc: boolean; value: Date };
  extensions: LintExtension[] | undefined;
  /** The subject's attributes when the reader has already parsed them. */
  subjectAttributes?: DnAttribute[];
}

/** One subjectAltName entry: its GeneralName choice (1 rfc822Name, 2 dNSName…) and value. */
export interface AltNameEntry {
  type: number;
  value: unknown;
}

/**
 * The alternative names: read directly when every entry is an rfc822Name or dNSName of 7-bit
 * characters in strict DER, otherwise as pkijs reads them (an AltName, or nothing when malformed).
 */
export function altNamesOf(extension: LintExtension): AltNameEntry[] {
  const bytes = extension.extnValue;
  const names = readWhole(bytes, 0x30);
  const entries = names && childrenOf(bytes, names);
  if (entries?.length) {
    const lean: AltNameEntry[] = [];
    for (const entry of entries) {
      const value = entry.tag === 0x81 || entry.tag === 0x82 ? readAscii(bytes, entry) : undefined;
      if (value === undefined) break;
      lean.push({ type: entry.tag & 0x1f, value });
    }
    if (lean.length === entries.length) return lean;
  }
  const san = extension.parsedValue();
  return san instanceof pkijs.AltName ? san.altNames.map((n) => ({ type: n.type, value: n.value as unknown })) : [];
}

/** The subject key identifier's octets: a plain OCTET STRING read directly, anything else as the ASN.1 library reads it. */
export function skiBytes(extension: LintExtension | undefined): Uint8Array | undefined {
  if (!extension) return undefined;
  const node = readWhole(extension.extnValue, 0x04);
  if (node) return contentBytes(extension.extnValue, node);
  const value = extension.parsedValue();
  return value instanceof asn1js.OctetString ? value.valueBlock.valueHexView : undefined;
}

/** The issuer's signature AlgorithmIdentifier, in DER and as pkijs reads that DER, once per issuer. */
const issuerAlgorithms = new WeakMap<Issuer, { der: Uint8Array; identifier: pkijs.AlgorithmIdentifier }>();
function issuerAlgorithm(issuer: Issuer): { der: Uint8Array; identifier: pkijs.AlgorithmIdentifier } {
  let known = issuerAlgorithms.get(issuer);
  if (!known) {
    const der = signatureAlgorithmDer(issuer.signatureAlgorithm);
    known = { der, identifier: new pkijs.AlgorithmIdentifier({ schema: decodeDer(der, 'signature algorithm', 'lintFailed') }) };
    issuerAlgorithms.set(issuer, known);
  }
  return known;
}

/** UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` with real calendar values; undefined otherwise. */
function readTime(bytes: Uint8Array, node: DerNode): { utc: boolean; value: Date } | undefined {
  const utc = node.tag === 0x17;
  if (!utc && node.tag !== 0x18) return undefined;
  const length = utc ? 13 : 15;
  if (node.end - node.content !== length || bytes[node.end - 1] !== 0x5a) return undefined;
  for (let i = node.content; i < node.end - 1; i++) if (bytes[i] < 0x30 || bytes[i] > 0x39) return undefined;
  const digits = (from: number, count: number) => {
    let n = 0;
    for (let i = 0; i < count; i++) n = n * 10 + bytes[node.content + from + i] - 0x30;
    return n;
  };
  let year = utc ? digits(0, 2) : digits(0, 4);
  if (utc) year += year < 50 ? 2000 : 1900;
  else if (year < 1000) return undefined;
  const at = utc ? 2 : 4;
  const [month, day, hour, minute, second] = [digits(at, 2), digits(at + 2, 2), digits(at + 4, 2), digits(at + 6, 2), digits(at + 8, 2)];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const value = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (value.getUTCDate() !== day) return undefined;
  return { utc, value };
}

/**
 * The lean reader: a bare TBSCertificate exactly as the CA builds it (RFC 5280 §4.1, strict DER,
 * v3, the issuer's signature algorithm and name byte for byte, UTCTime/GeneralizedTime in whole
 * seconds, a plain subject Name and key, extensions with DER booleans), as views into the input.
 * Anything else, signed certificates included, is left to pkijs (undefined). Exported for tests.
 */
export function readTbsLean(input: Uint8Array, issuer: Issuer): { view: CertificateView; raw: RawFields } | undefined {
  const tbs = readWhole(input, 0x30);
  const fields = tbs && childrenOf(input, tbs);
  if (fields?.length !== 8) return undefined;
  const [version, serial, signature, issuerName, validity, subject, spki, extensionsTagged] = fields;
  // [0] EXPLICIT INTEGER, one content octet.
  if (version.tag !== 0xa0 || version.end - version.content !== 3 || input[version.content] !== 0x02 || input[version.content + 1] !== 0x01 || input[version.content + 2] > 2) return undefined;
  if (serial.tag !== 0x02 || serial.end === serial.content) return undefined;
  const algorithm = issuerAlgorithm(issuer);
  const raw: RawFields = { signature: tlvBytes(input, signature), issuer: tlvBytes(input, issuerName), subject: tlvBytes(input, subject), spki: tlvBytes(input, spki) };
  if (!bytesEqual(raw.signature, algorithm.der) || !bytesEqual(raw.issuer, issuer.subject)) return undefined;
  const times = validity.tag === 0x30 ? childrenOf(input, validity) : undefined;
  if (times?.length !== 2) return undefined;
  const notBefore = readTime(input, times[0]);
  const notAfter = readTime(input, times[1]);
  if (!notBefore || !notAfter) return undefined;
  const subjectAttributes = subject.tag === 0x30 ? parseNameLean(raw.subject) : undefined;
  if (!subjectAttributes || !plainKeyInfo(input, spki)) return undefined;
  if (extensionsTagged.tag !== 0xa3) return undefined;
  const wrapped = childrenOf(input, extensionsTagged);
  const list = wrapped?.length === 1 && wrapped[0].tag === 0x30 ? childrenOf(input, wrapped[0]) : undefined;
  if (!list?.length || !wellFormedDer(input, tbs!)) return undefined;
  const extensions: LintExtension[] = [];
  for (const node of list) {
    const parts = node.tag === 0x30 ? childrenOf(input, node) : undefined;
    if (!parts || parts.length < 2 || parts.length > 3) return undefined;
    const extnID = readOid(input, parts[0]);
    if (extnID === undefined) return undefined;
    const critical = parts.length === 3;
    // DER: a BOOLEAN is FF for TRUE, and FALSE (the DEFAULT) is left out (X.690 §11.1, §11.5).
    if (critical && (parts[1].tag !== 0x01 || parts[1].end - parts[1].content !== 1 || input[parts[1].content] !== 0xff)) return undefined;
    const value = parts[parts.length - 1];
    if (value.tag !== 0x04) return undefined;
    const der = tlvBytes(input, node);
    let parsed: { value: unknown } | undefined;
    extensions.push({
      extnID,
      critical,
      extnValue: contentBytes(input, value),
      parsedValue: () => (parsed ??= { value: new pkijs.Extension({ schema: decodeDer(der, 'extension', 'lintFailed') }).parsedValue as unknown }).value,
    });
  }
  return {
    view: { version: input[version.content + 2], serial: contentBytes(input, serial), signature: () => algorithm.identifier, notBefore, notAfter, extensions, subjectAttributes },
    raw,
  };
}

