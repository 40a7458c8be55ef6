/**
 * A certificate as the validator sees it: parsed once, with the facts chain building needs
 * (names as DER for exact matching, key identifiers, constraints) and the holder's Vietnamese
 * identity (CCCD / MST from UID attributes). Reading is lenient: other CAs' certificates (the
 * VGCA's SHA-1 G1 sub-CAs with Netscape extensions) must parse.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as pkijs from 'pkijs';
import { certificateFacts, findExtension, parseCertificate, type CertificateFacts } from '../../ca/asn1/certificate.js';
import { toHex } from '../../ca/asn1/der.js';
import { identityFromName, type CertificateIdentity } from '../../ca/asn1/identity.js';
import { formatName, parseName } from '../../ca/asn1/names.js';
import { oid } from '../../ca/asn1/oids.js';
import { describePublicKey } from '../../ca/asn1/public-key.js';
import { readSignatureAlgorithm } from '../../ca/asn1/algorithms.js';

export interface Cert {
  der: Uint8Array;
  cert: pkijs.Certificate;
  facts: CertificateFacts;
  /** SHA-256 of the DER, hex: the certificate's identity in reports and the trust store. */
  sha256: string;
  subjectHex: string;
  issuerHex: string;
  subjectDn: string;
  issuerDn: string;
  identity: CertificateIdentity;
  /** Extended key usage OIDs; null when the extension is absent (any purpose). */
  eku: string[] | null;
  /** OIDs of critical extensions. */
  criticalExtensions: string[];
  selfIssued: boolean;
  /** e.g. "RSA-2048", "EC P-256". */
  keyDescription: string;
  keyWeak: boolean;
  signatureAlgorithm: string;
  signatureHashWeak: boolean;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Parsed certificates by the SHA-256 of their DER: the same signer and CA certificates arrive
 * again and again, and ASN.1 decoding dominates the cost of a validation. Entries are immutable.
 */
const parsed = new Map<string, Cert>();
const CACHE_ENTRIES = 5_000;

function remember(cert: Cert): Cert {
  if (parsed.size >= CACHE_ENTRIES) parsed.delete(parsed.keys().next().value as string);
  parsed.set(cert.sha256, cert);
  return cert;
}

/** A certificate parsed before, by its DER. */
export const cachedCert = (der: Uint8Array): Cert | undefined => parsed.get(sha256Hex(der));

/** Parses a certificate (DER or PEM); malformed input raises AppError('badCertificate'). */
export function loadCert(input: Uint8Array | string, what = 'certificate'): Cert {
  if (typeof input !== 'string') {
    const hit = parsed.get(sha256Hex(input));
    if (hit) return hit;
  }
  const { der, certificate } = parseCertificate(input, what);
  return fromPkijs(der, certificate);
}

export function fromPkijs(der: Uint8Array, certificate: pkijs.Certificate): Cert {
  return parsed.get(sha256Hex(der)) ?? remember(buildCert(der, certificate));
}

function buildCert(der: Uint8Array, certificate: pkijs.Certificate): Cert {
  const facts = certificateFacts(certificate);
  const subjectAttributes = safe(() => parseName(facts.subject, 'badCertificate'), []);
  const ekuValue = findExtension(certificate.extensions, oid.extKeyUsage)?.parsedValue as unknown;
  const key = safe(() => describePublicKey(facts.spki), { type: 'other' as const, algorithm: 'unreadable key' });
  const algorithm = readSignatureAlgorithm(certificate.signatureAlgorithm);
  const subjectHex = toHex(facts.subject);
  const issuerHex = toHex(facts.issuer);
  return {
    der,
    cert: certificate,
    facts,
    sha256: sha256Hex(der),
    subjectHex,
    issuerHex,
    subjectDn: formatName(subjectAttributes),
    issuerDn: formatName(safe(() => parseName(facts.issuer, 'badCertificate'), [])),
    identity: identityFromName(subjectAttributes, facts.emails),
    eku: ekuValue instanceof pkijs.ExtKeyUsage ? ekuValue.keyPurposes : null,
    criticalExtensions: (certificate.extensions ?? []).filter((e) => e.critical).map((e) => e.extnID),
    selfIssued: subjectHex === issuerHex,
    keyDescription: key.type === 'rsa' ? `RSA-${key.bits}` : key.type === 'ec' ? `EC ${key.curveName}` : key.algorithm,
    keyWeak: (key.type === 'rsa' && key.bits < 2048) || (key.type === 'ec' && key.curve === null),
    signatureAlgorithm: algorithm.name,
    signatureHashWeak: algorithm.hash === 'SHA-1',
  };
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/** The certificate as a report shows it. */
export function certSummary(c: Cert) {
  return {
    subject: c.subjectDn,
    issuer: c.issuerDn,
    serial: c.facts.serial,
    notBefore: c.facts.notBefore.toISOString(),
    notAfter: c.facts.notAfter.toISOString(),
    sha256: c.sha256,
    key: c.keyDescription,
    signatureAlgorithm: c.signatureAlgorithm,
  };
}

/** Who signed, in Vietnamese terms: name, CCCD/CMND/passport, tax code, budget-unit code. */
export function signerIdentity(c: Cert) {
  const id = c.identity;
  return {
    name: id.commonName,
    subject: c.subjectDn,
    organization: id.organization,
    organizationalUnits: id.organizationalUnits,
    locality: id.locality,
    emails: id.emails,
    holder: id.holder,
    personalId: id.personalId,
    nationalId: id.personalId?.kind === 'CCCD' ? id.personalId.value : null,
    taxCode: id.taxCode,
    budgetCode: id.budgetCode,
    serial: c.facts.serial,
    issuer: c.issuerDn,
    sha256: c.sha256,
  };
}
