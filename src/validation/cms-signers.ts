/**
 * CMS SignerInfo verification (RFC 5652 §5.4–5.6), cryptography only: which certificate signed,
 * whether the content digest matches (messageDigest), whether the signature verifies with
 * explicitly chosen algorithms (never a library default), and what the signed attributes say
 * (contentType, signingTime, ESS signingCertificate/-V2 of RFC 5035).
 */
import { constants, createHash, publicDecrypt, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { readSignatureAlgorithm } from '../../ca/asn1/algorithms.js';
import { toHex } from '../../ca/asn1/der.js';
import { oid as caOid } from '../../ca/asn1/oids.js';
import { algorithmOf, digestBytes, type Cert } from './cert.js';
import { fromPkijsSignerInfo, octetsValue, oidValue, readSignerInfoDer, sequenceDer, timeValue, valueNode, type AttributesView, type AttributeValue, type SignerId, type SignerInfoView } from './cms-der.js';
import { failed, indeterminate } from './indications.js';
import { verifyingKey } from './keys.js';
import { cmsOid, digestOf, type DetachedContent, type DigestName, type ParsedCms, type SignerCheck } from './cms.js';

const NO_VALUES: readonly AttributeValue[][] = Object.freeze([]);

/** The value sets of every attribute of `type`, in order (a loop: six look-ups per signer, each had made two arrays). */
function attributeValues(attrs: AttributesView | null, type: string): AttributeValue[][] {
  if (!attrs) return NO_VALUES as AttributeValue[][];
  let out: AttributeValue[][] | null = null;
  for (const a of attrs.attributes) if (a.type === type) (out ??= []).push(a.values);
  return out ?? (NO_VALUES as AttributeValue[][]);
}

function findSignerCert(sid: SignerId, candidates: readonly Cert[]): Cert | null {
  if (!sid) return null;
  if ('issuerHex' in sid) return candidates.find((c) => c.issuerHex === sid.issuerHex && c.facts.serial === sid.serial) ?? null;
  const wanted = toHex(sid.ski);
  return candidates.find((c) => c.facts.subjectKeyIdentifier && toHex(c.facts.subjectKeyIdentifier) === wanted) ?? null;
}

/** RFC 5035 §5.4: the first ESSCertID(v2) identifies the signing certificate by its hash. */
function signingCertificateMatches(values: AttributeValue[], v2: boolean, cert: Cert): boolean | null {
  const value = values[0] && valueNode(values[0]);
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
  // The signer certificate's SHA-256 is known (cert.sha256, its identity): not hashed a second time.
  return toHex(certHash.valueBlock.valueHexView) === (hash === 'sha256' ? cert.sha256 : createHash(hash).update(cert.der).digest('hex'));
}

interface SignatureMethod {
  name: string;
  hash: DigestName | null;
  verify(data: Uint8Array, signature: Uint8Array, cert: Cert): boolean;
  rsaPkcs1: boolean;
}

/** PKCS#1 v1.5 and ECDSA with a given hash: one immutable method per hash, not closures per signer. */
const methods = new Map<string, SignatureMethod>();
const pkcs1 = (hash: DigestName): SignatureMethod => methodOnce(`rsa ${hash}`, () => ({
  name: `${hash}WithRSAEncryption`,
  hash,
  rsaPkcs1: true,
  verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), padding: constants.RSA_PKCS1_PADDING }, sig),
}));
const ecdsa = (hash: DigestName): SignatureMethod => methodOnce(`ec ${hash}`, () => ({
  name: `ecdsa-with-${hash.toUpperCase()}`,
  hash,
  rsaPkcs1: false,
  verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), dsaEncoding: 'der' }, sig),
}));
function methodOnce(key: string, make: () => SignatureMethod): SignatureMethod {
  let method = methods.get(key);
  if (!method) methods.set(key, (method = Object.freeze(make())));
  return method;
}

/** The signature algorithm of a SignerInfo, resolved explicitly (RFC 5652 §5.3, RFC 4056, RFC 5753). */
function signatureMethod(info: SignerInfoView, digest: DigestName): SignatureMethod | string {
  const algorithmOid = info.signatureAlgorithm.oid;
  if (algorithmOid === caOid.rsaEncryption) return pkcs1(digest);
  if (algorithmOid === caOid.ecPublicKey) return ecdsa(digest);
  return otherSignatureMethod(info, algorithmOid);
}

/** The less common algorithms, via pkijs's AlgorithmIdentifier (cached by DER: a handful of values). */
function otherSignatureMethod(info: SignerInfoView, algorithmOid: string): SignatureMethod | string {
  const identifier = () => info.signatureAlgorithm.pkijs ?? algorithmOf(info.signatureAlgorithm.der!);
  if (algorithmOid === caOid.rsassaPss) {
    const pss = readSignatureAlgorithm(identifier());
    if (!pss.supported || !pss.hash || pss.pssSaltLength === undefined) return 'RSASSA-PSS with parameters this validator does not support';
    const hash = pss.hash.replace('-', '').toLowerCase() as DigestName;
    const saltLength = pss.pssSaltLength;
    return {
      name: pss.name,
      hash,
      rsaPkcs1: false,
      verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig),
    };
  }
  if (algorithmOid === caOid.ed25519) return { name: 'Ed25519', hash: null, rsaPkcs1: false, verify: (data, sig, cert) => verify(null, data, verifyingKey(cert.facts.spki), sig) };
  const received = readSignatureAlgorithm(identifier());
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
    const digestInfo = publicDecrypt({ key: verifyingKey(cert.facts.spki), padding: constants.RSA_PKCS1_PADDING }, signature);
    const asn = asn1js.fromBER(digestInfo);
    const seq = asn.result;
    const digest = seq instanceof asn1js.Sequence ? seq.valueBlock.value[1] : undefined;
    return digest instanceof asn1js.OctetString ? digest.valueBlock.valueHexView : null;
  } catch {
    return null;
  }
}

interface SignerContext {
  cms: ParsedCms;
  candidates: readonly Cert[];
  content: DetachedContent;
  /** The bytes the signature is over: the encapsulated content, else the given data. */
  data: Uint8Array | null;
  /** The digest of the content with `name`, computed once per algorithm; null when not known. */
  contentDigest(name: DigestName): Uint8Array | null;
  /** A countersignature (RFC 5652 §11.4): over a signature value, with no contentType attribute. */
  counter?: boolean;
}

const MAX_COUNTERSIGNATURES = 10;

/** RFC 5652 §11.4: each countersignature is a SignerInfo over the parent's signature value. */
function verifyCounterSignatures(info: SignerInfoView, check: SignerCheck, context: SignerContext): void {
  if (context.counter) return; // one level: a countersignature's own countersignatures are not followed
  const values = attributeValues(info.unsignedAttrs, cmsOid.counterSignature).flat();
  if (!values.length) return;
  if (values.length > MAX_COUNTERSIGNATURES) check.warnings.push(`${values.length} countersignatures; the first ${MAX_COUNTERSIGNATURES} are validated`);
  const data = check.signatureValue;
  const digests = new Map<DigestName, Uint8Array>();
  const counterContext: SignerContext = {
    ...context,
    content: { data },
    data,
    counter: true,
    contentDigest: (name) => digests.get(name) ?? digests.set(name, createHash(name).update(data).digest()).get(name)!,
  };
  for (const [i, value] of values.slice(0, MAX_COUNTERSIGNATURES).entries()) {
    let counter: SignerInfoView;
    try {
      // The one-pass reader first (cms-der.ts), pkijs for anything it leaves alone.
      counter = (value.der && readSignerInfoDer(value.der)) || fromPkijsSignerInfo(new pkijs.SignerInfo({ schema: valueNode(value) }));
    } catch (err) {
      const bad = emptyCheck(null, i);
      bad.errors.push(`the countersignature is not a SignerInfo (${(err as Error).message})`);
      bad.verdict = failed('FORMAT_FAILURE');
      check.counterSignatures.push(bad);
      continue;
    }
    check.counterSignatures.push(verifySigner(counter, i, counterContext));
  }
}

/**
 * Verifies every SignerInfo; `extraCerts` (from the request, the trust store) help find signers.
 * The bytes asked about win: an encapsulated content that differs from the document (or its
 * digest) the caller sent is a HASH_FAILURE for every signer, never a note (docs/validation.md).
 */
export function verifySigners(cms: ParsedCms, content: DetachedContent, extraCerts: readonly Cert[]): SignerCheck[] {
  const parts = cms.eContent ? null : (content.parts ?? null);
  let data = cms.eContent ?? content.data ?? null;
  const mismatch = contentMismatch(cms, content);
  const digestCache = new Map<DigestName, Uint8Array>();
  // The same bytes hashed once: a PDF's byte ranges are megabytes, and the report needs their SHA-256 too.
  if ((data || parts) && content.sha256 && !cms.eContent) digestCache.set('sha256', content.sha256);
  const contentDigest = (name: DigestName): Uint8Array | null => {
    if (data || parts) {
      let d = digestCache.get(name);
      // One buffer by the one-shot digest (no Hash object per document); a PDF's byte ranges in parts.
      if (!d) digestCache.set(name, (d = data ? digestBytes(name, data) : parts!.reduce((h, part) => h.update(part), createHash(name)).digest()));
      return d;
    }
    return content.digest?.algorithm === name ? content.digest.value : null;
  };
  const context: SignerContext = {
    cms,
    candidates: [...cms.certificates, ...extraCerts],
    content,
    // Joined on first use only (a signature without signed attributes is over the data itself).
    get data() {
      if (!data && parts) data = Buffer.concat(parts);
      return data;
    },
    contentDigest,
  };
  const checks = cms.signerInfos.map((info, index) => verifySigner(info, index, context));
  if (mismatch) {
    for (const check of checks) {
      check.errors.unshift(mismatch);
      check.verdict = failed('HASH_FAILURE');
    }
  }
  return checks;
}

/** The encapsulated content against the document or digest the caller sent; null when they agree. */
function contentMismatch(cms: ParsedCms, content: DetachedContent): string | null {
  if (!cms.eContent) return null;
  const sent = content.data ?? (content.parts ? Buffer.concat(content.parts) : null);
  if (sent && Buffer.compare(Buffer.from(cms.eContent), Buffer.from(sent)) !== 0) {
    return 'the signature encapsulates other content than the document sent with it: the document was not signed';
  }
  if (content.digest && Buffer.compare(createHash(content.digest.algorithm).update(cms.eContent).digest(), Buffer.from(content.digest.value)) !== 0) {
    return 'the signature encapsulates content whose digest is not the digest sent with it: the document was not signed';
  }
  return null;
}

function emptyCheck(info: SignerInfoView | null, index: number): SignerCheck {
  const check: SignerCheck = {
    index,
    cert: null,
    digest: null,
    signatureAlgorithm: null,
    weak: false,
    signedAttributes: { present: !!info?.signedAttrs, messageDigest: 'absent', contentType: 'absent', signingCertificate: 'absent' },
    claimedTime: null,
    verdict: null,
    errors: [],
    warnings: [],
    signatureValue: info?.signature ?? new Uint8Array(0),
    timestampToken: null,
    counterSignatures: [],
  };
  if (!info) return check;
  const token = attributeValues(info.unsignedAttrs, cmsOid.timeStampToken)[0]?.[0];
  if (token) check.timestampToken = sequenceDer(token);
  return check;
}

function verifySigner(info: SignerInfoView, index: number, context: SignerContext): SignerCheck {
  const check = emptyCheck(info, index);
  verifyCounterSignatures(info, check, context);
  const { errors, warnings } = check;
  const digest = digestOf(info.digestAlgorithm);
  if (!digest) {
    errors.push(`unsupported digest algorithm ${info.digestAlgorithm}`);
    check.verdict = indeterminate('CRYPTO_CONSTRAINTS_FAILURE');
    return check;
  }
  check.digest = digest;
  if (digest === 'sha1') {
    check.weak = true; // what the policy makes of it: policy.ts
  }
  const cert = findSignerCert(info.sid, context.candidates);
  check.cert = cert;
  const method = signatureMethod(info, digest);
  if (typeof method === 'string') {
    errors.push(method);
    check.verdict = indeterminate('CRYPTO_CONSTRAINTS_FAILURE');
    return check;
  }
  check.signatureAlgorithm = method.name;
  if (method.hash === 'sha1') check.weak = true;

  let signed: Uint8Array | null = context.data;
  if (info.signedAttrs) {
    const attributes = checkSignedAttributes(info.signedAttrs, digest, cert, check, context);
    if (attributes === 'format-failure') return check;
    signed = attributes;
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
  return verifySignatureValue(info, method, cert, signed, check);
}

/**
 * Signed attributes (RFC 5652 §5.3, §11): exactly one messageDigest and contentType, the digest
 * against the content, the claimed signing time and the signingCertificate(V2) reference (RFC
 * 5035). Returns the bytes the signature is over (the DER of the attributes), or
 * `format-failure` when the verdict is already final.
 */
function checkSignedAttributes(
  attrs: AttributesView,
  digest: DigestName,
  cert: Cert | null,
  check: SignerCheck,
  context: SignerContext,
): Uint8Array | 'format-failure' {
  const { errors } = check;
  const md = attributeValues(attrs, cmsOid.messageDigest);
  const ct = attributeValues(attrs, cmsOid.contentType);
  if (context.counter) {
    // RFC 5652 §11.4: a countersignature carries a messageDigest and no contentType.
    if (md.length !== 1 || ct.length) {
      errors.push('a countersignature\'s signed attributes hold exactly one messageDigest and no contentType (RFC 5652 §11.4)');
      check.verdict = failed('FORMAT_FAILURE');
      return 'format-failure';
    }
  } else if (md.length !== 1 || ct.length !== 1) {
    errors.push('signed attributes must hold exactly one messageDigest and one contentType (RFC 5652 §5.3)');
    check.verdict = failed('FORMAT_FAILURE');
    return 'format-failure';
  }
  const ctValue = ct[0]?.[0];
  if (!context.counter) check.signedAttributes.contentType = ctValue && oidValue(ctValue) === context.cms.eContentType ? 'match' : 'mismatch';
  if (check.signedAttributes.contentType === 'mismatch') {
    errors.push('the contentType signed attribute differs from the encapsulated content type');
    check.verdict = failed('FORMAT_FAILURE');
    return 'format-failure';
  }
  const mdValue = md[0][0] ? octetsValue(md[0][0]) : null;
  if (!mdValue) {
    errors.push('the messageDigest attribute is not one OCTET STRING');
    check.verdict = failed('FORMAT_FAILURE');
    return 'format-failure';
  }
  checkMessageDigest(mdValue, context.contentDigest(digest), digest, check, context.content);
  const signingTime = attributeValues(attrs, cmsOid.signingTime)[0]?.[0];
  const time = signingTime && timeValue(signingTime);
  if (time) check.claimedTime = time;
  const v2 = attributeValues(attrs, cmsOid.signingCertificateV2);
  const v1 = attributeValues(attrs, cmsOid.signingCertificate);
  if (cert && (v2.length || v1.length)) {
    const matches = v2.length ? signingCertificateMatches(v2[0], true, cert) : signingCertificateMatches(v1[0], false, cert);
    check.signedAttributes.signingCertificate = matches ? 'match' : 'mismatch';
    if (!matches) {
      errors.push('the signingCertificate attribute does not identify the certificate that verifies the signature (RFC 5035)');
      check.verdict ??= indeterminate('NO_SIGNING_CERTIFICATE_FOUND');
    }
  }
  return attrs.encoded;
}

function checkMessageDigest(mdValue: Uint8Array, expected: Uint8Array | null, digest: DigestName, check: SignerCheck, content: DetachedContent): void {
  if (!expected) {
    check.signedAttributes.messageDigest = 'not-checked';
    check.errors.push(content.digest ? `the given digest is ${content.digest.algorithm}, the signature uses ${digest}` : 'the signed content was not given (detached signature)');
    check.verdict = indeterminate('SIGNED_DATA_NOT_FOUND');
  } else if (Buffer.compare(Buffer.from(mdValue), Buffer.from(expected)) !== 0) {
    check.signedAttributes.messageDigest = 'mismatch';
    check.errors.push('the content does not match the signed messageDigest: the document was changed after signing');
    check.verdict = failed('HASH_FAILURE');
  } else check.signedAttributes.messageDigest = 'match';
}

function verifySignatureValue(info: SignerInfoView, method: Exclude<ReturnType<typeof signatureMethod>, string>, cert: Cert, signed: Uint8Array, check: SignerCheck): SignerCheck {
  const { errors } = check;
  let ok: boolean;
  try {
    ok = method.verify(signed, check.signatureValue, cert);
  } catch (err) {
    errors.push(`the signature cannot be verified with the signer's key (${(err as Error).message})`);
    check.verdict = failed('SIG_CRYPTO_FAILURE');
    return check;
  }
  if (!ok) {
    if (!info.signedAttrs && method.rsaPkcs1 && method.hash) {
      const recovered = recoveredDigest(check.signatureValue, cert);
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
}
