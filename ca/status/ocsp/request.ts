/**
 * OCSP request decoding (RFC 6960 §4.1, appendix A.1; RFC 8954 nonce limits). Pure and total:
 * on any input, including hostile bytes, it returns a result and never throws. Decoding is one
 * forward pass over the bytes with bounds checks; values are views into the input.
 */
import { Buffer } from 'node:buffer';
import { type CertIdHash, hashForOidElement, OID_ELEMENT } from './algorithms.js';
import {
  bytes,
  ctx,
  DerError,
  element,
  expect,
  optional,
  readBoolean,
  readIntegerBytes,
  readSmallInt,
  readTlv,
  TAG,
} from './der.js';

/** One CertID as the client sent it (RFC 6960 §4.1.1). */
export interface CertId {
  /** The digest algorithm, or undefined for one we do not support (the CertID matches no issuer). */
  hash: CertIdHash | undefined;
  /** The AlgorithmIdentifier element exactly as received: echoed in the response's CertID. */
  hashAlgorithm: Uint8Array;
  /** Whether the AlgorithmIdentifier carried NULL parameters or none (both are seen in the wild). */
  hashParams: 'null' | 'absent';
  issuerNameHash: Uint8Array;
  issuerKeyHash: Uint8Array;
  /** Content octets of the serialNumber INTEGER (minimal two's complement, as in the certificate). */
  serialNumber: Uint8Array;
  /**
   * The registry key: lowercase hex of the serial's magnitude without the sign octet, as
   * @peculiar/x509's `serialNumber` and `openssl x509 -serial` show it (`c3a1…`, not `00c3a1…`).
   * A negative serial (RFC 5280 §4.1.2.2 forbids them) is `-` + its content hex, matching nothing.
   */
  serialHex: string;
}

export interface OcspNonce {
  /** The nonce octets (RFC 8954 §2.1: 1..32). */
  value: Uint8Array;
  /** The whole extnValue as received, echoed verbatim in the response (RFC 6960 §4.4.1). */
  extnValue: Uint8Array;
}

export interface OcspRequest {
  certIds: CertId[];
  nonce?: OcspNonce;
  /** The request carried optionalSignature. We accept it without verifying (RFC 6960 §4.1.2 makes signing optional). */
  signed: boolean;
}

export interface MalformedRequest {
  ok: false;
  status: 'malformedRequest';
  /** Why, for logs; never sent to the client (the OCSP error response has no text). */
  reason: string;
}

export type OcspRequestResult = { ok: true; request: OcspRequest } | MalformedRequest;

export interface RequestLimits {
  /** Largest request accepted, in bytes. The HTTP layer enforces 64 KiB before calling. */
  maxBytes?: number;
  /** Most CertIDs in one request; beyond it the request is refused as malformedRequest. */
  maxCertIds?: number;
  /** Longest nonce accepted: 32 per RFC 8954 §2.1; RFC 9654, which obsoletes it, allows up to 128. */
  maxNonceLength?: number;
}

export const DEFAULT_LIMITS: Required<RequestLimits> = { maxBytes: 64 * 1024, maxCertIds: 64, maxNonceLength: 32 };

const malformed = (reason: string): MalformedRequest => ({ ok: false, status: 'malformedRequest', reason });

/** Decodes a DER OCSPRequest (a POST body, or the bytes of a GET path). */
export function parseOcspRequest(der: Uint8Array, limits: RequestLimits = {}): OcspRequestResult {
  const { maxBytes, maxCertIds, maxNonceLength } = { ...DEFAULT_LIMITS, ...limits };
  if (!(der instanceof Uint8Array)) return malformed('request is not bytes');
  if (der.length > maxBytes) return malformed(`request larger than ${maxBytes} bytes`);
  try {
    return { ok: true, request: decodeRequest(der, maxCertIds, maxNonceLength) };
  } catch (error) {
    if (error instanceof DerError) return malformed(error.message);
    // Reason: defensive; decodeRequest only throws DerError, but hostile input must never surface
    // as anything but malformedRequest (RFC 6960 §2.3), whatever the decoder throws.
    return malformed('undecodable request');
  }
}

function decodeRequest(buf: Uint8Array, maxCertIds: number, maxNonceLength: number): OcspRequest {
  // OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
  const outer = expect(buf, 0, buf.length, TAG.SEQUENCE, 'OCSPRequest');
  if (outer.end !== buf.length) throw new DerError('trailing bytes after OCSPRequest');
  const tbs = expect(buf, outer.start, outer.end, TAG.SEQUENCE, 'TBSRequest');
  let at = tbs.end;
  let signed = false;
  const sig = optional(buf, at, outer.end, ctx(0));
  if (sig) {
    // Signature ::= SEQUENCE { signatureAlgorithm, signature BIT STRING, certs [0] OPTIONAL }
    const inner = expect(buf, sig.start, sig.end, TAG.SEQUENCE, 'Signature');
    if (inner.end !== sig.end) throw new DerError('trailing bytes in optionalSignature');
    const alg = expect(buf, inner.start, inner.end, TAG.SEQUENCE, 'signatureAlgorithm');
    const bits = expect(buf, alg.end, inner.end, TAG.BIT_STRING, 'signature');
    const certs = optional(buf, bits.end, inner.end, ctx(0));
    if ((certs ? certs.end : bits.end) !== inner.end) throw new DerError('trailing bytes in Signature');
    signed = true;
    at = sig.end;
  }
  if (at !== outer.end) throw new DerError('trailing bytes in OCSPRequest');

  // TBSRequest ::= SEQUENCE { version [0] DEFAULT v1, requestorName [1] OPTIONAL,
  //                           requestList SEQUENCE OF Request, requestExtensions [2] OPTIONAL }
  at = tbs.start;
  const version = optional(buf, at, tbs.end, ctx(0));
  if (version) {
    const v = expect(buf, version.start, version.end, TAG.INTEGER, 'version');
    if (v.end !== version.end || readSmallInt(buf, v) !== 0) throw new DerError('unsupported request version');
    at = version.end;
  }
  const requestor = optional(buf, at, tbs.end, ctx(1));
  if (requestor) at = requestor.end;
  const list = expect(buf, at, tbs.end, TAG.SEQUENCE, 'requestList');
  const certIds: CertId[] = [];
  for (let p = list.start; p < list.end; ) {
    if (certIds.length === maxCertIds) throw new DerError(`more than ${maxCertIds} CertIDs`);
    const req = expect(buf, p, list.end, TAG.SEQUENCE, 'Request');
    const certId = decodeCertId(buf, req.start, req.end);
    const singleExts = optional(buf, certId.next, req.end, ctx(0));
    if (singleExts) checkExtensions(buf, singleExts, SINGLE_REQUEST_EXTENSIONS);
    if ((singleExts ? singleExts.end : certId.next) !== req.end) throw new DerError('trailing bytes in Request');
    certIds.push(certId.value);
    p = req.end;
  }
  if (certIds.length === 0) throw new DerError('empty requestList');
  at = list.end;
  let nonce: OcspNonce | undefined;
  const exts = optional(buf, at, tbs.end, ctx(2));
  if (exts) {
    const nonceValue = checkExtensions(buf, exts, REQUEST_EXTENSIONS).get('nonce');
    if (nonceValue) nonce = decodeNonce(nonceValue, maxNonceLength);
    at = exts.end;
  }
  if (at !== tbs.end) throw new DerError('trailing bytes in TBSRequest');
  return nonce ? { certIds, nonce, signed } : { certIds, signed };
}

/** X.690 §8.19.2: sub-identifiers in minimal base-128, the last octet of each with bit 8 clear. */
function checkOid(content: Uint8Array): void {
  if (content.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  if (content[content.length - 1] & 0x80) throw new DerError('OBJECT IDENTIFIER ends inside a sub-identifier');
  for (let i = 0; i < content.length; i++) {
    if (content[i] === 0x80 && (i === 0 || !(content[i - 1] & 0x80))) throw new DerError('OBJECT IDENTIFIER sub-identifier not minimal');
  }
}

function decodeCertId(buf: Uint8Array, from: number, limit: number): { value: CertId; next: number } {
  // CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
  //                       issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
  const seq = expect(buf, from, limit, TAG.SEQUENCE, 'CertID');
  const alg = expect(buf, seq.start, seq.end, TAG.SEQUENCE, 'hashAlgorithm');
  const algOid = expect(buf, alg.start, alg.end, TAG.OID, 'hashAlgorithm.algorithm');
  // The AlgorithmIdentifier is echoed in the response: an ill-formed OID would make it undecodable.
  checkOid(bytes(buf, algOid));
  // RFC 5754 §2 and RFC 3279 §2.2.1: hash algorithm parameters are absent or NULL. Anything else
  // would be echoed into the response's CertID, where it can make the response undecodable (a
  // fuzzed request with a zero-length constructed value did), so it is refused here.
  const isNull = alg.end - algOid.end === 2 && buf[algOid.end] === TAG.NULL && buf[algOid.end + 1] === 0;
  if (algOid.end !== alg.end && !isNull) throw new DerError('hashAlgorithm parameters must be absent or NULL');
  const hashParams: CertId['hashParams'] = isNull ? 'null' : 'absent';
  const hash = hashForOidElement(element(buf, algOid));
  const nameHash = expect(buf, alg.end, seq.end, TAG.OCTET_STRING, 'issuerNameHash');
  const keyHash = expect(buf, nameHash.end, seq.end, TAG.OCTET_STRING, 'issuerKeyHash');
  const serial = expect(buf, keyHash.end, seq.end, TAG.INTEGER, 'serialNumber');
  if (serial.end !== seq.end) throw new DerError('trailing bytes in CertID');
  const serialNumber = readIntegerBytes(buf, serial);
  return {
    value: {
      hash,
      hashAlgorithm: element(buf, alg),
      hashParams,
      issuerNameHash: bytes(buf, nameHash),
      issuerKeyHash: bytes(buf, keyHash),
      serialNumber,
      serialHex: serialHexOf(serialNumber),
    },
    next: seq.end,
  };
}

/** See {@link CertId.serialHex}. */
export function serialHexOf(content: Uint8Array): string {
  const hex = Buffer.from(content.buffer, content.byteOffset, content.length).toString('hex');
  if (content[0] & 0x80) return '-' + hex;
  return content.length > 1 && content[0] === 0 ? hex.slice(2) : hex;
}

type KnownExtension = 'nonce' | 'acceptableResponses' | 'preferredSignatureAlgorithms' | 'serviceLocator';
const REQUEST_EXTENSIONS: readonly KnownExtension[] = ['nonce', 'acceptableResponses', 'preferredSignatureAlgorithms'];
const SINGLE_REQUEST_EXTENSIONS: readonly KnownExtension[] = ['serviceLocator'];

/**
 * Walks `[n] EXPLICIT Extensions` and returns the extnValue of each known extension. RFC 6960
 * §4.4: unrecognised extensions are ignored unless critical; a critical one we do not understand,
 * or a repeated one (RFC 5280 §4.2), makes the request malformed. Acceptable responses (§4.4.3),
 * preferred signature algorithms (§4.4.7) and the service locator (§4.4.6) are understood and
 * need no action: we only produce id-pkix-ocsp-basic, signed with the responder's algorithm.
 */
function checkExtensions(buf: Uint8Array, wrapper: { start: number; end: number }, known: readonly KnownExtension[]): Map<KnownExtension, Uint8Array> {
  const found = new Map<KnownExtension, Uint8Array>();
  const seen = new Set<string>();
  const list = expect(buf, wrapper.start, wrapper.end, TAG.SEQUENCE, 'Extensions');
  if (list.end !== wrapper.end) throw new DerError('trailing bytes after Extensions');
  if (list.start === list.end) throw new DerError('empty Extensions');
  for (let p = list.start; p < list.end; ) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const ext = expect(buf, p, list.end, TAG.SEQUENCE, 'Extension');
    const id = expect(buf, ext.start, ext.end, TAG.OID, 'extnID');
    let at = id.end;
    let critical = false;
    const crit = optional(buf, at, ext.end, TAG.BOOLEAN);
    if (crit) {
      critical = readBoolean(buf, crit);
      at = crit.end;
    }
    const value = expect(buf, at, ext.end, TAG.OCTET_STRING, 'extnValue');
    if (value.end !== ext.end) throw new DerError('trailing bytes in Extension');
    const idKey = Buffer.from(element(buf, id)).toString('latin1');
    if (seen.has(idKey)) throw new DerError('repeated extension');
    seen.add(idKey);
    const name = known.find((k) => Buffer.compare(OID_ELEMENT[k], element(buf, id)) === 0);
    if (name) found.set(name, bytes(buf, value));
    else if (critical) throw new DerError('unsupported critical extension');
    p = ext.end;
  }
  return found;
}

/**
 * RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)) inside extnValue; 0 or more than 32 octets
 * is malformedRequest. Clients written to RFC 2560 put the raw nonce in extnValue (RFC 9654 §2.1
 * explains the ambiguity), so a value that is not exactly one OCTET STRING counts as raw octets.
 */
function decodeNonce(extnValue: Uint8Array, maxLength: number): OcspNonce {
  let value = extnValue;
  if (extnValue.length >= 2 && extnValue[0] === TAG.OCTET_STRING) {
    try {
      const inner = readTlv(extnValue, 0, extnValue.length);
      if (inner.end === extnValue.length) value = bytes(extnValue, inner);
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
    }
  }
  if (value.length === 0) throw new DerError('empty nonce');
  if (value.length > maxLength) throw new DerError(`nonce longer than ${maxLength} octets`);
  return { value, extnValue };
}

// ---------------------------------------------------------------------------------------------
// GET (RFC 6960 appendix A.1): GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}

export type GetPathResult = { ok: true; der: Buffer } | MalformedRequest;

const BASE64 = /^[A-Za-z0-9+/]*$/;

/**
 * Turns the path after the responder prefix (e.g. `/ocsp/`) back into DER bytes. Pass the raw
 * remainder of the path, slashes included: clients that do not URL-encode put literal `/` from
 * base64 in the path. Tolerated quirks: `%2F`/`%2B`/`%3D` in either case, `+` that a form
 * decoder turned into a space, base64url (`-`, `_`), missing `=` padding, leading slashes.
 */
export function decodeGetPath(path: string, limits: Pick<RequestLimits, 'maxBytes'> = {}): GetPathResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_LIMITS.maxBytes;
  if (typeof path !== 'string') return malformed('path is not a string');
  // Base64 of maxBytes, each character possibly percent-encoded (3 characters).
  if (path.length > (Math.ceil(maxBytes / 3) * 4 + 4) * 3) return malformed(`request larger than ${maxBytes} bytes`);
  // A '%' left over (bad escape, or an encoded '%') fails the alphabet check below.
  let text = path.replace(/^\/+/, '');
  if (text.includes('%')) text = text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  text = text.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (!BASE64.test(text)) return malformed('not base64');
  if (text.length % 4 === 1) return malformed('truncated base64');
  if (text.length === 0) return malformed('empty request');
  const der = Buffer.from(text, 'base64');
  if (der.length > maxBytes) return malformed(`request larger than ${maxBytes} bytes`);
  return { ok: true, der };
}

/** `decodeGetPath` then `parseOcspRequest`. */
export function parseGetRequest(path: string, limits: RequestLimits = {}): OcspRequestResult {
  const decoded = decodeGetPath(path, limits);
  return decoded.ok ? parseOcspRequest(decoded.der, limits) : decoded;
}
