/**
 * A certificate as the validator sees it: parsed once, with the facts chain building needs
 * (names as DER for exact matching, key identifiers, constraints) and the holder's Vietnamese
 * identity (CCCD / MST from UID attributes). Reading is lenient: other CAs' certificates (the
 * VGCA's SHA-1 G1 sub-CAs with Netscape extensions) must parse.
 */
import { registerCache } from '../../ca/cache-registry.js';
import 'reflect-metadata';
import * as cryptoModule from 'node:crypto';
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFacts, findExtension, parseCertificate, type CertificateFacts } from '../../ca/asn1/certificate.js';
import { readDerOrPem, toHex } from '../../ca/asn1/der.js';
import { identityFromName, type CertificateIdentity } from '../../ca/asn1/identity.js';
import { formatName } from '../../ca/asn1/names.js';
import { oid } from '../../ca/asn1/oids.js';
import { readSignatureAlgorithm } from '../../ca/asn1/algorithms.js';
import { readCertificateDer, UnusualCertificate, type DerCertificate } from './cert-der.js';
import { keyFacts, nameAttributes } from './name-der.js';

export interface Cert {
  der: Uint8Array;
  /** The pkijs object, decoded on first use only (the validator's own paths read the fields below). */
  readonly cert: pkijs.Certificate;
  facts: CertificateFacts;
  /** X.509 version field (0 = v1, 2 = v3). */
  version: number;
  /** TBSCertificate as signed, the outer signatureAlgorithm and the signature bits. */
  tbs: Uint8Array;
  signatureAlgorithmId: pkijs.AlgorithmIdentifier;
  signatureValue: Uint8Array;
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

// node:crypto's one-shot `hash` (Node 20.12+): half the cost of a Hash object for the short inputs hashed here, same digest.
const oneShot = (cryptoModule as { hash?: { (algorithm: string, data: Uint8Array, encoding: 'hex'): string; (algorithm: string, data: Uint8Array, encoding: 'buffer'): Buffer } }).hash;
export const sha256Hex = oneShot ? (bytes: Uint8Array): string => oneShot('sha256', bytes, 'hex') : (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** The digest of one buffer as bytes, by the one-shot `hash` where Node has it (no Hash object per document). */
export const digestBytes = oneShot ? (algorithm: string, bytes: Uint8Array): Buffer => oneShot(algorithm, bytes, 'buffer') : (algorithm: string, bytes: Uint8Array): Buffer => createHash(algorithm).update(bytes).digest();

/**
 * Parsed certificates by the SHA-256 of their DER: the same signer and CA certificates arrive
 * again and again, and ASN.1 decoding dominates the cost of a validation. Entries are immutable.
 */
const parsed = registerCache('parsed certificates', new Map<string, Cert>());
const CACHE_ENTRIES = 5_000;

function remember(cert: Cert): Cert {
  if (parsed.size >= CACHE_ENTRIES) parsed.delete(parsed.keys().next().value as string);
  parsed.set(cert.sha256, cert);
  return cert;
}

/** A certificate parsed before, by its DER. */
export const cachedCert = (der: Uint8Array): Cert | undefined => parsed.get(sha256Hex(der));

/** A certificate parsed before, by the SHA-256 (hex) of its DER. */
export const cachedCertBySha256 = (sha256: string): Cert | undefined => parsed.get(sha256);

/** Parses a certificate (DER or PEM); malformed input raises AppError('badCertificate'). */
export function loadCert(input: Uint8Array | string, what = 'certificate', inputSha256?: string): Cert {
  let known: string | undefined;
  if (typeof input !== 'string') {
    // `inputSha256`: the caller's SHA-256 (hex) of these very bytes, hashed once on the way in.
    known = inputSha256 ?? sha256Hex(input);
    const hit = parsed.get(known);
    if (hit) return hit;
  }
  const der = readDerOrPem(input, ['CERTIFICATE', 'X509 CERTIFICATE'], what, 'badCertificate');
  // DER is handed on unchanged (the same object): its digest is the one just computed.
  const fast = fromDer(der, der === input ? known : undefined);
  if (fast) return fast;
  const { certificate } = parseCertificate(der, what);
  return fromPkijs(new Uint8Array(der), certificate);
}

/** The one-pass DER reader's Cert (cert-der.ts), or null when the certificate needs pkijs. */
function fromDer(input: Uint8Array, digest?: string): Cert | null {
  const sha256 = digest ?? sha256Hex(input);
  const hit = parsed.get(sha256);
  if (hit) return hit;
  const cert = decodeCert(input, 'der', sha256);
  return cert ? remember(cert) : null;
}

/**
 * A Cert decoded by one reader, outside the cache (the tests compare the two readers): 'der' is
 * cert-der.ts (null when the certificate is outside its profile), 'pkijs' the full decoder.
 */
export function decodeCert(input: Uint8Array, reader: 'der' | 'pkijs', digest?: string): Cert | null {
  // An own copy: views into a request body must not keep the whole body alive in the cache.
  const der = new Uint8Array(input);
  if (reader === 'pkijs') return buildCert(der, parseCertificate(der).certificate);
  let read: DerCertificate;
  try {
    read = readCertificateDer(der);
  } catch (err) {
    if (err instanceof UnusualCertificate) return null;
    throw err;
  }
  let certificate: pkijs.Certificate | undefined;
  const lazy = () => (certificate ??= new pkijs.Certificate({ schema: asn1js.fromBER(der).result }));
  return describe(der, digest ?? sha256Hex(der), read.facts, { version: read.version, tbs: read.tbs, signatureAlgorithmDer: read.signatureAlgorithm, signatureValue: read.signatureValue, eku: read.eku, criticalExtensions: read.criticalExtensions }, lazy);
}

/** AlgorithmIdentifiers by their DER: a handful of distinct values (cached, at most 256). */
const algorithms = new Map<string, pkijs.AlgorithmIdentifier>();
export function algorithmOf(der: Uint8Array): pkijs.AlgorithmIdentifier {
  const key = toHex(der);
  let found = algorithms.get(key);
  if (!found) {
    found = new pkijs.AlgorithmIdentifier({ schema: asn1js.fromBER(der).result });
    if (algorithms.size >= 256) algorithms.delete(algorithms.keys().next().value as string);
    algorithms.set(key, found);
  }
  return found;
}

export function fromPkijs(der: Uint8Array, certificate: pkijs.Certificate): Cert {
  return parsed.get(sha256Hex(der)) ?? remember(buildCert(der, certificate));
}

function buildCert(der: Uint8Array, certificate: pkijs.Certificate): Cert {
  const ekuValue = findExtension(certificate.extensions, oid.extKeyUsage)?.parsedValue as unknown;
  const raw = {
    version: certificate.version,
    tbs: new Uint8Array(certificate.tbsView),
    signatureAlgorithmDer: new Uint8Array(certificate.signatureAlgorithm.toSchema().toBER(false)),
    signatureValue: certificate.signatureValue.valueBlock.valueHexView,
    eku: ekuValue instanceof pkijs.ExtKeyUsage ? ekuValue.keyPurposes : null,
    criticalExtensions: (certificate.extensions ?? []).filter((e) => e.critical).map((e) => e.extnID),
  };
  return describe(der, sha256Hex(der), certificateFacts(certificate), raw, () => certificate, certificate.signatureAlgorithm);
}

interface RawFields {
  version: number;
  tbs: Uint8Array;
  signatureAlgorithmDer: Uint8Array;
  signatureValue: Uint8Array;
  eku: string[] | null;
  criticalExtensions: string[];
}

/** The Cert from its facts, whichever reader produced them. */
function describe(der: Uint8Array, sha256: string, facts: CertificateFacts, raw: RawFields, pkijsCertificate: () => pkijs.Certificate, algorithmId?: pkijs.AlgorithmIdentifier): Cert {
  // Names and key read without asn1js when they are the usual ones (name-der.ts).
  const subjectAttributes = attributesOrNone(facts.subject);
  const key = keyFacts(facts.spki);
  const signatureAlgorithmId = algorithmId ?? algorithmOf(raw.signatureAlgorithmDer);
  const algorithm = readSignatureAlgorithm(signatureAlgorithmId);
  const subjectHex = toHex(facts.subject);
  const issuerHex = toHex(facts.issuer);
  return {
    der,
    get cert() {
      return pkijsCertificate();
    },
    facts,
    version: raw.version,
    tbs: raw.tbs,
    signatureAlgorithmId,
    signatureValue: raw.signatureValue,
    sha256,
    subjectHex,
    issuerHex,
    subjectDn: formatName(subjectAttributes),
    issuerDn: issuerDnOf(issuerHex, facts.issuer),
    identity: identityFromName(subjectAttributes, facts.emails),
    eku: raw.eku,
    criticalExtensions: raw.criticalExtensions,
    selfIssued: subjectHex === issuerHex,
    keyDescription: key.description,
    keyWeak: key.weak,
    signatureAlgorithm: algorithm.name,
    signatureHashWeak: algorithm.hash === 'SHA-1',
  };
}

/**
 * Issuers' names as text, by the Name's DER (hex): every certificate of one CA repeats the same
 * Name, and reading and formatting it was a fiftieth of a cold validation (`--cpu-prof`). The
 * text is a function of those bytes alone; at most 1,024 names are kept.
 */
const issuerDns = new Map<string, string>();
function issuerDnOf(issuerHex: string, issuer: Uint8Array): string {
  let text = issuerDns.get(issuerHex);
  if (text === undefined) {
    text = formatName(attributesOrNone(issuer));
    if (issuerDns.size >= 1_024) issuerDns.clear();
    issuerDns.set(issuerHex, text);
  }
  return text;
}

/** A Name's attributes, or none when it cannot be read (the reading is lenient). Not a closure per call. */
function attributesOrNone(name: Uint8Array): ReturnType<typeof nameAttributes> {
  try {
    return nameAttributes(name);
  } catch {
    return [];
  }
}

/**
 * The certificate as a report shows it: computed once per Cert (its fields never change; the same
 * CA certificates appear in every chain), a new object each time (reports are the callers' own).
 */
export function certSummary(c: Cert): CertSummary {
  return { ...heldSummary(c) };
}

/** The held summary itself: read-only, for callers that copy its fields (chain.ts's chainView). */
export function heldSummary(c: Cert): Readonly<CertSummary> {
  let summary = summaries.get(c);
  if (!summary) summaries.set(c, (summary = summarise(c)));
  return summary;
}

export type CertSummary = ReturnType<typeof summarise>;
const summaries = new WeakMap<Cert, CertSummary>();

function summarise(c: Cert) {
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
