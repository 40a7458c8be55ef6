/**
 * OCSP response encoding and signing (RFC 6960 §4.2). SingleResponses are encoded separately so
 * a pre-signed status can be built once and wrapped; the ResponseData is signed by an
 * {@link OcspSigner} with an explicit SHA-2 algorithm.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { OID_ELEMENT } from './algorithms.js';
import { bitString, ctxPrim, explicit, generalizedTime, octetString, sequence, TAG, tlv } from './der.js';
import { revocationReasons, type RevocationReason as CrlRevocationReason } from '../crl/crl.js';
import type { CertId, OcspNonce } from './request.js';
import type { OcspResponder } from './signer.js';

/** CRLReason (RFC 5280 §5.3.1), the CRLs' table. removeFromCRL has no OCSP meaning: a released hold is `good`. */
export const REVOCATION_REASONS: Readonly<Record<RevocationReason, number>> = revocationReasons;
export type RevocationReason = Exclude<CrlRevocationReason, 'removeFromCRL'>;

/**
 * RFC 6960 §2.2. A certificate on hold is `revoked` with reason certificateHold; `unknown` is for
 * serials we never issued (see README.md on why not the §2.2 extended "revoked").
 */
export type CertStatus = { status: 'good' } | { status: 'revoked'; revokedAt: Date; reason?: RevocationReason } | { status: 'unknown' };

export type ResponseCertId = Pick<CertId, 'hashAlgorithm' | 'issuerNameHash' | 'issuerKeyHash' | 'serialNumber'>;

export interface SingleResponseInput {
  /** The CertID to answer: the request's own (echoed byte for byte) or one from certIdFor. */
  certId: ResponseCertId;
  status: CertStatus;
  thisUpdate: Date;
  /** RFC 5019 §2.2.4 requires it for cacheable responses. */
  nextUpdate?: Date;
}

export interface EncodedSingleResponse {
  der: Buffer;
  thisUpdate: Date;
  nextUpdate?: Date;
}

/** CertID element; the AlgorithmIdentifier is copied as received so clients match it exactly. */
export function encodeCertId(certId: ResponseCertId): Buffer {
  return sequence(certId.hashAlgorithm, octetString(certId.issuerNameHash), octetString(certId.issuerKeyHash), tlv(TAG.INTEGER, certId.serialNumber));
}

const GOOD = Buffer.from([ctxPrim(0), 0x00]); // good [0] IMPLICIT NULL
const UNKNOWN = Buffer.from([ctxPrim(2), 0x00]); // unknown [2] IMPLICIT UnknownInfo (NULL)

function encodeStatus(status: CertStatus): Buffer {
  switch (status.status) {
    case 'good':
      return GOOD;
    case 'unknown':
      return UNKNOWN;
    case 'revoked': {
      // revoked [1] IMPLICIT RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
      const time = generalizedTime(status.revokedAt);
      if (status.reason === undefined) return tlv(0xa1, time);
      const code = REVOCATION_REASONS[status.reason];
      if (code === undefined) throw new RangeError(`unknown revocation reason ${String(status.reason)}`);
      return tlv(0xa1, time, explicit(0, tlv(TAG.ENUMERATED, Uint8Array.of(code))));
    }
  }
}

/** SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] EXPLICIT OPTIONAL } */
export function encodeSingleResponse(input: SingleResponseInput): EncodedSingleResponse {
  const parts = [encodeCertId(input.certId), encodeStatus(input.status), generalizedTime(input.thisUpdate)];
  if (input.nextUpdate) {
    if (input.nextUpdate.getTime() < input.thisUpdate.getTime()) throw new RangeError('nextUpdate before thisUpdate');
    parts.push(explicit(0, generalizedTime(input.nextUpdate)));
  }
  return { der: sequence(...parts), thisUpdate: input.thisUpdate, nextUpdate: input.nextUpdate };
}

export interface BuildBasicResponseInput {
  responder: OcspResponder;
  producedAt: Date;
  responses: ReadonlyArray<SingleResponseInput | EncodedSingleResponse>;
  /** The request's nonce, echoed as a response extension (RFC 6960 §4.4.1, RFC 8954). */
  nonce?: OcspNonce;
  /** Include the responder's certificate (required for a delegated signer). Default true. */
  includeCerts?: boolean;
}

/** A signed, successful OCSPResponse and what the HTTP layer needs to cache and serve it. */
export interface SignedOcspResponse {
  der: Buffer;
  producedAt: Date;
  /** Latest thisUpdate of the SingleResponses (the Last-Modified of RFC 5019 §6.2). */
  thisUpdate: Date;
  /** Earliest nextUpdate, if every SingleResponse has one. */
  nextUpdate?: Date;
  /** Whether a nonce was echoed: such a response answers one request only, never cache it. */
  hasNonce: boolean;
  /** Strong entity tag: base64url SHA-256 of `der`, quoted. */
  etag: string;
}

const SUCCESSFUL = Buffer.from([TAG.ENUMERATED, 0x01, 0x00]);

export async function buildBasicResponse(input: BuildBasicResponseInput): Promise<SignedOcspResponse> {
  if (input.responses.length === 0) throw new RangeError('an OCSP response needs at least one SingleResponse');
  const singles = input.responses.map((r) => ('der' in r ? r : encodeSingleResponse(r)));
  // ResponseData ::= SEQUENCE { version [0] DEFAULT v1 (omitted, X.690 §11.5), responderID,
  //                             producedAt, responses, responseExtensions [1] EXPLICIT OPTIONAL }
  const tbsParts = [input.responder.responderId, generalizedTime(input.producedAt), sequence(...singles.map((s) => s.der))];
  if (input.nonce) tbsParts.push(explicit(1, sequence(sequence(OID_ELEMENT.nonce, octetString(input.nonce.extnValue)))));
  const tbs = sequence(...tbsParts);
  const signature = await input.responder.signer.sign(tbs);
  const basicParts = [tbs, input.responder.signer.algorithm, bitString(signature)];
  if (input.includeCerts !== false) basicParts.push(input.responder.certs);
  const basic = sequence(...basicParts);
  // OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT ResponseBytes }
  const der = sequence(SUCCESSFUL, explicit(0, sequence(OID_ELEMENT.basicResponse, octetString(basic))));
  let thisUpdate = singles[0].thisUpdate;
  let nextUpdate = singles[0].nextUpdate;
  for (const s of singles) {
    if (s.thisUpdate > thisUpdate) thisUpdate = s.thisUpdate;
    nextUpdate = nextUpdate && s.nextUpdate ? (s.nextUpdate < nextUpdate ? s.nextUpdate : nextUpdate) : undefined;
  }
  return { der, producedAt: input.producedAt, thisUpdate, nextUpdate, hasNonce: input.nonce !== undefined, etag: etagOf(der) };
}

export const etagOf = (der: Uint8Array): string => `"${createHash('sha256').update(der).digest('base64url')}"`;

/** OCSPResponseStatus values other than successful (RFC 6960 §4.2.1); sigRequired (5) is never sent. */
export const OCSP_ERROR_STATUS = { malformedRequest: 1, internalError: 2, tryLater: 3, unauthorized: 6 } as const;
export type OcspErrorStatus = keyof typeof OCSP_ERROR_STATUS;

const ERROR_RESPONSES = Object.fromEntries(
  Object.entries(OCSP_ERROR_STATUS).map(([k, v]) => [k, sequence(tlv(TAG.ENUMERATED, Uint8Array.of(v)))]),
) as Record<OcspErrorStatus, Buffer>;

/** An unsigned OCSPResponse carrying only the error status (RFC 6960 §2.3): 5 bytes. */
export function errorResponse(status: OcspErrorStatus): Buffer {
  return Buffer.from(ERROR_RESPONSES[status]);
}
