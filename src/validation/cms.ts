/**
 * CMS SignedData (RFC 5652): parsing, the digest algorithms and the result types of signer
 * verification (cms-signers.ts) and time-stamp checks (timestamp.ts). Chain, revocation and time
 * are the validator's job. Everything here is pure and bounded by the input size.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { BoundedLru } from '../cache/bounded-lru.js';
import { cachedCert, fromPkijs, sha256Hex, type Cert } from './cert.js';
import { splitCms } from './cms-certificates.js';
import { fromPkijsSignerInfo, readSignedDataDer, type SignerInfoView } from './cms-der.js';
import type { Verdict } from './indications.js';

export const cmsOid = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  counterSignature: '1.2.840.113549.1.9.6',
} as const;

/**
 * pkijs builds the asn1js template a structure is matched against at every decode: for a
 * SignedData that includes the templates of every certificate and CRL format, and `--cpu-prof`
 * of the cold path (a new signature each time) put a seventh of a validation in
 * `SignedData.schema()` alone. The template made without parameters is the same every time, and
 * asn1js's `compareSchema` only reads it (it trims the names, which are already trimmed; the
 * matched values go into the decoded input), so it is built once per class. Calls with
 * parameters are left as they are.
 */
function templateOnce(type: { schema(parameters?: object): unknown }): void {
  const build = type.schema.bind(type);
  let template: unknown;
  type.schema = (parameters?: object) => (parameters === undefined ? (template ??= build()) : build(parameters));
}
templateOnce(pkijs.SignedData);
templateOnce(pkijs.SignerInfo);
templateOnce(pkijs.ContentInfo);

export type DigestName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Digest algorithm OIDs (RFC 5754 §2), and the signature OIDs some signers put there instead. */
const digestOids: Record<string, DigestName> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
export const digestOf = (algorithmOid: string): DigestName | null => digestOids[algorithmOid] ?? null;
export const digestLabel = (d: DigestName): string => d.toUpperCase().replace('SHA', 'SHA-');

/** Raised for input that is not a CMS SignedData at all (the caller answers 400 or FORMAT_FAILURE). */
export class CmsFormatError extends Error {}

export interface ParsedCms {
  /** Each SignerInfo as the checks read it, from either reader (cms-der.ts). */
  signerInfos: SignerInfoView[];
  eContentType: string;
  /** The encapsulated content, or null when detached. */
  eContent: Uint8Array | null;
  certificates: Cert[];
  /** How many bytes follow the structure when any of them is not zero (zero padding, as in a PDF's /Contents, counts 0). */
  trailingData: number;
  warnings: string[];
}

/**
 * Parsed signatures by the SHA-256 of their bytes: decoding a SignedData with asn1js and pkijs is
 * about 5 ms, nine tenths of a validation whose certificates are cached (bench/validate.ts,
 * `--cpu-prof`), and the same signature comes back (a document checked again, a PDF's earlier
 * signatures at every revision). Only the structure is kept, never a verdict: digests, signatures,
 * chain and revocation are checked at every validation. Bounded: signatures of at most
 * CACHED_BYTES, CACHED_ENTRIES of them (a few MB; their certificates live in cert.ts's cache).
 * A ParsedCms is read-only once made.
 */
const parsedCms = new BoundedLru<string, ParsedCms>(1_000, 'parsed CMS');
const CACHED_BYTES = 16 * 1024;

/** Whether these signature bytes are parsed and held already (cache-probe.ts: the bench's cold check). */
export const cmsHeld = (bytes: Uint8Array): boolean => parsedCms.get(sha256Hex(bytes)) !== undefined;

/** Parses a ContentInfo holding SignedData. BER (indefinite lengths, constructed OCTET STRINGs) is accepted. */
export function parseCms(bytes: Uint8Array, preloaded?: ReadonlyArray<Cert | null> | null): ParsedCms {
  if (bytes.byteLength > CACHED_BYTES) return decodeCms(bytes, preloaded);
  const key = sha256Hex(bytes);
  const hit = parsedCms.get(key);
  if (hit) {
    parsedCms.touch(key, hit);
    return hit;
  }
  const parsed = decodeCms(bytes, preloaded);
  Object.freeze(parsed.warnings);
  parsedCms.set(key, parsed);
  return parsed;
}

function decodeCms(bytes: Uint8Array, preloaded?: ReadonlyArray<Cert | null> | null): ParsedCms {
  if (bytes.byteLength < 16) throw new CmsFormatError('too short to be a CMS SignedData');
  return decodeCmsDer(bytes, preloaded) ?? decodeCmsPkijs(bytes);
}

/** The Cert of these exact bytes among `preloaded` (a byte comparison: no hash), else the cache's, else parsed now. */
function certOf(der: Uint8Array, preloaded?: ReadonlyArray<Cert | null> | null): Cert {
  if (preloaded) {
    for (const cert of preloaded) if (cert && cert.der.byteLength === der.byteLength && Buffer.compare(cert.der, der) === 0) return cert;
  }
  return cachedCert(der) ?? certFromDer(der);
}

/**
 * The one-pass reader (cms-der.ts): strict DER in the usual shape, or null and pkijs decides.
 * Its views point into an own copy of the bytes, so a cached ParsedCms does not keep a request
 * body alive.
 */
export function decodeCmsDer(input: Uint8Array, preloaded?: ReadonlyArray<Cert | null> | null): ParsedCms | null {
  const bytes = new Uint8Array(input);
  const read = readSignedDataDer(bytes);
  if (!read) return null;
  let certificates: Cert[];
  try {
    certificates = read.certificates.map((der) => certOf(der, preloaded));
  } catch (err) {
    throw new CmsFormatError(`malformed SignedData (${(err as Error).message})`);
  }
  const trailingData = dataAfter(bytes.subarray(read.end));
  const warnings = trailingWarning(trailingData);
  return { signerInfos: read.signerInfos, eContentType: read.eContentType, eContent: read.eContent, certificates, trailingData, warnings };
}

/** The pkijs path: BER, and anything the one-pass reader leaves alone. */
export function decodeCmsPkijs(bytes: Uint8Array): ParsedCms {
  if (bytes.byteLength < 16) throw new CmsFormatError('too short to be a CMS SignedData');
  // The certificates apart (cms-certificates.ts): decoded one by one, from the cache when seen.
  const split = splitCms(bytes);
  const source = split?.rest ?? bytes;
  let asn: ReturnType<typeof asn1js.fromBER>;
  try {
    asn = asn1js.fromBER(source);
  } catch (err) {
    throw new CmsFormatError(`malformed DER/BER (${(err as Error).message})`);
  }
  if (asn.offset === -1) throw new CmsFormatError(`malformed DER/BER (${asn.result.error || 'cannot decode'})`);
  let info: pkijs.ContentInfo;
  let signedData: pkijs.SignedData;
  try {
    info = new pkijs.ContentInfo({ schema: asn.result });
  } catch (err) {
    throw new CmsFormatError(`not a CMS ContentInfo (${(err as Error).message})`);
  }
  if (info.contentType !== cmsOid.signedData) throw new CmsFormatError(`content type ${info.contentType} is not signedData (${cmsOid.signedData})`);
  let certificates: Cert[];
  try {
    // The certificates are read from their own bytes (not decoded twice, nor re-encoded), and one
    // seen before comes from the cache: a signature carrying many CA certificates must not cost
    // the event loop more than it has to.
    const embedded = split ? [] : detachCertificates(info.content);
    signedData = new pkijs.SignedData({ schema: info.content });
    certificates = split
      ? split.certificates.map((der) => cachedCert(der) ?? certFromDer(der))
      : embedded.map((node) => cachedCert(node.valueBeforeDecodeView) ?? certFromDer(node.valueBeforeDecodeView));
  } catch (err) {
    throw new CmsFormatError(`malformed SignedData (${(err as Error).message})`);
  }
  const trailingData = dataAfter(source.subarray(asn.offset));
  const warnings = trailingWarning(trailingData);
  const eContent = signedData.encapContentInfo.eContent;
  return {
    signerInfos: signedData.signerInfos.map(fromPkijsSignerInfo),
    eContentType: signedData.encapContentInfo.eContentType,
    eContent: eContent ? octets(eContent) : null,
    certificates,
    trailingData,
    warnings,
  };
}

/** PDF /Contents are zero-padded: bytes after the structure count only when one is not zero. */
const dataAfter = (rest: Uint8Array): number => (rest.some((b) => b !== 0) ? rest.byteLength : 0);
const trailingWarning = (trailingData: number): string[] => (trailingData ? [`${trailingData} byte(s) after the CMS structure are ignored`] : []);

/** Parses an embedded certificate; the cached Cert keeps its DER, a copy: `view` may be part of the whole signature or of the request body it came in. */
export function certFromDer(view: Uint8Array): Cert {
  const der = new Uint8Array(view);
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1) throw new Error('an embedded certificate is not DER');
  return fromPkijs(der, new pkijs.Certificate({ schema: asn.result }));
}

/**
 * Takes the `certificates [0] IMPLICIT CertificateSet` out of a SignedData's ASN.1 (RFC 5652
 * §5.1) and returns its X.509 certificates (SEQUENCEs; attribute and other certificates are
 * ignored, as before).
 */
function detachCertificates(content: unknown): asn1js.Sequence[] {
  if (!(content instanceof asn1js.Sequence)) return [];
  const fields = content.valueBlock.value;
  const at = fields.findIndex((f) => f.idBlock.tagClass === 3 && f.idBlock.tagNumber === 0);
  if (at < 0 || !(fields[at] instanceof asn1js.Constructed)) return [];
  const set = fields[at] as asn1js.Constructed;
  fields.splice(at, 1);
  return set.valueBlock.value.filter((c): c is asn1js.Sequence => c instanceof asn1js.Sequence);
}

/**
 * The value of an OCTET STRING, primitive or constructed (BER segments, X.690 §8.7.3: each
 * segment is itself an OCTET STRING; anything else is malformed, not a crash).
 */
function octets(value: asn1js.BaseBlock, depth = 0): Uint8Array {
  if (!(value instanceof asn1js.OctetString) || depth > 32) throw new CmsFormatError('the encapsulated content is not a well-formed OCTET STRING');
  if (!value.idBlock.isConstructed) return value.valueBlock.valueHexView;
  const segments = value.valueBlock.value;
  if (!Array.isArray(segments)) throw new CmsFormatError('the encapsulated content is not a well-formed OCTET STRING');
  return Buffer.concat(segments.map((p) => octets(p, depth + 1)));
}

export interface DetachedContent {
  data?: Uint8Array;
  /**
   * The signed data in pieces (a PDF's byte ranges: views into the document), hashed piece by
   * piece and never copied; joined only for a signature without signed attributes, whose value is
   * over the data itself.
   */
  parts?: readonly Uint8Array[];
  /** The SHA-256 of `data` or `parts`, when the caller has hashed them already (a PDF's byte ranges for the report). */
  sha256?: Uint8Array;
  /** Only the content's digest (a large document hashed by the caller). */
  digest?: { algorithm: DigestName; value: Uint8Array };
}

export interface SignerCheck {
  index: number;
  cert: Cert | null;
  digest: DigestName | null;
  signatureAlgorithm: string | null;
  weak: boolean;
  signedAttributes: {
    present: boolean;
    messageDigest: 'match' | 'mismatch' | 'absent' | 'not-checked';
    contentType: 'match' | 'mismatch' | 'absent';
    signingCertificate: 'match' | 'mismatch' | 'absent';
  };
  claimedTime: Date | null;
  /** null when the signature is cryptographically sound. */
  verdict: Verdict | null;
  errors: string[];
  warnings: string[];
  signatureValue: Uint8Array;
  timestampToken: Uint8Array | null;
  /** RFC 5652 §11.4 countersignatures over this signature value, checked like signers. */
  counterSignatures: SignerCheck[];
}
