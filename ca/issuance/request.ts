/**
 * What is to be certified: a public key and the names the CA will write. It comes from a CSR, with
 * the holder data the RA vouches for replacing what the holder's token tool wrote: the CA never
 * copies a CSR's subject bytes, it re-encodes names itself (as Boulder does).
 */
import { CaError } from '../errors.js';
import { fieldsFromAttributes, type SubjectFields } from '../asn1/names.js';
import type { ParsedCsr } from './csr.js';

export interface IssuanceRequest {
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  subject: SubjectFields;
  /** rfc822Name subjectAltNames (an `E` attribute is added here by the name policy). */
  emails: string[];
  /** dNSName subjectAltNames */
  dnsNames: string[];
}

export interface HolderData {
  subject?: SubjectFields;
  emails?: string[];
  dnsNames?: string[];
}

export function requestFromCsr(csr: ParsedCsr, holder: HolderData = {}): IssuanceRequest {
  if (csr.requestedOtherNames.length) {
    // docs/ca.md, "Name policy": IP addresses are refused (no profile certifies them), like every
    // other name type but e-mail and DNS.
    const ip = csr.requestedOtherNames.some((n) => n.startsWith('iPAddress')) ? 'ip-address: no profile certifies IP addresses; ' : '';
    throw new CaError('policyViolation', `${ip}CSR requests subjectAltName entries the CA does not issue: ${csr.requestedOtherNames.join(', ')}`);
  }
  let subject = holder.subject;
  if (!subject) {
    const { fields, problems } = fieldsFromAttributes(csr.subject);
    if (problems.length) throw new CaError('policyViolation', `CSR subject: ${problems.join('; ')}`, { problems });
    subject = fields;
  }
  return { spki: csr.spki, subject, emails: holder.emails ?? csr.requestedEmails, dnsNames: holder.dnsNames ?? csr.requestedDnsNames };
}

/** A request for a key the CA holds itself (its own CA and OCSP-signer certificates). */
export function requestForKey(spki: Uint8Array, subject: SubjectFields, names: { emails?: readonly string[]; dnsNames?: readonly string[] } = {}): IssuanceRequest {
  return { spki, subject, emails: [...(names.emails ?? [])], dnsNames: [...(names.dnsNames ?? [])] };
}
