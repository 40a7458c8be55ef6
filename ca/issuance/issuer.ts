/** An issuing CA as the builder, linter and signer see it: its name, key, validity and URLs. */
import { CaError } from '../errors.js';
import { defaultSignatureAlgorithm, type SignatureAlgorithm } from '../asn1/algorithms.js';
import { certificateFacts, parseCertificate } from '../asn1/certificate.js';
import { describePublicKey, keyIdentifier } from '../asn1/public-key.js';

/** Where relying parties fetch an issuer's CRLs, certificate and OCSP answers. */
export interface IssuerUrls {
  crl: string;
  deltaCrl: string;
  caIssuers: string;
  ocsp: string;
}

export const issuerIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The URL layout the HTTP front end serves (`${publicUrl}/crl/<id>.crl`, …). */
export function issuerUrls(publicUrl: string, issuerId: string): IssuerUrls {
  if (!issuerIdPattern.test(issuerId)) throw new CaError('misconfigured', `issuer id "${issuerId}" must be lower-case letters, digits and "-"`);
  const base = publicUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(base)) throw new CaError('misconfigured', `public URL "${publicUrl}" must be an absolute http(s) URL`);
  return {
    crl: `${base}/crl/${issuerId}.crl`,
    deltaCrl: `${base}/crl/${issuerId}-delta.crl`,
    caIssuers: `${base}/ca/${issuerId}.crt`,
    ocsp: `${base}/ocsp`,
  };
}

export interface Issuer {
  id: string;
  /** DER of the issuer's subject Name: the issuer field of what it signs. */
  subject: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** Its SKI: the keyIdentifier of the AKI of what it signs (RFC 5280 §4.2.1.1). */
  keyIdentifier: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** null = no constraint */
  pathLenConstraint: number | null;
  signatureAlgorithm: SignatureAlgorithm;
  urls: IssuerUrls;
  /** DER; null only while a self-signed root is being built. */
  certificate: Uint8Array | null;
}

export interface IssuerFromCertificate {
  id: string;
  certificate: string | Uint8Array;
  publicUrl: string;
  /** How its key signs; defaults from the key type (SHA-256, SHA-384 for P-384). Pass the SigningKey's. */
  signatureAlgorithm?: SignatureAlgorithm;
}

/**
 * Describes an issuer from its certificate, refusing certificates that cannot issue: not a CA
 * (RFC 5280 §4.2.1.9), or without keyCertSign when key usage is present (§4.2.1.3).
 */
export function issuerFromCertificate(params: IssuerFromCertificate): Issuer {
  const { der, certificate } = parseCertificate(params.certificate, `issuer ${params.id} certificate`);
  const facts = certificateFacts(certificate);
  if (!facts.ca) throw new CaError('badCertificate', `issuer ${params.id}: the certificate is not a CA certificate (basicConstraints cA is not TRUE)`);
  if (facts.keyUsage && !facts.keyUsage.includes('keyCertSign')) {
    throw new CaError('badCertificate', `issuer ${params.id}: the certificate's key usage lacks keyCertSign`);
  }
  const computedKeyId = keyIdentifier(facts.spki);
  return {
    id: params.id,
    subject: facts.subject,
    spki: facts.spki,
    // Other CAs may have computed their SKI differently: theirs is what chains (RFC 5280 §4.2.1.1).
    keyIdentifier: facts.subjectKeyIdentifier ?? computedKeyId,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    pathLenConstraint: facts.pathLenConstraint,
    signatureAlgorithm: params.signatureAlgorithm ?? defaultSignatureAlgorithm(describePublicKey(facts.spki)),
    urls: issuerUrls(params.publicUrl, params.id),
    certificate: der,
  };
}
