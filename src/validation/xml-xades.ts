/**
 * XAdES qualifying properties (ETSI EN 319 132-1): SigningTime, SigningCertificate (v1.3.2) and
 * SigningCertificateV2, SignaturePolicyIdentifier (EPES) and SignatureTimeStamp (T). Read from
 * the ds:Object of the signature whose QualifyingProperties Target names it; whether a reference
 * covers the SignedProperties is checked by the caller.
 */
import { createHash } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import type { Cert } from './cert.js';
import { DIGESTS } from './xml-algorithms.js';
import { C14N } from './xml-c14n.js';
import { child, children, textOf } from './xml-document.js';

export const DS = 'http://www.w3.org/2000/09/xmldsig#';
export const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
export const SIGNED_PROPERTIES_TYPE = 'http://uri.etsi.org/01903#SignedProperties';

export interface Xades {
  signedProperties: Element | null;
  signingTime: Date | null;
  /** Certificate digests named by SigningCertificate(V2): algorithm and value. */
  certDigests: Array<{ hash: string | null; value: Buffer }>;
  hasSigningCertificate: boolean;
  policy: { identifier: string | null; implied: boolean; digestAlgorithm: string | null; digestValue: string | null } | null;
  timestamps: Array<{ token: Buffer; canonicalization: string }>;
  problems: string[];
}

const base64 = (el: Element | null): Buffer => Buffer.from(textOf(el).replace(/\s+/g, ''), 'base64');

/** The QualifyingProperties of `signature`, or null when it has none (a plain XMLDSig signature). */
export function readXades(signature: Element): Xades | null {
  const id = signature.getAttribute('Id');
  const qualifying = children(signature, DS, 'Object').flatMap((o) => children(o, XADES, 'QualifyingProperties'));
  if (!qualifying.length) return null;
  const result: Xades = { signedProperties: null, signingTime: null, certDigests: [], hasSigningCertificate: false, policy: null, timestamps: [], problems: [] };
  if (qualifying.length > 1) result.problems.push('more than one QualifyingProperties');
  const qp = qualifying[0];
  if (!id || qp.getAttribute('Target') !== `#${id}`) result.problems.push(`QualifyingProperties Target "${qp.getAttribute('Target') ?? ''}" does not name this signature${id ? ` (#${id})` : ' (which has no Id)'}`);
  const signed = children(qp, XADES, 'SignedProperties');
  if (signed.length !== 1) result.problems.push('QualifyingProperties must hold exactly one SignedProperties');
  result.signedProperties = signed[0] ?? null;
  const ssp = result.signedProperties && child(result.signedProperties, XADES, 'SignedSignatureProperties');
  if (ssp) readSignedSignatureProperties(ssp, result);
  const usp = child(qp, XADES, 'UnsignedProperties');
  const unsignedSig = usp && child(usp, XADES, 'UnsignedSignatureProperties');
  for (const ts of unsignedSig ? children(unsignedSig, XADES, 'SignatureTimeStamp') : []) {
    const encapsulated = children(ts, XADES, 'EncapsulatedTimeStamp');
    if (encapsulated.length !== 1) {
      result.problems.push('a SignatureTimeStamp must hold exactly one EncapsulatedTimeStamp');
      continue;
    }
    const c14n = child(ts, DS, 'CanonicalizationMethod')?.getAttribute('Algorithm') ?? C14N.c14n10;
    result.timestamps.push({ token: base64(encapsulated[0]), canonicalization: c14n });
  }
  return result;
}

function readSignedSignatureProperties(ssp: Element, result: Xades): void {
  const time = child(ssp, XADES, 'SigningTime');
  if (time) {
    const parsed = new Date(textOf(time).trim());
    if (Number.isNaN(parsed.getTime())) result.problems.push('SigningTime is not an xsd:dateTime');
    else result.signingTime = parsed;
  }
  const v2 = child(ssp, XADES, 'SigningCertificateV2');
  const v1 = child(ssp, XADES, 'SigningCertificate');
  const holder = v2 ?? v1;
  if (holder) {
    result.hasSigningCertificate = true;
    for (const cert of children(holder, XADES, 'Cert')) {
      const digest = child(cert, XADES, 'CertDigest');
      const method = digest && child(digest, DS, 'DigestMethod');
      const value = digest && child(digest, DS, 'DigestValue');
      if (!method || !value) {
        result.problems.push('a SigningCertificate Cert without CertDigest');
        continue;
      }
      result.certDigests.push({ hash: DIGESTS[method.getAttribute('Algorithm') ?? ''] ?? null, value: base64(value) });
    }
  }
  const policy = child(ssp, XADES, 'SignaturePolicyIdentifier');
  if (policy) {
    const explicit = child(policy, XADES, 'SignaturePolicyId');
    const identifier = explicit && child(explicit, XADES, 'SigPolicyId');
    const hash = explicit && child(explicit, XADES, 'SigPolicyHash');
    result.policy = {
      identifier: identifier ? textOf(child(identifier, XADES, 'Identifier')).trim() || null : null,
      implied: !explicit && !!child(policy, XADES, 'SignaturePolicyImplied'),
      digestAlgorithm: hash ? (child(hash, DS, 'DigestMethod')?.getAttribute('Algorithm') ?? null) : null,
      digestValue: hash ? textOf(child(hash, DS, 'DigestValue')).trim() || null : null,
    };
    if (!explicit && !result.policy.implied) result.problems.push('SignaturePolicyIdentifier holds neither SignaturePolicyId nor SignaturePolicyImplied');
  }
}

/** Does SigningCertificate(V2) name this certificate (by the digest of its DER)? */
export function namesCertificate(xades: Xades, cert: Cert): boolean {
  return xades.certDigests.some((d) => d.hash !== null && createHash(d.hash).update(cert.der).digest().equals(d.value));
}
