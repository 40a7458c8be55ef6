/**
 * One XMLDSig signature (XMLDSig 1.1 §3.2 core validation), with references resolved by us: the
 * whole document for URI="", else the one element whose Id is the fragment (an Id found twice in
 * the document is ambiguous and refused before we get here). Only same-document references and
 * the enveloped-signature and canonicalisation transforms are processed (no XPath, no XSLT, no
 * network). The result is a SignerCheck, so chain, revocation, time and policy are the CMS ones.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { AppError } from '../errors/app-error.js';
import { loadCert, type Cert } from './cert.js';
import type { DigestName, SignerCheck } from './cms.js';
import { failed, indeterminate, type Verdict } from './indications.js';
import { DIGESTS, signatureMethodOf } from './xml-algorithms.js';
import { C14N, canonicalize, ENVELOPED, isCanonicalization, transformName, UnsupportedTransform } from './xml-c14n.js';
import { child, children, pathOf, textOf, type ParsedXml } from './xml-document.js';
import type { XmlReference } from './xml-report.js';
import { DS, namesCertificate, readXades, SIGNED_PROPERTIES_TYPE, type Xades } from './xml-xades.js';

const EXC = 'http://www.w3.org/2001/10/xml-exc-c14n#';

export interface XmlCheck {
  check: SignerCheck;
  certificates: Cert[];
  references: XmlReference[];
  /** The element each reference resolved to (null: the whole document, or unresolved). */
  covered: Array<Element | null>;
  canonicalization: string | null;
  signatureMethod: string | null;
  xades: Xades | null;
}

const rank: Record<DigestName, number> = { sha1: 0, sha224: 1, sha256: 2, sha384: 3, sha512: 4 };
const base64 = (el: Element | null): Buffer => Buffer.from(textOf(el).replace(/\s+/g, ''), 'base64');
const prefixList = (el: Element | null): string[] => {
  const inc = el && child(el, EXC, 'InclusiveNamespaces');
  return inc ? (inc.getAttribute('PrefixList') ?? '').split(/\s+/).filter(Boolean) : [];
};

function blankCheck(index: number): SignerCheck {
  return {
    index,
    cert: null,
    digest: null,
    signatureAlgorithm: null,
    weak: false,
    signedAttributes: { present: false, messageDigest: 'absent', contentType: 'absent', signingCertificate: 'absent' },
    claimedTime: null,
    verdict: null,
    errors: [],
    warnings: [],
    signatureValue: new Uint8Array(0),
    timestampToken: null,
    counterSignatures: [],
  };
}

/** The first verdict wins; a later, worse one is only an error line. */
function settle(check: SignerCheck, verdict: Verdict, error: string): void {
  check.errors.push(error);
  check.verdict ??= verdict;
}

interface Resolved {
  node: Element | null;
  covers: XmlReference['covers'];
  comments: boolean;
}

function resolve(parsed: ParsedXml, uri: string): Resolved | string {
  if (uri === '' || uri === '#xpointer(/)') {
    const pis = Array.from(parsed.doc.childNodes).some((n) => n.nodeType === 7 && n.nodeName.toLowerCase() !== 'xml'); // the XML declaration is no PI
    if (pis) return 'a whole-document reference over processing instructions outside the root element is not supported';
    return { node: parsed.root, covers: { id: null, path: '/', element: parsed.root.nodeName }, comments: uri !== '' };
  }
  const m = /^#xpointer\(id\('([^']*)'\)\)$/.exec(uri) ?? /^#(.+)$/.exec(uri);
  if (!m) return `only same-document references are dereferenced; "${uri.slice(0, 80)}" is not one`;
  const found = parsed.ids.get(m[1]);
  if (!found?.length) return `no element has the Id "${m[1].slice(0, 80)}"`;
  const node = found[0];
  return { node, covers: { id: m[1], path: pathOf(node), element: node.nodeName }, comments: uri.startsWith('#xpointer') };
}

/** Digests one Reference; returns its report line and the covered element. */
function checkReference(parsed: ParsedXml, signature: Element, ref: Element, check: SignerCheck): { line: XmlReference; node: Element | null } {
  const uri = ref.getAttribute('URI');
  const transforms = children(child(ref, DS, 'Transforms') ?? ref, DS, 'Transform');
  const digestUri = child(ref, DS, 'DigestMethod')?.getAttribute('Algorithm') ?? null;
  const line: XmlReference = { uri: uri ?? '', type: ref.getAttribute('Type') || null, covers: null, transforms: transforms.map((t) => transformName(t.getAttribute('Algorithm') ?? '')), digestAlgorithm: digestUri, digestMatches: null, length: null, sha256: null };
  if (uri === null) {
    settle(check, indeterminate('SIGNED_DATA_NOT_FOUND'), 'a Reference without URI: the application decides what it covers, so it cannot be validated');
    return { line, node: null };
  }
  const resolved = resolve(parsed, uri);
  if (typeof resolved === 'string') {
    settle(check, indeterminate('SIGNED_DATA_NOT_FOUND'), `Reference "${uri.slice(0, 80)}": ${resolved}`);
    return { line, node: null };
  }
  line.covers = resolved.covers;
  const digest = DIGESTS[digestUri ?? ''];
  if (!digest) {
    settle(check, indeterminate('CRYPTO_CONSTRAINTS_FAILURE'), `Reference "${uri}": unsupported digest ${digestUri ?? '(none)'}`);
    return { line, node: resolved.node };
  }
  if (!check.digest || rank[digest] < rank[check.digest]) check.digest = digest;
  const algorithms = transforms.map((t) => t.getAttribute('Algorithm') ?? '');
  const enveloped = algorithms[0] === ENVELOPED;
  const rest = enveloped ? algorithms.slice(1) : algorithms;
  if (rest.length > 1 || (rest.length === 1 && !isCanonicalization(rest[0])) || algorithms.slice(1).includes(ENVELOPED)) {
    settle(check, indeterminate('FORMAT_FAILURE'), `Reference "${uri}": transforms ${line.transforms.join(', ')} are not supported (the enveloped-signature transform, then one canonicalisation)`);
    return { line, node: resolved.node };
  }
  let octets: Buffer;
  try {
    const canon = canonicalize(resolved.node!, rest[0] ?? C14N.c14n10, { prefixes: prefixList(transforms[transforms.length - 1] ?? null), enveloped: enveloped ? signature : null, discardComments: !resolved.comments, xmlAttributeCarriers: parsed.xmlAttributeCarriers });
    octets = Buffer.from(canon, 'utf8');
  } catch (err) {
    settle(check, err instanceof UnsupportedTransform ? indeterminate('FORMAT_FAILURE') : failed('FORMAT_FAILURE'), `Reference "${uri}": ${(err as Error).message}`);
    return { line, node: resolved.node };
  }
  const actual = createHash(digest).update(octets).digest();
  const expected = base64(child(ref, DS, 'DigestValue'));
  line.digestMatches = actual.length === expected.length && timingSafeEqual(actual, expected);
  line.length = octets.length;
  line.sha256 = createHash('sha256').update(octets).digest('hex');
  if (!line.digestMatches) settle(check, failed('HASH_FAILURE'), `Reference "${uri}" (${resolved.covers?.path}): the digest does not match: the content was changed after signing`);
  return { line, node: resolved.covers?.path === '/' ? null : resolved.node };
}

function keyInfoCertificates(signature: Element): Cert[] {
  const keyInfo = child(signature, DS, 'KeyInfo');
  const values = (keyInfo ? children(keyInfo, DS, 'X509Data') : []).flatMap((d) => children(d, DS, 'X509Certificate'));
  if (values.length > 20) throw new AppError('badSignatureInput', 'a KeyInfo with more than 20 certificates');
  return values.map((v, i) => loadCert(new Uint8Array(base64(v)), `KeyInfo X509Certificate ${i + 1}`));
}

/** The signer: the certificate SigningCertificate names, else the one no other certificate was issued by. */
function pickSigner(certs: Cert[], xades: Xades | null): Cert | null {
  if (xades?.certDigests.length) {
    const named = certs.find((c) => namesCertificate(xades, c));
    if (named) return named;
  }
  const leaves = certs.filter((c) => !certs.some((o) => o !== c && o.issuerHex === c.subjectHex && !o.selfIssued));
  return leaves[0] ?? certs[0] ?? null;
}

/** Core validation of one ds:Signature. */
export function verifyXmlSignature(parsed: ParsedXml, signature: Element, index: number, requestCerts: readonly Cert[]): XmlCheck {
  const check = blankCheck(index);
  const result: XmlCheck = { check, certificates: [], references: [], covered: [], canonicalization: null, signatureMethod: null, xades: null };
  const signedInfos = children(signature, DS, 'SignedInfo');
  const values = children(signature, DS, 'SignatureValue');
  if (signedInfos.length !== 1 || values.length !== 1) {
    settle(check, failed('FORMAT_FAILURE'), 'a Signature holds exactly one SignedInfo and one SignatureValue');
    return result;
  }
  const [signedInfo] = signedInfos;
  const c14nEl = child(signedInfo, DS, 'CanonicalizationMethod');
  result.canonicalization = c14nEl?.getAttribute('Algorithm') ?? null;
  const methodEl = child(signedInfo, DS, 'SignatureMethod');
  result.signatureMethod = methodEl?.getAttribute('Algorithm') ?? null;
  try {
    result.certificates = keyInfoCertificates(signature);
  } catch (err) {
    settle(check, failed('FORMAT_FAILURE'), (err as Error).message);
    return result;
  }
  const xades = (result.xades = readXades(signature));
  for (const problem of xades?.problems ?? []) settle(check, failed('FORMAT_FAILURE'), `XAdES: ${problem}`);
  const refs = children(signedInfo, DS, 'Reference');
  if (!refs.length) settle(check, failed('FORMAT_FAILURE'), 'SignedInfo holds no Reference');
  for (const ref of refs) {
    const { line, node } = checkReference(parsed, signature, ref, check);
    result.references.push(line);
    result.covered.push(node);
  }
  checkXades(result, xades);
  const method = signatureMethodOf(methodEl);
  if (typeof method === 'string') {
    settle(check, indeterminate('CRYPTO_CONSTRAINTS_FAILURE'), method);
    return result;
  }
  check.signatureAlgorithm = method.name;
  if (!check.digest || rank[method.hash] < rank[check.digest]) check.digest = method.hash;
  check.weak = check.digest === 'sha1';
  const cert = pickSigner(result.certificates.length ? result.certificates : [...requestCerts], xades);
  check.cert = cert;
  if (xades?.hasSigningCertificate && cert) {
    check.signedAttributes.signingCertificate = namesCertificate(xades, cert) ? 'match' : 'mismatch';
    if (check.signedAttributes.signingCertificate === 'mismatch') settle(check, indeterminate('NO_SIGNING_CERTIFICATE_FOUND'), 'SigningCertificate does not identify the certificate in KeyInfo (ETSI EN 319 132-1 §5.2.2)');
  }
  verifySignatureValue(parsed, signedInfo, values[0], c14nEl, method, check);
  stampedValue(parsed, values[0], xades, check);
  return result;
}

function checkXades(result: XmlCheck, xades: Xades | null): void {
  const { check } = result;
  if (!xades) return;
  check.signedAttributes.present = true;
  check.claimedTime = xades.signingTime;
  const covered = xades.signedProperties && result.covered.some((n) => n === xades.signedProperties);
  if (!covered) settle(check, failed('FORMAT_FAILURE'), 'XAdES: no Reference covers the SignedProperties (ETSI EN 319 132-1 §4.3.1)');
  else if (!result.references.some((r, i) => result.covered[i] === xades.signedProperties && r.type === SIGNED_PROPERTIES_TYPE)) check.warnings.push(`XAdES: the Reference to the SignedProperties should have Type="${SIGNED_PROPERTIES_TYPE}"`);
  if (!xades.hasSigningCertificate) settle(check, failed('FORMAT_FAILURE'), 'XAdES: SignedSignatureProperties must carry SigningCertificate or SigningCertificateV2 (ETSI EN 319 132-1 §5.2.2)');
}

function verifySignatureValue(parsed: ParsedXml, signedInfo: Element, valueEl: Element, c14nEl: Element | null, method: Exclude<ReturnType<typeof signatureMethodOf>, string>, check: SignerCheck): void {
  const value = base64(valueEl);
  check.signatureValue = new Uint8Array(value);
  if (!check.cert) {
    settle(check, indeterminate('NO_SIGNING_CERTIFICATE_FOUND'), 'the signer\'s certificate is neither in KeyInfo nor in the request');
    return;
  }
  let signed: Buffer;
  try {
    signed = Buffer.from(canonicalize(signedInfo, c14nEl?.getAttribute('Algorithm') ?? '', { prefixes: prefixList(c14nEl), discardComments: false, xmlAttributeCarriers: parsed.xmlAttributeCarriers }), 'utf8');
  } catch (err) {
    settle(check, err instanceof UnsupportedTransform ? indeterminate('FORMAT_FAILURE') : failed('FORMAT_FAILURE'), `SignedInfo: ${(err as Error).message}`);
    return;
  }
  let ok: boolean;
  try {
    ok = method.verify(signed, value, check.cert);
  } catch (err) {
    settle(check, failed('SIG_CRYPTO_FAILURE'), `the signature cannot be verified with the signer's key (${(err as Error).message})`);
    return;
  }
  if (!ok) settle(check, failed('SIG_CRYPTO_FAILURE'), 'the SignatureValue does not verify with the signer\'s public key');
}

/**
 * XAdES SignatureTimeStamp (ETSI EN 319 132-1 §5.3): the token's message imprint is the hash of
 * the canonicalised ds:SignatureValue element, so that is the "signature value" the time rules
 * (signature-time.ts) check a time-stamp against, the caller's supplied ones included.
 */
function stampedValue(parsed: ParsedXml, valueEl: Element, xades: Xades | null, check: SignerCheck): void {
  const algorithm = xades?.timestamps[0]?.canonicalization ?? C14N.c14n10;
  try {
    check.signatureValue = new Uint8Array(Buffer.from(canonicalize(valueEl, algorithm, { discardComments: false, xmlAttributeCarriers: parsed.xmlAttributeCarriers }), 'utf8'));
  } catch (err) {
    check.warnings.push(`SignatureTimeStamp: ${(err as Error).message}`);
    return;
  }
  if (xades?.timestamps.length) check.timestampToken = new Uint8Array(xades.timestamps[0].token);
  if ((xades?.timestamps.length ?? 0) > 1) check.warnings.push(`${xades!.timestamps.length} SignatureTimeStamps; the first is validated`);
}
