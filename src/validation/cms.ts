/**
 * CMS SignedData (RFC 5652) verification, cryptography only: which certificate signed, whether
 * the content digest matches (messageDigest), whether the signature verifies with explicitly
 * chosen algorithms (never a library default), and what the signed attributes say (contentType,
 * signingTime, ESS signingCertificate/-V2 of RFC 5035). Chain, revocation and time are the
 * validator's job. Everything here is pure and bounded by the input size.
 */
import { constants, createHash, publicDecrypt, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { publicKeyObject, readSignatureAlgorithm } from '../../ca/asn1/algorithms.js';
import { hexFromInteger, toHex } from '../../ca/asn1/der.js';
import { oid as caOid } from '../../ca/asn1/oids.js';
import { fromPkijs, type Cert } from './cert.js';
import { failed, indeterminate, type Verdict } from './indications.js';

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
} as const;

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
  signedData: pkijs.SignedData;
  eContentType: string;
  /** The encapsulated content, or null when detached. */
  eContent: Uint8Array | null;
  certificates: Cert[];
  warnings: string[];
}

/** Parses a ContentInfo holding SignedData. BER (indefinite lengths, constructed OCTET STRINGs) is accepted. */
export function parseCms(bytes: Uint8Array): ParsedCms {
  if (bytes.byteLength < 16) throw new CmsFormatError('too short to be a CMS SignedData');
  let asn: ReturnType<typeof asn1js.fromBER>;
  try {
    asn = asn1js.fromBER(bytes);
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
  try {
    signedData = new pkijs.SignedData({ schema: info.content });
  } catch (err) {
    throw new CmsFormatError(`malformed SignedData (${(err as Error).message})`);
  }
  const warnings: string[] = [];
  if (asn.offset !== bytes.byteLength) {
    // PDF /Contents are zero-padded; anything else after the structure is worth a note.
    const rest = bytes.subarray(asn.offset);
    if (rest.some((b) => b !== 0)) warnings.push(`${rest.byteLength} byte(s) after the CMS structure are ignored`);
  }
  const certificates: Cert[] = [];
  for (const c of signedData.certificates ?? []) {
    if (!(c instanceof pkijs.Certificate)) continue;
    try {
      certificates.push(fromPkijs(new Uint8Array(c.toSchema().toBER(false)), c));
    } catch {
      warnings.push('an embedded certificate could not be read and is ignored');
    }
  }
  const eContent = signedData.encapContentInfo.eContent;
  return {
    signedData,
    eContentType: signedData.encapContentInfo.eContentType,
    eContent: eContent ? octets(eContent) : null,
    certificates,
    warnings,
  };
}

/** The value of an OCTET STRING, primitive or constructed (BER segments). */
function octets(value: asn1js.OctetString): Uint8Array {
  if (!value.idBlock.isConstructed) return value.valueBlock.valueHexView;
  const parts = (value.valueBlock.value as asn1js.OctetString[]).map((p) => octets(p));
  return Buffer.concat(parts);
}

export interface DetachedContent {
  data?: Uint8Array;
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
}

function attributeValues(attrs: pkijs.SignedAndUnsignedAttributes | undefined, type: string): unknown[][] {
  return (attrs?.attributes ?? []).filter((a) => a.type === type).map((a) => a.values);
}

function findSignerCert(sid: unknown, candidates: readonly Cert[]): Cert | null {
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    const issuerHex = toHex(new Uint8Array(sid.issuer.toSchema().toBER(false)));
    const serial = hexFromInteger(sid.serialNumber.valueBlock.valueHexView);
    return candidates.find((c) => c.issuerHex === issuerHex && c.facts.serial === serial) ?? null;
  }
  // [0] IMPLICIT SubjectKeyIdentifier
  const view = (sid as { valueBlock?: { valueHexView?: Uint8Array; value?: Array<{ valueBlock?: { valueHexView?: Uint8Array } }> } })?.valueBlock;
  const ski = view?.valueHexView?.byteLength ? view.valueHexView : view?.value?.[0]?.valueBlock?.valueHexView;
  if (!ski?.byteLength) return null;
  const wanted = toHex(ski);
  return candidates.find((c) => c.facts.subjectKeyIdentifier && toHex(c.facts.subjectKeyIdentifier) === wanted) ?? null;
}

/** RFC 5035 §5.4: the first ESSCertID(v2) identifies the signing certificate by its hash. */
function signingCertificateMatches(values: unknown[], v2: boolean, cert: Cert): boolean | null {
  const value = values[0];
  if (!(value instanceof asn1js.Sequence)) return null;
  const certs = value.valueBlock.value[0];
  if (!(certs instanceof asn1js.Sequence) || !certs.valueBlock.value.length) return null;
  const first = certs.valueBlock.value[0];
  if (!(first instanceof asn1js.Sequence)) return null;
  let hash: DigestName = v2 ? 'sha256' : 'sha1';
  let index = 0;
  const head = first.valueBlock.value[0];
  if (v2 && head instanceof asn1js.Sequence) {
    const algorithm = head.valueBlock.value[0];
    const named = algorithm instanceof asn1js.ObjectIdentifier ? digestOf(algorithm.getValue()) : null;
    if (!named) return null;
    hash = named;
    index = 1;
  }
  const certHash = first.valueBlock.value[index];
  if (!(certHash instanceof asn1js.OctetString)) return null;
  return toHex(certHash.valueBlock.valueHexView) === createHash(hash).update(cert.der).digest('hex');
}

interface SignatureMethod {
  name: string;
  hash: DigestName | null;
  verify(data: Uint8Array, signature: Uint8Array, cert: Cert): boolean;
  rsaPkcs1: boolean;
}

/** The signature algorithm of a SignerInfo, resolved explicitly (RFC 5652 §5.3, RFC 4056, RFC 5753). */
function signatureMethod(info: pkijs.SignerInfo, digest: DigestName): SignatureMethod | string {
  const algorithmOid = info.signatureAlgorithm.algorithmId;
  const pkcs1 = (hash: DigestName): SignatureMethod => ({
    name: `${hash}WithRSAEncryption`,
    hash,
    rsaPkcs1: true,
    verify: (data, sig, cert) => verify(hash, data, { key: publicKeyObject(cert.facts.spki), padding: constants.RSA_PKCS1_PADDING }, sig),
  });
  const ecdsa = (hash: DigestName): SignatureMethod => ({
    name: `ecdsa-with-${hash.toUpperCase()}`,
    hash,
    rsaPkcs1: false,
    verify: (data, sig, cert) => verify(hash, data, { key: publicKeyObject(cert.facts.spki), dsaEncoding: 'der' }, sig),
  });
  if (algorithmOid === caOid.rsaEncryption) return pkcs1(digest);
  if (algorithmOid === caOid.ecPublicKey) return ecdsa(digest);
  if (algorithmOid === caOid.rsassaPss) {
    const pss = readSignatureAlgorithm(info.signatureAlgorithm);
    if (!pss.supported || !pss.hash || pss.pssSaltLength === undefined) return 'RSASSA-PSS with parameters this validator does not support';
    const hash = pss.hash.replace('-', '').toLowerCase() as DigestName;
    const saltLength = pss.pssSaltLength;
    return {
      name: pss.name,
      hash,
      rsaPkcs1: false,
      verify: (data, sig, cert) => verify(hash, data, { key: publicKeyObject(cert.facts.spki), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig),
    };
  }
  if (algorithmOid === caOid.ed25519) {
    return { name: 'Ed25519', hash: null, rsaPkcs1: false, verify: (data, sig, cert) => verify(null, data, publicKeyObject(cert.facts.spki), sig) };
  }
  const received = readSignatureAlgorithm(info.signatureAlgorithm);
  if (!received.supported || !received.hash) return `unsupported signature algorithm ${received.name}`;
  const hash = received.hash.replace('-', '').toLowerCase() as DigestName;
  return received.name.startsWith('ecdsa') ? ecdsa(hash) : pkcs1(hash);
}

/**
 * RSA PKCS#1 v1.5 without signed attributes: recover the DigestInfo to tell a changed document
 * (HASH_FAILURE) from a wrong signature (SIG_CRYPTO_FAILURE), as `openssl cms -verify` does.
 */
function recoveredDigest(signature: Uint8Array, cert: Cert): Uint8Array | null {
  try {
    const digestInfo = publicDecrypt({ key: publicKeyObject(cert.facts.spki), padding: constants.RSA_PKCS1_PADDING }, signature);
    const asn = asn1js.fromBER(digestInfo);
    const seq = asn.result;
    const digest = seq instanceof asn1js.Sequence ? seq.valueBlock.value[1] : undefined;
    return digest instanceof asn1js.OctetString ? digest.valueBlock.valueHexView : null;
  } catch {
    return null;
  }
}

/** Verifies every SignerInfo; `extraCerts` (from the request, the trust store) help find signers. */
export function verifySigners(cms: ParsedCms, content: DetachedContent, extraCerts: readonly Cert[]): SignerCheck[] {
  const candidates = [...cms.certificates, ...extraCerts];
  const data = cms.eContent ?? content.data ?? null;
  if (cms.eContent && content.data && Buffer.compare(Buffer.from(cms.eContent), Buffer.from(content.data)) !== 0) {
    cms.warnings.push('the signature encapsulates its content; the separately given data differs and is ignored');
  }
  const digestCache = new Map<DigestName, Uint8Array>();
  const contentDigest = (name: DigestName): Uint8Array | null => {
    if (data) {
      let d = digestCache.get(name);
      if (!d) digestCache.set(name, (d = createHash(name).update(data).digest()));
      return d;
    }
    return content.digest?.algorithm === name ? content.digest.value : null;
  };

  return cms.signedData.signerInfos.map((info, index): SignerCheck => {
    const errors: string[] = [];
    const warnings: string[] = [];
    const signatureValue = info.signature.valueBlock.valueHexView;
    const check: SignerCheck = {
      index,
      cert: null,
      digest: null,
      signatureAlgorithm: null,
      weak: false,
      signedAttributes: { present: !!info.signedAttrs, messageDigest: 'absent', contentType: 'absent', signingCertificate: 'absent' },
      claimedTime: null,
      verdict: null,
      errors,
      warnings,
      signatureValue,
      timestampToken: null,
    };
    const tokens = attributeValues(info.unsignedAttrs, cmsOid.timeStampToken);
    const token = tokens[0]?.[0];
    if (token instanceof asn1js.Sequence) check.timestampToken = new Uint8Array(token.toBER(false));

    const digest = digestOf(info.digestAlgorithm.algorithmId);
    if (!digest) {
      errors.push(`unsupported digest algorithm ${info.digestAlgorithm.algorithmId}`);
      check.verdict = indeterminate('CRYPTO_CONSTRAINTS_FAILURE');
      return check;
    }
    check.digest = digest;
    if (digest === 'sha1') {
      check.weak = true;
      warnings.push('the digest algorithm is SHA-1, which no longer resists collisions: weak');
    }
    const cert = findSignerCert(info.sid, candidates);
    check.cert = cert;
    const method = signatureMethod(info, digest);
    if (typeof method === 'string') {
      errors.push(method);
      check.verdict = indeterminate('CRYPTO_CONSTRAINTS_FAILURE');
      return check;
    }
    check.signatureAlgorithm = method.name;
    if (method.hash === 'sha1') check.weak = true;

    // Signed attributes (RFC 5652 §5.3, §11).
    let signed: Uint8Array | null = data;
    if (info.signedAttrs) {
      signed = new Uint8Array(info.signedAttrs.encodedValue);
      const md = attributeValues(info.signedAttrs, cmsOid.messageDigest);
      const ct = attributeValues(info.signedAttrs, cmsOid.contentType);
      if (md.length !== 1 || ct.length !== 1) {
        errors.push('signed attributes must hold exactly one messageDigest and one contentType (RFC 5652 §5.3)');
        check.verdict = failed('FORMAT_FAILURE');
        return check;
      }
      const ctValue = ct[0][0];
      check.signedAttributes.contentType = ctValue instanceof asn1js.ObjectIdentifier && ctValue.getValue() === cms.eContentType ? 'match' : 'mismatch';
      if (check.signedAttributes.contentType === 'mismatch') {
        errors.push('the contentType signed attribute differs from the encapsulated content type');
        check.verdict = failed('FORMAT_FAILURE');
        return check;
      }
      const mdValue = md[0][0];
      const expected = contentDigest(digest);
      if (!(mdValue instanceof asn1js.OctetString)) {
        errors.push('the messageDigest attribute is not an OCTET STRING');
        check.verdict = failed('FORMAT_FAILURE');
        return check;
      }
      if (!expected) {
        check.signedAttributes.messageDigest = 'not-checked';
        errors.push(content.digest ? `the given digest is ${content.digest.algorithm}, the signature uses ${digest}` : 'the signed content was not given (detached signature)');
        check.verdict = indeterminate('SIGNED_DATA_NOT_FOUND');
      } else if (Buffer.compare(Buffer.from(mdValue.valueBlock.valueHexView), Buffer.from(expected)) !== 0) {
        check.signedAttributes.messageDigest = 'mismatch';
        errors.push('the content does not match the signed messageDigest: the document was changed after signing');
        check.verdict = failed('HASH_FAILURE');
      } else check.signedAttributes.messageDigest = 'match';
      const time = attributeValues(info.signedAttrs, cmsOid.signingTime)[0]?.[0];
      if (time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime) check.claimedTime = time.toDate();
      const v2 = attributeValues(info.signedAttrs, cmsOid.signingCertificateV2);
      const v1 = attributeValues(info.signedAttrs, cmsOid.signingCertificate);
      if (cert && (v2.length || v1.length)) {
        const matches = v2.length ? signingCertificateMatches(v2[0], true, cert) : signingCertificateMatches(v1[0], false, cert);
        check.signedAttributes.signingCertificate = matches ? 'match' : 'mismatch';
        if (!matches) {
          errors.push('the signingCertificate attribute does not identify the certificate that verifies the signature (RFC 5035)');
          check.verdict ??= indeterminate('NO_SIGNING_CERTIFICATE_FOUND');
        }
      }
    } else {
      check.signedAttributes.messageDigest = 'absent';
      warnings.push('no signed attributes: the signature covers the content only, with no signed time or certificate reference');
    }

    if (!cert) {
      errors.push('the signer\'s certificate is neither in the signature nor in the request or the trust store');
      check.verdict ??= indeterminate('NO_SIGNING_CERTIFICATE_FOUND');
      return check;
    }
    if (!signed) {
      check.verdict ??= indeterminate('SIGNED_DATA_NOT_FOUND');
      if (!errors.length) errors.push('the signed content was not given (detached signature without signed attributes needs the data itself)');
      return check;
    }
    if (check.verdict) return check;
    let ok: boolean;
    try {
      ok = method.verify(signed, signatureValue, cert);
    } catch (err) {
      errors.push(`the signature cannot be verified with the signer's key (${(err as Error).message})`);
      check.verdict = failed('SIG_CRYPTO_FAILURE');
      return check;
    }
    if (!ok) {
      if (!info.signedAttrs && method.rsaPkcs1 && method.hash) {
        const recovered = recoveredDigest(signatureValue, cert);
        const actual = createHash(method.hash).update(signed).digest();
        if (recovered && Buffer.compare(Buffer.from(recovered), actual) !== 0 && recovered.byteLength === actual.byteLength) {
          errors.push('the content does not match the signed digest: the document was changed after signing');
          check.verdict = failed('HASH_FAILURE');
          return check;
        }
      }
      errors.push('the signature value does not verify with the signer\'s public key');
      check.verdict = failed('SIG_CRYPTO_FAILURE');
    }
    return check;
  });
}

export interface TimestampCheck {
  genTime: Date | null;
  tsaName: string | null;
  messageImprintMatches: boolean;
  signer: SignerCheck | null;
  certificates: Cert[];
  errors: string[];
}

/**
 * RFC 3161 §2.4.2 / RFC 5816: a signature time-stamp token over the signature value (ETSI EN 319
 * 122-1 §5.3). Checks its own CMS signature and the message imprint; the TSA chain is built by
 * the caller.
 */
export function checkTimestamp(token: Uint8Array, stampedData: Uint8Array, extraCerts: readonly Cert[]): TimestampCheck {
  const result: TimestampCheck = { genTime: null, tsaName: null, messageImprintMatches: false, signer: null, certificates: [], errors: [] };
  let cms: ParsedCms;
  try {
    cms = parseCms(token);
  } catch (err) {
    result.errors.push(`the time-stamp token is not a CMS SignedData: ${(err as Error).message}`);
    return result;
  }
  result.certificates = cms.certificates;
  if (cms.eContentType !== cmsOid.tstInfo || !cms.eContent) {
    result.errors.push('the time-stamp token does not hold a TSTInfo');
    return result;
  }
  let info: pkijs.TSTInfo;
  try {
    const asn = asn1js.fromBER(cms.eContent);
    if (asn.offset === -1) throw new Error('malformed DER');
    info = new pkijs.TSTInfo({ schema: asn.result });
  } catch (err) {
    result.errors.push(`malformed TSTInfo (${(err as Error).message})`);
    return result;
  }
  result.genTime = info.genTime;
  if (info.tsa?.type === 4) {
    try {
      result.tsaName = String((info.tsa.value as pkijs.RelativeDistinguishedNames).typesAndValues.map((t) => t.value.valueBlock.value).join(', '));
    } catch {
      result.tsaName = null;
    }
  }
  const imprintDigest = digestOf(info.messageImprint.hashAlgorithm.algorithmId);
  if (!imprintDigest) {
    result.errors.push(`unsupported message imprint algorithm ${info.messageImprint.hashAlgorithm.algorithmId}`);
  } else {
    const expected = createHash(imprintDigest).update(stampedData).digest();
    result.messageImprintMatches = Buffer.compare(expected, Buffer.from(info.messageImprint.hashedMessage.valueBlock.valueHexView)) === 0;
    if (!result.messageImprintMatches) result.errors.push('the time-stamp\'s message imprint is not the hash of this signature value');
  }
  const signers = verifySigners(cms, {}, extraCerts);
  if (signers.length !== 1) result.errors.push(`a time-stamp token has exactly one signer, this one has ${signers.length}`);
  result.signer = signers[0] ?? null;
  if (result.signer && !result.tsaName) result.tsaName = result.signer.cert?.subjectDn ?? null;
  return result;
}
