/**
 * Pre-signed responses (RFC 5019 §2.2, §4): one signed OCSPResponse per (issuer, serial, CertID
 * variant) that the HTTP layer caches and serves byte for byte to every request without a nonce.
 *
 * A response's CertID must carry the hash algorithm the client used (RFC 6960 §4.2.1; OpenSSL
 * compares the algorithm OID before the hashes), so a pre-signed response answers only requests
 * of its variant. RFC 5019 §2.1.1 has clients use SHA-1, which OpenSSL, GnuTLS, NSS and Windows
 * do by default, so the `sha1` variant is the one signed ahead of time. Any other variant (a
 * SHA-256 CertID, or SHA-1 without NULL parameters) is signed on demand on its first request and
 * may be cached under its own key until nextUpdate; a status change must drop every variant of
 * the serial (key prefix `issuerId/serialHex/`).
 */
import type { CertIdHash } from './algorithms.js';
import { certIdFor, type IndexedIssuer, type IssuerIndex } from './issuers.js';
import type { OcspRequest } from './request.js';
import { buildBasicResponse, type CertStatus, encodeSingleResponse, type EncodedSingleResponse, type SignedOcspResponse } from './response.js';
import type { OcspResponder } from './signer.js';

export interface PresignInput {
  issuer: IndexedIssuer;
  /** Certificate serial: DER INTEGER content, or hex (with or without the leading 00). */
  serial: Uint8Array | string;
  status: CertStatus;
  thisUpdate: Date;
  /** Required: a cacheable response says until when it holds (RFC 5019 §2.2.4). */
  nextUpdate: Date;
  hash?: CertIdHash;
  hashParams?: 'null' | 'absent';
}

/** The SingleResponse DER for one certificate status, CertID built as a client would (SHA-1 by default). */
export function presignSingleResponse(input: PresignInput): EncodedSingleResponse {
  const certId = certIdFor(input.issuer, input.serial, input.hash ?? 'sha1', input.hashParams ?? 'null');
  return encodeSingleResponse({ certId, status: input.status, thisUpdate: input.thisUpdate, nextUpdate: input.nextUpdate });
}

/** A whole signed OCSPResponse for one certificate, without a nonce, ready to cache and serve. */
export function presignResponse(
  input: PresignInput & { responder: OcspResponder; producedAt: Date; includeCerts?: boolean },
): Promise<SignedOcspResponse> {
  return buildBasicResponse({
    responder: input.responder,
    producedAt: input.producedAt,
    responses: [presignSingleResponse(input)],
    includeCerts: input.includeCerts,
  });
}

/** Cache variant name: `sha1`, `sha256`, … and `sha1-noparams` for an AlgorithmIdentifier without NULL. */
export const presignVariant = (hash: CertIdHash, params: 'null' | 'absent' = 'null'): string => (params === 'null' ? hash : `${hash}-noparams`);

export interface PresignedKey {
  issuerId: string;
  serialHex: string;
  variant: string;
  hash: CertIdHash;
  hashParams: 'null' | 'absent';
}

/**
 * The cache key that can answer `request` with pre-signed bytes, or undefined when it must be
 * signed live: a nonce (RFC 8954: the response must echo it), several CertIDs (RFC 5019 §2.1.1
 * has one per request), or a CertID we do not serve (answered `unauthorized` by the caller).
 */
export function presignedKey(request: OcspRequest, index: IssuerIndex): PresignedKey | undefined {
  if (request.nonce || request.certIds.length !== 1) return undefined;
  const certId = request.certIds[0];
  if (!certId.hash) return undefined;
  const issuer = index.find(certId);
  if (!issuer) return undefined;
  return { issuerId: issuer.id, serialHex: certId.serialHex, variant: presignVariant(certId.hash, certId.hashParams), hash: certId.hash, hashParams: certId.hashParams };
}
