/** Pure OCSP protocol core (RFC 6960, RFC 5019, RFC 8954): bytes in, bytes out. See README.md. */
export { CERT_ID_HASHES, type CertIdHash } from './algorithms.js';
export {
  type CertId,
  decodeGetPath,
  DEFAULT_LIMITS,
  type GetPathResult,
  type MalformedRequest,
  type OcspNonce,
  type OcspRequest,
  type OcspRequestResult,
  parseGetRequest,
  parseOcspRequest,
  type RequestLimits,
  serialHexOf,
} from './request.js';
export {
  certIdFor,
  certificateNameAndKey,
  type IndexedIssuer,
  issuerFromCertificate,
  IssuerIndex,
  type MatchedCertId,
  type MatchResult,
  matchRequest,
  type ServedIssuer,
  serialContent,
} from './issuers.js';
export { ecdsaP1363ToDer, type OcspResponder, type OcspSigner, prepareResponder, type SignatureHash, webCryptoSigner } from './signer.js';
export {
  buildBasicResponse,
  type BuildBasicResponseInput,
  type CertStatus,
  encodeCertId,
  encodeSingleResponse,
  type EncodedSingleResponse,
  errorResponse,
  etagOf,
  OCSP_ERROR_STATUS,
  type OcspErrorStatus,
  REVOCATION_REASONS,
  type RevocationReason,
  type SignedOcspResponse,
  type SingleResponseInput,
} from './response.js';
export { type PresignedKey, presignedKey, type PresignInput, presignResponse, presignSingleResponse, presignVariant } from './presign.js';
export { type CachingOptions, ocspCacheHeaders } from './http-caching.js';
