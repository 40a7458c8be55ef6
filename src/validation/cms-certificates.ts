/**
 * The certificates of a CMS SignedData, read apart from the rest (RFC 5652 §5.1: ContentInfo →
 * [0] SignedData → certificates [0] IMPLICIT CertificateSet). Decoding a SignedData with asn1js
 * and pkijs costs about 10 ms of CPU per embedded certificate, in one synchronous call: a
 * signature carrying two dozen CA certificates held the event loop for a third of a second. So
 * a shallow DER walk (headers only) finds each certificate's bytes; `preloadCertificates` parses
 * them one at a time, yielding between them, into the certificate cache; `parseCms` then decodes
 * only the SignedData without its certificates and takes them from the cache. BER with
 * indefinite lengths (rare) is not split: it is parsed whole, as before.
 */
import { cachedCertBySha256, loadCert, sha256Hex, type Cert } from './cert.js';

interface Tlv {
  tag: number;
  start: number;
  headerEnd: number;
  end: number;
}

/** One DER TLV at `at` (single-byte tags only, definite lengths); null when it is not that. */
function tlv(bytes: Uint8Array, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = bytes[at];
  if ((tag & 0x1f) === 0x1f) return null;
  let length = bytes[at + 1];
  let headerEnd = at + 2;
  if (length === 0x80) return null; // indefinite (BER)
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count > 4 || headerEnd + count > limit) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[headerEnd + i];
    headerEnd += count;
  }
  const end = headerEnd + length;
  return end <= limit ? { tag, start: at, headerEnd, end } : null;
}

function children(bytes: Uint8Array, parent: Tlv): Tlv[] | null {
  const out: Tlv[] = [];
  for (let at = parent.headerEnd; at < parent.end; ) {
    const child = tlv(bytes, at, parent.end);
    if (!child) return null;
    out.push(child);
    at = child.end;
  }
  return out;
}

export interface SplitCms {
  /** The same ContentInfo without the certificates and CRLs fields (DER lengths rewritten). */
  rest: Uint8Array;
  /** Each embedded X.509 certificate's own bytes (other certificate choices are left out). */
  certificates: Uint8Array[];
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const digits: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) digits.unshift(v % 256);
  return Uint8Array.of(0x80 | digits.length, ...digits);
}

const header = (tag: number, length: number) => Uint8Array.of(tag, ...derLength(length));

/** The certificates field of a DER ContentInfo(SignedData), with the fields around it; null when it cannot be found so (BER, not SignedData). */
function locate(bytes: Uint8Array) {
  const info = tlv(bytes, 0, bytes.length);
  if (!info || info.tag !== 0x30) return null;
  const infoFields = children(bytes, info);
  if (!infoFields || infoFields.length !== 2 || infoFields[1].tag !== 0xa0) return null;
  const inner = children(bytes, infoFields[1]);
  if (!inner || inner.length !== 1 || inner[0].tag !== 0x30) return null;
  const fields = children(bytes, inner[0]);
  const certs = fields?.find((f) => f.tag === 0xa0);
  if (!fields || !certs) return null;
  return { info, infoFields, fields, certs };
}

/**
 * Each embedded X.509 certificate's bytes (views), as `splitCms` finds them, without building
 * the rest (what the cold path's preload needs; `--cpu-prof` showed the copies).
 */
export function embeddedCertificates(bytes: Uint8Array): Uint8Array[] | null {
  const found = locate(bytes);
  if (!found) return null;
  return (children(bytes, found.certs) ?? []).filter((c) => c.tag === 0x30).map((c) => bytes.subarray(c.start, c.end));
}

/** Splits a DER ContentInfo(SignedData) into its certificates and the rest, its CRLs left out; null when it cannot (BER, not SignedData, neither field). */
export function splitCms(bytes: Uint8Array): SplitCms | null {
  const info = tlv(bytes, 0, bytes.length);
  if (!info || info.tag !== 0x30) return null;
  const infoFields = children(bytes, info);
  if (!infoFields || infoFields.length !== 2 || infoFields[1].tag !== 0xa0) return null;
  const explicit = infoFields[1];
  const inner = children(bytes, explicit);
  if (!inner || inner.length !== 1 || inner[0].tag !== 0x30) return null;
  const signedData = inner[0];
  const fields = children(bytes, signedData);
  const certs = fields?.find((f) => f.tag === 0xa0);
  // RFC 5652 §5.1 `crls [1]`: revocation data the validator does not read (it asks its own
  // sources), left out so that a large CRL carried along (asn1js stops at 10,000 nodes, about
  // 1,300 entries) does not make the signature unreadable.
  const crls = fields?.find((f) => f.tag === 0xa1);
  if (!fields || (!certs && !crls)) return null;
  const certificates = certs ? (children(bytes, certs) ?? []).filter((c) => c.tag === 0x30).map((c) => bytes.subarray(c.start, c.end)) : [];
  const body = Buffer.concat(fields.filter((f) => f !== certs && f !== crls).map((f) => bytes.subarray(f.start, f.end)));
  const sd = Buffer.concat([header(0x30, body.length), body]);
  const wrapped = Buffer.concat([header(0xa0, sd.length), sd]);
  const oid = bytes.subarray(infoFields[0].start, infoFields[0].end);
  const content = Buffer.concat([oid, wrapped]);
  // Anything after the ContentInfo (PDF /Contents padding) is kept as it was.
  const rest = Buffer.concat([header(0x30, content.length), content, bytes.subarray(info.end)]);
  return { rest: new Uint8Array(rest), certificates };
}

/**
 * Parses the certificates a CMS carries into the certificate cache, one at a time, calling
 * `pause` (a setImmediate yield) between them; malformed ones are left for `parseCms` to judge.
 * Returns the certificates it has (null for one it could not read), for `parseCms` to take by
 * their bytes instead of hashing each again (`--cpu-prof`: a new signer's certificate was hashed
 * three times on the way in).
 */
export async function preloadCertificates(bytes: Uint8Array, pause: () => Promise<void>): Promise<Array<Cert | null> | null> {
  const certificates = embeddedCertificates(bytes);
  if (!certificates) return null;
  const out: Array<Cert | null> = [];
  for (const der of certificates) {
    const digest = sha256Hex(der);
    // A certificate seen before comes from the cache, without a pause.
    const hit = cachedCertBySha256(digest);
    if (hit) {
      out.push(hit);
      continue;
    }
    try {
      out.push(loadCert(der, 'certificate', digest));
    } catch {
      // parseCms reports it.
      out.push(null);
    }
    await pause();
  }
  return out;
}
