/**
 * Encoders for the certificate and CRL extensions the CA writes (RFC 5280 §4.2, §5.2, §5.3), and
 * the decoders the linter needs. Each encoder returns the DER of the extnValue contents.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { arrayBuffer, der, encodeGeneralizedTime, tlv } from './der.js';
import { oid } from './oids.js';

export interface ExtensionSpec {
  oid: string;
  critical: boolean;
  /** DER of the value that the extnValue OCTET STRING wraps. */
  value: Uint8Array;
}

export function extension(id: string, critical: boolean, value: asn1js.AsnType | { toSchema(): asn1js.AsnType }): ExtensionSpec {
  return { oid: id, critical, value: der(value) };
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function encodeExtensions(extensions: ExtensionSpec[]): asn1js.Sequence {
  return new asn1js.Sequence({
    value: extensions.map(
      (e) =>
        new asn1js.Sequence({
          value: [
            new asn1js.ObjectIdentifier({ value: e.oid }),
            // DER (X.690 §11.5): a DEFAULT value is omitted, so FALSE never appears.
            ...(e.critical ? [new asn1js.Boolean({ value: true })] : []),
            new asn1js.OctetString({ valueHex: arrayBuffer(e.value) }),
          ],
        }),
    ),
  });
}

/** The DER of each extension OID, encoded once by the ASN.1 library. */
const oidDer = new Map<string, Uint8Array>();
const DER_TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/**
 * The DER of `encodeExtensions(extensions)`, written directly (each Extension is a SEQUENCE of the
 * OID, TRUE when critical and the value's OCTET STRING) without building objects per certificate;
 * the tests compare both ways.
 */
export function encodeExtensionsDer(extensions: readonly ExtensionSpec[]): Uint8Array {
  return tlv(
    0x30,
    ...extensions.map((e) => {
      let id = oidDer.get(e.oid);
      if (!id) oidDer.set(e.oid, (id = der(new asn1js.ObjectIdentifier({ value: e.oid }))));
      return e.critical ? tlv(0x30, id, DER_TRUE, tlv(0x04, e.value)) : tlv(0x30, id, tlv(0x04, e.value));
    }),
  );
}

/**
 * subjectAltName's DER directly when every name is 7-bit (rfc822Name [1] and dNSName [2] are
 * IA5Strings, written byte for byte), otherwise through pkijs; the tests compare both ways.
 */
export function subjectAltNameDer(names: { emails: readonly string[]; dnsNames: readonly string[] }): Uint8Array {
  const all = [...names.emails, ...names.dnsNames];
  if (all.some((n) => typeof n !== 'string' || Buffer.byteLength(n, 'utf8') !== n.length)) return der(subjectAltName(names));
  return tlv(0x30, ...names.emails.map((n) => tlv(0x81, Buffer.from(n, 'latin1'))), ...names.dnsNames.map((n) => tlv(0x82, Buffer.from(n, 'latin1'))));
}

/** RFC 5280 §4.2.1.3 KeyUsage bits, in bit order. */
export const keyUsageNames = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof keyUsageNames)[number];

/** A named-bit BIT STRING in DER: trailing zero bits removed (X.690 §11.2.2). */
export function keyUsageBitString(usages: readonly KeyUsage[]): asn1js.BitString {
  const positions = usages.map((u) => keyUsageNames.indexOf(u));
  const length = Math.max(...positions) + 1;
  const bytes = new Uint8Array(Math.ceil(length / 8));
  for (const p of positions) bytes[p >> 3] |= 0x80 >> (p & 7);
  return new asn1js.BitString({ valueHex: arrayBuffer(bytes), unusedBits: bytes.length * 8 - length });
}

export function readKeyUsage(bits: asn1js.BitString): { usages: KeyUsage[]; minimal: boolean } {
  const bytes = bits.valueBlock.valueHexView;
  const unused = bits.valueBlock.unusedBits;
  const usages = keyUsageNames.filter((_, p) => p >> 3 < bytes.length && (bytes[p >> 3] & (0x80 >> (p & 7))) !== 0);
  const last = bytes.length * 8 - unused - 1;
  const minimal = bytes.length > 0 && last >= 0 && (bytes[last >> 3] & (0x80 >> (last & 7))) !== 0;
  return { usages, minimal };
}

const uri = (value: string) => new pkijs.GeneralName({ type: 6, value });

/** RFC 5280 §4.2.1.13 (and §4.2.1.15 for freshestCRL): one distribution point, a full name URI. */
export function distributionPoints(url: string): pkijs.CRLDistributionPoints {
  return new pkijs.CRLDistributionPoints({ distributionPoints: [new pkijs.DistributionPoint({ distributionPoint: [uri(url)] })] });
}

/** RFC 5280 §4.2.2.1: OCSP responder first, then the issuer certificate. */
export function authorityInfoAccess(urls: { ocsp?: string; caIssuers?: string }): pkijs.InfoAccess {
  const descriptions = [
    ...(urls.ocsp ? [new pkijs.AccessDescription({ accessMethod: oid.adOcsp, accessLocation: uri(urls.ocsp) })] : []),
    ...(urls.caIssuers ? [new pkijs.AccessDescription({ accessMethod: oid.adCaIssuers, accessLocation: uri(urls.caIssuers) })] : []),
  ];
  return new pkijs.InfoAccess({ accessDescriptions: descriptions });
}

/** RFC 5280 §4.2.1.6: rfc822Name [1] and dNSName [2], IA5String. */
export function subjectAltName(names: { emails: readonly string[]; dnsNames: readonly string[] }): pkijs.GeneralNames {
  return new pkijs.GeneralNames({
    names: [
      ...names.emails.map((value) => new pkijs.GeneralName({ type: 1, value })),
      ...names.dnsNames.map((value) => new pkijs.GeneralName({ type: 2, value })),
    ],
  });
}

/** RFC 5280 §4.2.1.1: keyIdentifier only (issuer name + serial would pin the issuer's certificate). */
export function authorityKeyIdentifier(keyId: Uint8Array): pkijs.AuthorityKeyIdentifier {
  return new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: arrayBuffer(keyId) }) });
}

export function octetString(bytes: Uint8Array): asn1js.OctetString {
  return new asn1js.OctetString({ valueHex: arrayBuffer(bytes) });
}

export function basicConstraints(ca: boolean, pathLenConstraint?: number): pkijs.BasicConstraints {
  return new pkijs.BasicConstraints(pathLenConstraint === undefined ? { cA: ca } : { cA: ca, pathLenConstraint });
}

export function certificatePolicies(policyOids: readonly string[]): pkijs.CertificatePolicies {
  return new pkijs.CertificatePolicies({
    certificatePolicies: policyOids.map((policyIdentifier) => new pkijs.PolicyInformation({ policyIdentifier })),
  });
}

export function extendedKeyUsage(purposes: readonly string[]): pkijs.ExtKeyUsage {
  return new pkijs.ExtKeyUsage({ keyPurposes: [...purposes] });
}

/** RFC 5280 §5.2.3 CRL number and §5.2.4 BaseCRLNumber: non-negative, at most 20 octets. */
export const crlNumber = (n: bigint): asn1js.Integer => asn1js.Integer.fromBigInt(n);

/** RFC 5280 §5.3.2: invalidity date is always GeneralizedTime. */
export const invalidityDate = (date: Date): asn1js.GeneralizedTime => encodeGeneralizedTime(date);

/** The URIs of a CRLDistributionPoints / freshestCRL value (full names only). */
export function readDistributionPointUris(value: unknown): string[] {
  if (!(value instanceof pkijs.CRLDistributionPoints)) return [];
  return value.distributionPoints.flatMap((point) =>
    Array.isArray(point.distributionPoint) ? point.distributionPoint.filter((n) => n.type === 6).map((n) => String(n.value)) : [],
  );
}

/**
 * RFC 5280 §4.2.1.10 NameConstraints with permitted dNSName subtrees only (minimum 0, no
 * maximum): relying parties then refuse any DNS name outside them under this CA. Other name types
 * (e-mail, directory names) stay unconstrained.
 */
export function nameConstraints(permittedDns: readonly string[]): asn1js.Sequence {
  const subtrees = permittedDns.map((value) => new asn1js.Sequence({ value: [new pkijs.GeneralName({ type: 2, value }).toSchema()] }));
  return new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: subtrees })] });
}
