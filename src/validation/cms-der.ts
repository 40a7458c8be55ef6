/**
 * One pass over a CMS ContentInfo(SignedData)'s DER (RFC 5652 §5) for what the validator reads,
 * without asn1js or pkijs objects. `--cpu-prof` of the cold path (a new signer and document per
 * validation, bench/validate.ts) put a fifth of a validation in asn1js and pkijs decoding the
 * SignedData (an object per TLV, each buffer's type checked, the schema matched), then garbage.
 * Here the TLV headers are walked once; the signed attributes, the signature value, the content
 * and every certificate are views into the signature's own bytes.
 *
 * The reader knows strict DER in the usual shape only: anything else (BER lengths, constructed
 * OCTET STRINGs, CRLs or other certificate choices in the SignedData, a SignerInfo field it does
 * not expect, an empty attribute set) returns null, and cms.ts then decodes with pkijs, which
 * decides as before. Both readers give the same `SignerInfoView` (`fromPkijsSignerInfo` below),
 * and the checks in cms-signers.ts read only that: test/unit/validation/cms-der.test.ts compares
 * the two field by field, on ordinary and odd inputs.
 */
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { hexFromInteger, toHex } from '../../ca/asn1/der.js';
import { children, expect, oidOf, timeOf, tlv, UnusualCertificate, unusual, type Tlv } from './cert-der.js';

/**
 * One attribute value: its DER (the one-pass reader), or the asn1js node pkijs decoded (the pkijs
 * path, so that odd encodings are read exactly as before); each is derived from the other on demand.
 */
export interface AttributeValue {
  der?: Uint8Array;
  node?: asn1js.AsnType;
}

export interface AttributesView {
  /** The attributes' DER with the SET tag (RFC 5652 §5.4: what the signature is over). */
  encoded: Uint8Array;
  attributes: Array<{ type: string; values: AttributeValue[] }>;
}

/** IssuerAndSerialNumber (the Name's DER as hex, the serial as hex) or a SubjectKeyIdentifier; null when unreadable. */
export type SignerId = { issuerHex: string; serial: string } | { ski: Uint8Array } | null;

export interface SignerInfoView {
  sid: SignerId;
  digestAlgorithm: string;
  signatureAlgorithm: { oid: string; der: Uint8Array | null; pkijs: pkijs.AlgorithmIdentifier | null };
  signedAttrs: AttributesView | null;
  signature: Uint8Array;
  unsignedAttrs: AttributesView | null;
}

export interface SignedDataView {
  eContentType: string;
  eContent: Uint8Array | null;
  /** Each embedded X.509 certificate's DER. */
  certificates: Uint8Array[];
  signerInfos: SignerInfoView[];
  /** Where the ContentInfo ends (a PDF's /Contents are zero-padded after it). */
  end: number;
}

const SIGNED_DATA = '1.2.840.113549.1.7.2';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A value this reader hands on as DER (an attribute value, algorithm parameters, a Name's value):
 * asn1js decoded the whole tree and refused the signature when something inside was malformed,
 * so the same is checked here, strictly: constructed values are walked to the leaves, and a leaf
 * must be one of the universal types below in a form asn1js reads without complaint, or
 * context-specific (asn1js reads those as opaque bytes). Anything else goes to pkijs, which decides as before.
 */
function checkValue(bytes: Uint8Array, node: Tlv, depth = 0): void {
  if (depth > 16) unusual('nesting');
  if (node.tag & 0x20) {
    // SEQUENCE, SET and context-specific structures only: asn1js gives constructed OCTET and BIT
    // STRINGs and strings rules of their own (segments of the same type only).
    if (node.tag !== 0x30 && node.tag !== 0x31 && (node.tag & 0xc0) !== 0x80) unusual(`constructed tag ${node.tag}`);
    for (const child of children(bytes, node)) checkValue(bytes, child, depth + 1);
    return;
  }
  if ((node.tag & 0xc0) === 0x80) return;
  const length = node.end - node.at;
  switch (node.tag) {
    case 0x02: // INTEGER
      if (!length) unusual('integer');
      return;
    case 0x05: // NULL
      if (length) unusual('null');
      return;
    case 0x06: // OBJECT IDENTIFIER
      oidOf(bytes, node);
      return;
    case 0x04: // OCTET STRING
    case 0x13: // PrintableString
    case 0x16: // IA5String
      return;
    case 0x0c: // UTF8String (asn1js throws on invalid UTF-8)
      try {
        utf8.decode(bytes.subarray(node.at, node.end));
      } catch {
        unusual('utf8');
      }
      return;
    case 0x17: // UTCTime
    case 0x18: // GeneralizedTime
      timeOf(bytes, node);
      return;
    default:
      unusual(`value of tag ${node.tag}`);
  }
}

/** An AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID, at most one parameter. */
function algorithm(bytes: Uint8Array, node: Tlv): { oid: string; der: Uint8Array } {
  expect(node, 0x30, 'algorithm');
  const parts = children(bytes, node);
  if (parts.length < 1 || parts.length > 2) unusual('algorithm');
  if (parts[1]) checkValue(bytes, parts[1]);
  return { oid: oidOf(bytes, parts[0]), der: bytes.subarray(node.start, node.end) };
}

/** Name (RFC 5280 §4.1.2.4): SEQUENCE OF SET OF SEQUENCE { OID, value }, as pkijs requires it. */
function checkName(bytes: Uint8Array, node: Tlv): void {
  expect(node, 0x30, 'name');
  for (const rdn of children(bytes, node)) {
    expect(rdn, 0x31, 'name');
    const atvs = children(bytes, rdn);
    if (!atvs.length) unusual('name');
    for (const atv of atvs) {
      const pair = children(bytes, expect(atv, 0x30, 'name'));
      if (pair.length !== 2) unusual('name');
      oidOf(bytes, pair[0]);
      checkValue(bytes, pair[1]);
    }
  }
}

function signerId(bytes: Uint8Array, node: Tlv): SignerId {
  if (node.tag === 0x80) return node.end > node.at ? { ski: bytes.subarray(node.at, node.end) } : null;
  const parts = children(bytes, expect(node, 0x30, 'sid'));
  if (parts.length !== 2) unusual('sid');
  checkName(bytes, parts[0]);
  const serial = expect(parts[1], 0x02, 'serial');
  if (serial.end === serial.at) unusual('serial');
  return { issuerHex: toHex(bytes.subarray(parts[0].start, parts[0].end)), serial: hexFromInteger(bytes.subarray(serial.at, serial.end)) };
}

/** [0] or [1] IMPLICIT SET OF Attribute (RFC 5652 §5.3); each value's DER as it lies. */
function attributes(bytes: Uint8Array, node: Tlv): AttributesView {
  const list = children(bytes, node);
  if (!list.length) unusual('empty attributes');
  const encoded = bytes.slice(node.start, node.end);
  encoded[0] = 0x31;
  return {
    encoded,
    attributes: list.map((attribute) => {
      const pair = children(bytes, expect(attribute, 0x30, 'attribute'));
      if (pair.length !== 2) unusual('attribute');
      const values = children(bytes, expect(pair[1], 0x31, 'attribute values'));
      if (!values.length) unusual('attribute without values');
      for (const v of values) checkValue(bytes, v);
      return { type: oidOf(bytes, pair[0]), values: values.map((v) => ({ der: bytes.subarray(v.start, v.end) })) };
    }),
  };
}

function signerInfo(bytes: Uint8Array, node: Tlv): SignerInfoView {
  const fields = children(bytes, expect(node, 0x30, 'SignerInfo'));
  let i = 0;
  const version = expect(fields[i++], 0x02, 'version');
  if (version.end === version.at) unusual('version');
  const sid = fields[i++];
  if (!sid) unusual('sid');
  const digest = algorithm(bytes, fields[i++]);
  const signed = fields[i]?.tag === 0xa0 ? attributes(bytes, fields[i++]) : null;
  const signatureAlgorithm = algorithm(bytes, fields[i++]);
  const signature = expect(fields[i++], 0x04, 'signature');
  const unsigned = fields[i]?.tag === 0xa1 ? attributes(bytes, fields[i++]) : null;
  if (i !== fields.length) unusual('SignerInfo fields');
  return {
    sid: signerId(bytes, sid),
    digestAlgorithm: digest.oid,
    signatureAlgorithm: { oid: signatureAlgorithm.oid, der: signatureAlgorithm.der, pkijs: null },
    signedAttrs: signed,
    signature: bytes.subarray(signature.at, signature.end),
    unsignedAttrs: unsigned,
  };
}

/** A lone SignerInfo's DER (a countersignature, RFC 5652 §11.4); null when pkijs must read it. */
export function readSignerInfoDer(der: Uint8Array): SignerInfoView | null {
  try {
    const node = tlv(der, 0, der.length);
    if (node.end !== der.length) return null;
    return signerInfo(der, node);
  } catch (err) {
    if (err instanceof UnusualCertificate) return null;
    throw err;
  }
}

/**
 * Reads a DER ContentInfo(SignedData); null for anything outside the usual profile (pkijs then
 * decides, including whether it is a SignedData at all). `bytes` should be the caller's own copy:
 * the result holds views into it.
 */
export function readSignedDataDer(bytes: Uint8Array): SignedDataView | null {
  try {
    return signedData(bytes);
  } catch (err) {
    if (err instanceof UnusualCertificate) return null;
    throw err;
  }
}

function signedData(bytes: Uint8Array): SignedDataView {
  const info = expect(tlv(bytes, 0, bytes.length), 0x30, 'ContentInfo');
  const top = children(bytes, info);
  if (top.length !== 2 || oidOf(bytes, top[0]) !== SIGNED_DATA) unusual('not SignedData');
  const explicit = children(bytes, expect(top[1], 0xa0, 'content'));
  if (explicit.length !== 1) unusual('content');
  const fields = children(bytes, expect(explicit[0], 0x30, 'SignedData'));
  let i = 0;
  const version = expect(fields[i++], 0x02, 'version');
  if (version.end === version.at) unusual('version');
  for (const digest of children(bytes, expect(fields[i++], 0x31, 'digestAlgorithms'))) algorithm(bytes, digest);
  const encap = children(bytes, expect(fields[i++], 0x30, 'encapContentInfo'));
  if (encap.length < 1 || encap.length > 2) unusual('encapContentInfo');
  let eContent: Uint8Array | null = null;
  if (encap.length === 2) {
    const wrapped = children(bytes, expect(encap[1], 0xa0, 'eContent'));
    if (wrapped.length !== 1) unusual('eContent');
    const octets = expect(wrapped[0], 0x04, 'eContent');
    eContent = bytes.subarray(octets.at, octets.end);
  }
  const certificates: Uint8Array[] = [];
  if (fields[i]?.tag === 0xa0) {
    for (const c of children(bytes, fields[i++])) certificates.push(bytes.subarray(expect(c, 0x30, 'certificate choice').start, c.end));
  }
  // RFC 5652 §5.1 `crls [1]`: not read (revocation comes from the validator's own sources), only
  // its framing checked: CertificateLists and other formats ([1]), anything else goes to pkijs.
  if (fields[i]?.tag === 0xa1) for (const c of children(bytes, fields[i++])) if (c.tag !== 0x30 && c.tag !== 0xa1) unusual('revocation info');
  const signerInfos = children(bytes, expect(fields[i++], 0x31, 'signerInfos')).map((s) => signerInfo(bytes, s));
  if (i !== fields.length) unusual('SignedData fields');
  return { eContentType: oidOf(bytes, encap[0]), eContent, certificates, signerInfos, end: info.end };
}

/** The same view of a SignerInfo pkijs decoded (the fall-back path), read as the validator always read it. */
export function fromPkijsSignerInfo(info: pkijs.SignerInfo): SignerInfoView {
  return {
    sid: pkijsSignerId(info.sid),
    digestAlgorithm: info.digestAlgorithm.algorithmId,
    signatureAlgorithm: { oid: info.signatureAlgorithm.algorithmId, der: null, pkijs: info.signatureAlgorithm },
    signedAttrs: pkijsAttributes(info.signedAttrs),
    signature: info.signature.valueBlock.valueHexView,
    unsignedAttrs: pkijsAttributes(info.unsignedAttrs),
  };
}

function pkijsAttributes(attrs: pkijs.SignedAndUnsignedAttributes | undefined): AttributesView | null {
  if (!attrs) return null;
  // An attribute whose value set is empty (RFC 5652 §5.3 requires SIZE (1..MAX)) comes back from
  // pkijs without `values`: an empty list here, which the signed-attribute checks then refuse.
  return { encoded: new Uint8Array(attrs.encodedValue), attributes: (attrs.attributes ?? []).map((a) => ({ type: a.type, values: (a.values ?? []).map((node: asn1js.AsnType) => ({ node })) })) };
}

function pkijsSignerId(sid: unknown): SignerId {
  const issuerAndSerial = sid as pkijs.IssuerAndSerialNumber;
  if (issuerAndSerial?.constructor?.name === 'IssuerAndSerialNumber') {
    // The Name's own bytes as decoded (toSchema() would decode them again: 2 ms per signer, `--cpu-prof`).
    const decoded = issuerAndSerial.issuer.valueBeforeDecode;
    const issuerHex = toHex(decoded.byteLength ? new Uint8Array(decoded) : new Uint8Array(issuerAndSerial.issuer.toSchema().toBER(false)));
    return { issuerHex, serial: hexFromInteger(issuerAndSerial.serialNumber.valueBlock.valueHexView) };
  }
  // [0] IMPLICIT SubjectKeyIdentifier
  const view = (sid as { valueBlock?: { valueHexView?: Uint8Array; value?: Array<{ valueBlock?: { valueHexView?: Uint8Array } }> } })?.valueBlock;
  const ski = view?.valueHexView?.byteLength ? view.valueHexView : view?.value?.[0]?.valueBlock?.valueHexView;
  return ski?.byteLength ? { ski } : null;
}

/** The asn1js node of an attribute value (decoded from its DER only when a check needs the structure). */
export function valueNode(value: AttributeValue): asn1js.AsnType {
  return (value.node ??= asn1js.fromBER(value.der!).result);
}

/** A short-form DER TLV with this tag: its content, else null. */
function shortDer(value: AttributeValue, tag: number): Uint8Array | null {
  const der = value.der;
  return der && der.length >= 2 && der[0] === tag && der[1] < 0x80 && der[1] === der.length - 2 ? der.subarray(2) : null;
}

/** An OBJECT IDENTIFIER value as dotted text; null when it is not one. */
export function oidValue(value: AttributeValue): string | null {
  const content = shortDer(value, 0x06);
  if (content && content.length && !(content[content.length - 1] & 0x80) && content.every((b, i) => b !== 0x80 || (i > 0 && content[i - 1] & 0x80))) {
    return oidOf(value.der!, { tag: 0x06, start: 0, at: 2, end: value.der!.length });
  }
  const node = valueNode(value);
  return node instanceof asn1js.ObjectIdentifier ? node.getValue() : null;
}

/** An OCTET STRING value's bytes (a constructed one reads as asn1js reads it); null when it is not one. */
export function octetsValue(value: AttributeValue): Uint8Array | null {
  const content = shortDer(value, 0x04);
  if (content) return content;
  const node = valueNode(value);
  return node instanceof asn1js.OctetString ? node.valueBlock.valueHexView : null;
}

/**
 * A UTCTime or GeneralizedTime value as the Date asn1js's `toDate()` gives; null when it is
 * neither. `--cpu-prof` of cold validation put a twentieth of it in asn1js decoding the
 * signingTime attribute (RFC 5652 §11.3) to read thirteen digits. The forms of RFC 5280 §4.1.2.5
 * (YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ) are read here with the certificate reader's `timeOf`, which
 * reads them as asn1js does (years 50–99 of a UTCTime in the 1900s); anything else (fractions,
 * offsets, a long form, a pkijs-decoded value) is decoded by asn1js as before.
 * test/unit/validation/cms-der.test.ts compares the two on mutated times.
 */
export function timeValue(value: AttributeValue): Date | null {
  const der = value.der;
  if (der && der.length === der[1] + 2 && der[1] < 0x80 && (der[0] === 0x17 || der[0] === 0x18)) {
    try {
      return timeOf(der, { tag: der[0], start: 0, at: 2, end: der.length });
    } catch (err) {
      if (!(err instanceof UnusualCertificate)) throw err;
    }
  }
  const node = valueNode(value);
  return node instanceof asn1js.UTCTime || node instanceof asn1js.GeneralizedTime ? node.toDate() : null;
}

/** A SEQUENCE value's DER; null when it is not one. */
export function sequenceDer(value: AttributeValue): Uint8Array | null {
  if (value.der) return value.der[0] === 0x30 ? new Uint8Array(value.der) : null;
  return value.node instanceof asn1js.Sequence ? new Uint8Array(value.node.toBER(false)) : null;
}
