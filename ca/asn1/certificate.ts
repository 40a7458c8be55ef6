/** Reading X.509 certificates (ours or other CAs', e.g. the VGCA's SHA-1 G1 sub-CAs). */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { CaErrorKind } from '../errors.js';
import { decodePkijs, der, hexFromInteger, readDerOrPem } from './der.js';
import { readDistributionPointUris, readKeyUsage, type KeyUsage } from './extensions.js';
import { oid } from './oids.js';

export interface ParsedCertificate {
  der: Uint8Array;
  certificate: pkijs.Certificate;
}

export function parseCertificate(input: string | Uint8Array, what = 'certificate', kind: CaErrorKind = 'badCertificate'): ParsedCertificate {
  const bytes = readDerOrPem(input, ['CERTIFICATE', 'X509 CERTIFICATE'], what, kind);
  return { der: bytes, certificate: decodePkijs((schema) => new pkijs.Certificate({ schema }), bytes, what, kind) };
}

export function findExtension(extensions: pkijs.Extension[] | undefined, id: string): pkijs.Extension | undefined {
  return extensions?.find((e) => e.extnID === id);
}

/** What the CA reads from a certificate, independent of pkijs types. */
export interface CertificateFacts {
  /** Canonical hex of the serial (see hexFromInteger), e.g. "04". */
  serial: string;
  subject: Uint8Array;
  issuer: Uint8Array;
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  /** null when absent (unlimited) */
  pathLenConstraint: number | null;
  /** null when the extension is absent (any usage) */
  keyUsage: KeyUsage[] | null;
  subjectKeyIdentifier: Uint8Array | null;
  authorityKeyIdentifier: Uint8Array | null;
  emails: string[];
  dnsNames: string[];
  /** AIA id-ad-ocsp and id-ad-caIssuers URIs (RFC 5280 §4.2.2.1); CRL distribution point URIs. */
  ocspUrls: string[];
  caIssuersUrls: string[];
  crlUrls: string[];
}

function accessUris(value: unknown, method: string): string[] {
  if (!(value instanceof pkijs.InfoAccess)) return [];
  return value.accessDescriptions.filter((a) => a.accessMethod === method && a.accessLocation.type === 6).map((a) => String(a.accessLocation.value));
}

export function certificateFacts(certificate: pkijs.Certificate): CertificateFacts {
  const extensions = certificate.extensions;
  const parsed = (id: string) => findExtension(extensions, id)?.parsedValue as unknown;
  const bc = parsed(oid.basicConstraints);
  const ku = parsed(oid.keyUsage);
  const ski = parsed(oid.subjectKeyIdentifier);
  const aki = parsed(oid.authorityKeyIdentifier);
  const san = parsed(oid.subjectAltName);
  const names = san instanceof pkijs.AltName ? san.altNames : [];
  const pathLen = bc instanceof pkijs.BasicConstraints ? bc.pathLenConstraint : undefined;
  return {
    serial: hexFromInteger(certificate.serialNumber.valueBlock.valueHexView),
    subject: der(certificate.subject),
    issuer: der(certificate.issuer),
    spki: der(certificate.subjectPublicKeyInfo),
    notBefore: certificate.notBefore.value,
    notAfter: certificate.notAfter.value,
    ca: bc instanceof pkijs.BasicConstraints && bc.cA,
    pathLenConstraint: pathLen === undefined ? null : typeof pathLen === 'number' ? pathLen : pathLen.valueBlock.valueDec,
    keyUsage: ku instanceof asn1js.BitString ? readKeyUsage(ku).usages : null,
    subjectKeyIdentifier: ski instanceof asn1js.OctetString ? ski.valueBlock.valueHexView : null,
    authorityKeyIdentifier: aki instanceof pkijs.AuthorityKeyIdentifier && aki.keyIdentifier ? aki.keyIdentifier.valueBlock.valueHexView : null,
    emails: names.filter((n) => n.type === 1).map((n) => String(n.value)),
    dnsNames: names.filter((n) => n.type === 2).map((n) => String(n.value)),
    ocspUrls: accessUris(parsed(oid.authorityInfoAccess), oid.adOcsp),
    caIssuersUrls: accessUris(parsed(oid.authorityInfoAccess), oid.adCaIssuers),
    crlUrls: readDistributionPointUris(parsed(oid.crlDistributionPoints)),
  };
}
