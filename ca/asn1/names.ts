/**
 * Distinguished names (RFC 5280 §4.1.2.4, §4.1.2.6) as Vietnamese CAs write them:
 * `C=VN, ST=…, L=<province>, O=<agency>, OU=<unit>, CN=<full name>, UID=CCCD:…, E=…` in UTF-8.
 *
 * Built here, every DirectoryString is a UTF8String in NFC (RFC 5280 §4.1.2.4: UTF8String for
 * new certificates; NFC so the same name always has the same bytes), countryName a
 * PrintableString of two letters and emailAddress an IA5String (Appendix A), one attribute per
 * RDN. Parsed here: any string type, any order, multi-valued RDNs, as in real certificates.
 */
import * as asn1js from 'asn1js';
import type { CaErrorKind } from '../errors.js';
import { decodeDer, der, tlv } from './der.js';
import { childrenOf, readAscii, readOid, readUtf8, readWhole } from './der-view.js';

export type StringEncoding = 'utf8' | 'printable' | 'ia5' | 'bmp' | 'teletex' | 'universal' | 'visible' | 'numeric' | 'other';

/** The attributes the CA issues; `max` is the upper bound of RFC 5280 Appendix A (characters). */
export const subjectAttributes = {
  C: { oid: '2.5.4.6', name: 'countryName', encoding: 'printable', max: 2 },
  ST: { oid: '2.5.4.8', name: 'stateOrProvinceName', encoding: 'utf8', max: 128 },
  L: { oid: '2.5.4.7', name: 'localityName', encoding: 'utf8', max: 128 },
  O: { oid: '2.5.4.10', name: 'organizationName', encoding: 'utf8', max: 64 },
  OU: { oid: '2.5.4.11', name: 'organizationalUnitName', encoding: 'utf8', max: 64 },
  CN: { oid: '2.5.4.3', name: 'commonName', encoding: 'utf8', max: 64 },
  // RFC 4519 §2.39 userid; X.520 gives no bound, 256 matches ub-name-style limits of other CAs.
  UID: { oid: '0.9.2342.19200300.100.1.1', name: 'userId', encoding: 'utf8', max: 256 },
  E: { oid: '1.2.840.113549.1.9.1', name: 'emailAddress', encoding: 'ia5', max: 255 },
} as const satisfies Record<string, { oid: string; name: string; encoding: StringEncoding; max: number }>;
export type SubjectAttribute = keyof typeof subjectAttributes;

/** DER order of the attributes the CA builds (most significant first). */
export const subjectAttributeOrder: readonly SubjectAttribute[] = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'UID', 'E'];
const multiValued = new Set<SubjectAttribute>(['OU', 'UID']);
export const isMultiValued = (attribute: SubjectAttribute): boolean => multiValued.has(attribute);

/** A subject as the CA issues it; OU and UID repeat, the rest appear at most once. */
export interface SubjectFields {
  C?: string;
  ST?: string;
  L?: string;
  O?: string;
  OU?: string[];
  CN?: string;
  /** Raw `KIND:value` strings (see vn-identifiers.ts); the name policy validates them. */
  UID?: string[];
  E?: string;
}

/** Short names for attributes seen in other CAs' certificates (RFC 4514 §3 and common usage). */
const otherAttributeNames: Record<string, string> = {
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.12': 'T',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
};

export interface DnAttribute {
  /** Short name (`CN`, `UID`, `E`, `SERIALNUMBER`…) or the dotted OID when unknown. */
  type: string;
  oid: string;
  value: string;
  encoding: StringEncoding;
  /** Index of the RDN holding it (attributes of a multi-valued RDN share one). */
  rdn: number;
}

const encoders: Record<'utf8' | 'printable' | 'ia5', (value: string) => asn1js.AsnType> = {
  utf8: (value) => new asn1js.Utf8String({ value }),
  printable: (value) => new asn1js.PrintableString({ value }),
  ia5: (value) => new asn1js.IA5String({ value }),
};

/** The DER of each attribute type's OBJECT IDENTIFIER, encoded once by the ASN.1 library. */
const attributeTypeDer = Object.fromEntries(
  (Object.keys(subjectAttributes) as SubjectAttribute[]).map((a) => [a, der(new asn1js.ObjectIdentifier({ value: subjectAttributes[a].oid }))]),
) as Record<SubjectAttribute, Uint8Array>;
const stringTags = { utf8: 0x0c, printable: 0x13, ia5: 0x16 } as const;

/**
 * DER of the Name for `fields`, one attribute per RDN, in `subjectAttributeOrder`: written
 * directly (SET { SEQUENCE { type, string } } per attribute, each string's bytes as the ASN.1
 * library writes them), or by the library itself for anything it would treat specially (a string
 * that is not well-formed Unicode, non-ASCII in a PrintableString or IA5String); the tests compare
 * both ways.
 */
export function encodeName(fields: SubjectFields): Uint8Array {
  const rdns: Uint8Array[] = [];
  for (const attribute of subjectAttributeOrder) {
    const raw = fields[attribute];
    if (raw === undefined) continue;
    const { encoding } = subjectAttributes[attribute];
    for (const given of Array.isArray(raw) ? raw : [raw]) {
      if (typeof given !== 'string' || /\p{Cs}/u.test(given)) return encodeNameGeneral(fields);
      const value = given.normalize('NFC');
      // 7-bit only: the library writes each UTF-16 unit as one byte, which only ASCII survives.
      if (encoding !== 'utf8' && Buffer.byteLength(value, 'utf8') !== value.length) return encodeNameGeneral(fields);
      const content = Buffer.from(value, encoding === 'utf8' ? 'utf8' : 'latin1');
      rdns.push(tlv(0x31, tlv(0x30, attributeTypeDer[attribute], tlv(stringTags[encoding], content))));
    }
  }
  return tlv(0x30, ...rdns);
}

/** The same through the ASN.1 library (exported for the comparison tests). */
export function encodeNameGeneral(fields: SubjectFields): Uint8Array {
  const rdns = subjectAttributeOrder.flatMap((attribute) => {
    const raw = fields[attribute];
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const { oid, encoding } = subjectAttributes[attribute];
    return values.map(
      (value) =>
        new asn1js.Set({
          value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), encoders[encoding](value.normalize('NFC'))] })],
        }),
    );
  });
  return der(new asn1js.Sequence({ value: rdns }));
}

function readString(value: asn1js.AsnType): { value: string; encoding: StringEncoding } {
  const text = (value as { valueBlock: { value?: unknown } }).valueBlock.value;
  const encoding: StringEncoding =
    value instanceof asn1js.Utf8String ? 'utf8'
    : value instanceof asn1js.PrintableString ? 'printable'
    : value instanceof asn1js.IA5String ? 'ia5'
    : value instanceof asn1js.BmpString ? 'bmp'
    : value instanceof asn1js.TeletexString ? 'teletex'
    : value instanceof asn1js.UniversalString ? 'universal'
    : value instanceof asn1js.VisibleString ? 'visible'
    : value instanceof asn1js.NumericString ? 'numeric'
    : 'other';
  return { value: typeof text === 'string' ? text : Buffer.from(value.toBER(false)).toString('hex'), encoding };
}

const attributeByOid = new Map<string, string>((Object.keys(subjectAttributes) as SubjectAttribute[]).map((a) => [subjectAttributes[a].oid, a]));
const leanEncodings: Record<number, StringEncoding> = { 0x0c: 'utf8', 0x13: 'printable', 0x16: 'ia5' };

/**
 * A Name read directly from its DER when it is plainly what CAs write (SET of SEQUENCE { OID,
 * UTF8String | PrintableString | IA5String }, strict DER, 7-bit printable and IA5 strings, valid
 * UTF-8); undefined for anything else, which the ASN.1 library then reads (exported for tests).
 */
export function parseNameLean(bytes: Uint8Array): DnAttribute[] | undefined {
  const name = readWhole(bytes, 0x30);
  const rdns = name && childrenOf(bytes, name);
  if (!rdns) return undefined;
  const attributes: DnAttribute[] = [];
  for (let index = 0; index < rdns.length; index++) {
    const rdn = rdns[index];
    const atvs = rdn.tag === 0x31 ? childrenOf(bytes, rdn) : undefined;
    if (!atvs?.length) return undefined;
    for (const atv of atvs) {
      const pair = atv.tag === 0x30 ? childrenOf(bytes, atv) : undefined;
      if (pair?.length !== 2) return undefined;
      const oid = readOid(bytes, pair[0]);
      const encoding = leanEncodings[pair[1].tag];
      if (oid === undefined || encoding === undefined) return undefined;
      const value = encoding === 'utf8' ? readUtf8(bytes, pair[1]) : readAscii(bytes, pair[1]);
      if (value === undefined) return undefined;
      attributes.push({ type: attributeByOid.get(oid) ?? otherAttributeNames[oid] ?? oid, oid, value, encoding, rdn: index });
    }
  }
  return attributes;
}

/** Every attribute of a DER Name, in order. Malformed names raise `kind`. */
export function parseName(nameDer: Uint8Array, kind: CaErrorKind = 'badInput'): DnAttribute[] {
  return parseNameLean(nameDer) ?? parseNameGeneral(nameDer, kind);
}

/** The same through the ASN.1 library (exported for the comparison tests). */
export function parseNameGeneral(nameDer: Uint8Array, kind: CaErrorKind = 'badInput'): DnAttribute[] {
  const name = decodeDer(nameDer, 'distinguished name', kind);
  if (!(name instanceof asn1js.Sequence)) return [];
  return name.valueBlock.value.flatMap((rdn, index) => {
    if (!(rdn instanceof asn1js.Set)) return [];
    return rdn.valueBlock.value.flatMap((atv) => {
      const [type, value] = atv instanceof asn1js.Sequence ? atv.valueBlock.value : [];
      if (!(type instanceof asn1js.ObjectIdentifier) || !value) return [];
      const oid = type.getValue();
      const known = (Object.keys(subjectAttributes) as SubjectAttribute[]).find((a) => subjectAttributes[a].oid === oid);
      return [{ type: known ?? otherAttributeNames[oid] ?? oid, oid, ...readString(value), rdn: index }];
    });
  });
}

export interface FieldsFromName {
  fields: SubjectFields;
  /** Attributes outside `subjectAttributes`, and repeats of single-valued ones. */
  problems: string[];
}

/** Folds parsed attributes into SubjectFields (e.g. a CSR's subject), naming what does not fit. */
export function fieldsFromAttributes(attributes: DnAttribute[]): FieldsFromName {
  const fields: SubjectFields = {};
  const problems: string[] = [];
  for (const attribute of attributes) {
    const key = attribute.type as SubjectAttribute;
    if (!(key in subjectAttributes)) {
      problems.push(`subject attribute ${attribute.type} (${attribute.oid}) is not supported`);
    } else if (key === 'OU' || key === 'UID') {
      (fields[key] ??= []).push(attribute.value);
    } else if (fields[key] !== undefined) {
      problems.push(`subject attribute ${key} appears more than once`);
    } else {
      fields[key] = attribute.value;
    }
  }
  return { fields, problems };
}

/** RFC 4514 string form (least significant RDN first), for logs and display. */
export function formatName(attributes: DnAttribute[]): string {
  // The usual order (RDN indexes never decreasing, as both readers produce them): one pass from the
  // end, without a Map and an array per RDN (a new signer's subject is formatted per cold validation).
  let ordered = true;
  for (let i = 1; i < attributes.length && ordered; i++) ordered = attributes[i].rdn >= attributes[i - 1].rdn;
  if (ordered) {
    let out = '';
    for (let end = attributes.length; end > 0; ) {
      let start = end - 1;
      while (start > 0 && attributes[start - 1].rdn === attributes[end - 1].rdn) start--;
      if (out) out += ',';
      for (let i = start; i < end; i++) out += `${i > start ? '+' : ''}${attributes[i].type}=${escapeDnValue(attributes[i].value)}`;
      end = start;
    }
    return out;
  }
  const byRdn = new Map<number, DnAttribute[]>();
  for (const attribute of attributes) byRdn.set(attribute.rdn, [...(byRdn.get(attribute.rdn) ?? []), attribute]);
  return [...byRdn.values()]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+'))
    .join(',');
}

/** RFC 4514 §2.4 escaping; a value with nothing to escape (the usual one) is returned as it is, without three replacements. */
function escapeDnValue(value: string): string {
  if (!/[\\,+"<>;=]|^[ #]| $/.test(value)) return value;
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}
