/**
 * The issuers this responder answers for, and matching a request's CertIDs against them
 * (RFC 6960 §4.1.1). Every (hash algorithm, issuerKeyHash) is computed once when the index is
 * built, so matching a CertID is one map lookup plus one byte comparison.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { CERT_ID_HASHES, type CertIdHash, hashAlgorithmIdentifier } from './algorithms.js';
import { bytes, ctx, DerError, element, expect, optional, TAG } from './der.js';
import { type CertId, type OcspRequest, serialHexOf } from './request.js';

/** An issuing CA we serve: its subject Name (DER) and its subjectPublicKey (BIT STRING value). */
export interface ServedIssuer {
  id: string;
  subject: Uint8Array;
  publicKey: Uint8Array;
}

export interface IssuerHashes {
  nameHash: Buffer;
  keyHash: Buffer;
}

export interface IndexedIssuer extends ServedIssuer {
  hashes: Readonly<Record<CertIdHash, IssuerHashes>>;
}

/**
 * Subject Name and subjectPublicKey of a certificate, read straight from its DER (RFC 5280
 * §4.1). The key is the BIT STRING value without its unused-bits octet: what RFC 6960 §4.1.1
 * (issuerKeyHash) and §4.2.1 (ResponderID byKey) hash.
 */
export function certificateNameAndKey(certificateDer: Uint8Array): { subject: Uint8Array; publicKey: Uint8Array } {
  const buf = certificateDer;
  try {
    const cert = expect(buf, 0, buf.length, TAG.SEQUENCE, 'Certificate');
    const tbs = expect(buf, cert.start, cert.end, TAG.SEQUENCE, 'tbsCertificate');
    let at = tbs.start;
    const version = optional(buf, at, tbs.end, ctx(0));
    if (version) at = version.end;
    const serial = expect(buf, at, tbs.end, TAG.INTEGER, 'serialNumber');
    const signature = expect(buf, serial.end, tbs.end, TAG.SEQUENCE, 'signature');
    const issuer = expect(buf, signature.end, tbs.end, TAG.SEQUENCE, 'issuer');
    const validity = expect(buf, issuer.end, tbs.end, TAG.SEQUENCE, 'validity');
    const subject = expect(buf, validity.end, tbs.end, TAG.SEQUENCE, 'subject');
    const spki = expect(buf, subject.end, tbs.end, TAG.SEQUENCE, 'subjectPublicKeyInfo');
    const alg = expect(buf, spki.start, spki.end, TAG.SEQUENCE, 'algorithm');
    const key = expect(buf, alg.end, spki.end, TAG.BIT_STRING, 'subjectPublicKey');
    const keyBits = bytes(buf, key);
    if (keyBits.length < 2 || keyBits[0] !== 0) throw new DerError('subjectPublicKey has unused bits');
    return { subject: element(buf, subject), publicKey: keyBits.subarray(1) };
  } catch (error) {
    if (error instanceof DerError) throw new Error(`not a certificate: ${error.message}`, { cause: error });
    throw error;
  }
}

export function issuerFromCertificate(id: string, certificateDer: Uint8Array): ServedIssuer {
  return { id, ...certificateNameAndKey(certificateDer) };
}

const digest = (hash: CertIdHash, data: Uint8Array): Buffer => createHash(hash).update(data).digest();

export function indexIssuer(issuer: ServedIssuer): IndexedIssuer {
  const hashes = {} as Record<CertIdHash, IssuerHashes>;
  for (const h of CERT_ID_HASHES) hashes[h] = { nameHash: digest(h, issuer.subject), keyHash: digest(h, issuer.publicKey) };
  return { ...issuer, hashes };
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

export class IssuerIndex {
  private readonly byKeyHash = new Map<string, IndexedIssuer[]>();
  private readonly byId = new Map<string, IndexedIssuer>();

  constructor(issuers: readonly ServedIssuer[]) {
    for (const issuer of issuers) {
      if (this.byId.has(issuer.id)) throw new Error(`duplicate issuer id ${issuer.id}`);
      const indexed = indexIssuer(issuer);
      this.byId.set(issuer.id, indexed);
      for (const h of CERT_ID_HASHES) {
        const key = h + latin1(indexed.hashes[h].keyHash);
        const list = this.byKeyHash.get(key);
        if (list) list.push(indexed);
        else this.byKeyHash.set(key, [indexed]);
      }
    }
  }

  get(id: string): IndexedIssuer | undefined {
    return this.byId.get(id);
  }

  get issuers(): IndexedIssuer[] {
    return [...this.byId.values()];
  }

  /**
   * The served issuer a CertID names: both issuerKeyHash and issuerNameHash must match (RFC 6960
   * §4.1.1; a CA re-keyed under the same name, or two names on one key, stay distinct).
   */
  find(certId: CertId): IndexedIssuer | undefined {
    if (!certId.hash) return undefined;
    const candidates = this.byKeyHash.get(certId.hash + latin1(certId.issuerKeyHash));
    if (!candidates) return undefined;
    for (const issuer of candidates) if (Buffer.compare(issuer.hashes[certId.hash].nameHash, certId.issuerNameHash) === 0) return issuer;
    return undefined;
  }
}

export interface MatchedCertId {
  certId: CertId;
  /** True when this CertID names `issuer`; false ones are answered `unknown` (RFC 6960 §2.2). */
  served: boolean;
}

export type MatchResult = { ok: true; issuer: IndexedIssuer; entries: MatchedCertId[] } | { ok: false; status: 'unauthorized'; reason: string };

/**
 * Decides who answers a request. One response has one signer, and a delegated signer speaks only
 * for the CA that certified it (RFC 6960 §4.2.2.2), so the issuer of the first CertID we serve
 * answers; CertIDs of any other issuer, ours or foreign, or with a hash we do not support, get
 * `unknown` ("the responder doesn't know about the certificate", RFC 6960 §2.2). When no CertID
 * names an issuer we serve, the whole answer is `unauthorized` (RFC 6960 §2.3).
 */
export function matchRequest(request: OcspRequest, index: IssuerIndex): MatchResult {
  let issuer: IndexedIssuer | undefined;
  const entries: MatchedCertId[] = request.certIds.map((certId) => {
    const found = index.find(certId);
    issuer ??= found;
    return { certId, served: found !== undefined && found === issuer };
  });
  if (!issuer) return { ok: false, status: 'unauthorized', reason: 'no CertID names an issuer this responder serves' };
  return { ok: true, issuer, entries };
}

/** Normalises a serial (hex of INTEGER content or of the unsigned magnitude) to DER INTEGER content. */
export function serialContent(serial: Uint8Array | string): Buffer {
  let raw: Buffer;
  if (typeof serial === 'string') {
    const hex = serial.replace(/^0x/i, '').replace(/[\s:]/g, '');
    if (!/^[0-9a-fA-F]+$/.test(hex)) throw new Error('serial is not hex');
    raw = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  } else {
    raw = Buffer.from(serial);
  }
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0 && raw[i + 1] < 0x80) i++;
  raw = raw.subarray(i);
  // Certificate serials are positive (RFC 5280 §4.1.2.2): a set top bit means an omitted 0x00.
  return raw[0] & 0x80 ? Buffer.concat([Buffer.of(0), raw]) : raw;
}

/**
 * The CertID we would receive for `serial` under `issuer`, for responses we build without a
 * request (pre-signing). RFC 5019 §2.1.1: clients MUST use SHA-1, hence the default.
 */
export function certIdFor(issuer: IndexedIssuer, serial: Uint8Array | string, hash: CertIdHash = 'sha1', params: 'null' | 'absent' = 'null'): CertId {
  const serialNumber = serialContent(serial);
  return {
    hash,
    hashAlgorithm: hashAlgorithmIdentifier(hash, params),
    hashParams: params,
    issuerNameHash: issuer.hashes[hash].nameHash,
    issuerKeyHash: issuer.hashes[hash].keyHash,
    serialNumber,
    serialHex: serialHexOf(serialNumber),
  };
}
