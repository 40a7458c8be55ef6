/** Object identifiers and digest algorithms the OCSP core speaks (RFC 6960, RFC 5280, RFC 4055, RFC 5758). */
import { Buffer } from 'node:buffer';
import { NULL_ELEMENT, oid, sequence } from './der.js';

/** Digest algorithms accepted in a CertID (RFC 6960 §4.1.1 lets the client choose). */
export type CertIdHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';
export const CERT_ID_HASHES: readonly CertIdHash[] = ['sha1', 'sha256', 'sha384', 'sha512'];

export const HASH_OIDS: Record<CertIdHash, string> = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
export const HASH_LENGTHS: Record<CertIdHash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** OID element (tag, length, content) of each hash, compared byte-wise against a request's. */
const HASH_OID_ELEMENTS = CERT_ID_HASHES.map((h) => [h, oid(HASH_OIDS[h])] as const);

/** Which hash an OBJECT IDENTIFIER element names, if we support it. */
export function hashForOidElement(element: Uint8Array): CertIdHash | undefined {
  for (const [hash, der] of HASH_OID_ELEMENTS) if (Buffer.compare(der, element) === 0) return hash;
  return undefined;
}

/**
 * The AlgorithmIdentifier we write in CertIDs we build ourselves (pre-signed responses). OpenSSL,
 * GnuTLS, NSS and Go send SHA-1 and SHA-2 with explicit NULL parameters in CertIDs, so we do too;
 * a request's own encoding is always echoed as received.
 */
export function hashAlgorithmIdentifier(hash: CertIdHash, params: 'null' | 'absent' = 'null'): Buffer {
  return params === 'null' ? sequence(oid(HASH_OIDS[hash]), NULL_ELEMENT) : sequence(oid(HASH_OIDS[hash]));
}

export const OID = {
  /** RFC 6960 §4.2.1 */
  basicResponse: '1.3.6.1.5.5.7.48.1.1',
  /** RFC 6960 §4.4.1, RFC 8954 */
  nonce: '1.3.6.1.5.5.7.48.1.2',
  /** RFC 6960 §4.4.3 */
  acceptableResponses: '1.3.6.1.5.5.7.48.1.4',
  /** RFC 6960 §4.4.6 */
  serviceLocator: '1.3.6.1.5.5.7.48.1.7',
  /** RFC 6960 §4.4.7.1 */
  preferredSignatureAlgorithms: '1.3.6.1.5.5.7.48.1.8',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

export const OID_ELEMENT = {
  basicResponse: oid(OID.basicResponse),
  nonce: oid(OID.nonce),
  acceptableResponses: oid(OID.acceptableResponses),
  serviceLocator: oid(OID.serviceLocator),
  preferredSignatureAlgorithms: oid(OID.preferredSignatureAlgorithms),
};
