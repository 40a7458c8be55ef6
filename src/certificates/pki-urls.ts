import { isLocalUrl } from '../config/pki-base-url.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';

/**
 * CDP, OCSP and caIssuers URLs of a certificate that only its own machine can reach (a CA made
 * while PUBLIC_URL was unset baked `http://localhost:3000/…` into a 10-year certificate).
 * `ca show` reports them; the cure is a new issuing CA (`ca rotate`) under PKI_BASE_URL.
 */
export function bakedLocalUrls(certificate: Uint8Array): string[] {
  const facts = certificateFacts(parseCertificate(certificate).certificate);
  return [...facts.crlUrls, ...facts.ocspUrls, ...facts.caIssuersUrls].filter(isLocalUrl);
}
