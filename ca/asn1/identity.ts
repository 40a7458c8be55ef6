/**
 * Who a certificate names, in Vietnamese terms: personal ID, tax code, budget-unit code… read from
 * the UID attributes and e-mail addresses. Used by the signature validator and certificate login,
 * for our certificates and other CAs' alike, so reading is lenient: a malformed UID is reported,
 * never thrown.
 */
import { parseCertificate, certificateFacts } from './certificate.js';
import { parseName, type DnAttribute } from './names.js';
import { parseUid, type VnIdentifier } from './vn-identifiers.js';

export interface CertificateIdentity {
  commonName: string | null;
  organization: string | null;
  organizationalUnits: string[];
  locality: string | null;
  state: string | null;
  country: string | null;
  /** emailAddress attributes and rfc822Name SANs, lower-cased, without repeats. */
  emails: string[];
  /** CCCD is preferred, then CMND, then passport. */
  personalId: { kind: 'CCCD' | 'CMND' | 'HC'; value: string } | null;
  taxCode: string | null;
  budgetCode: string | null;
  socialInsurance: string | null;
  identifiers: VnIdentifier[];
  invalidUids: { raw: string; problem: string }[];
  /** A personal ID makes a person; otherwise a tax or budget code makes an organisation (seal). */
  holder: 'person' | 'organisation' | 'unknown';
}

export function identityFromName(attributes: DnAttribute[], sanEmails: readonly string[] = []): CertificateIdentity {
  const first = (type: string) => attributes.find((a) => a.type === type)?.value ?? null;
  const parsed = attributes.filter((a) => a.type === 'UID').map((a) => parseUid(a.value));
  const identifiers = parsed.flatMap((p) => (p.ok ? [p.identifier] : []));
  const valueOf = (kind: VnIdentifier['kind']) => identifiers.find((i) => i.kind === kind)?.value ?? null;
  const personalKind = (['CCCD', 'CMND', 'HC'] as const).find((kind) => valueOf(kind) !== null);
  const personalId = personalKind ? { kind: personalKind, value: valueOf(personalKind)! } : null;
  const taxCode = valueOf('MST');
  const budgetCode = valueOf('MNS');
  const emails = [...attributes.filter((a) => a.type === 'E').map((a) => a.value), ...sanEmails].map((e) => e.toLowerCase());
  return {
    commonName: first('CN'),
    organization: first('O'),
    organizationalUnits: attributes.filter((a) => a.type === 'OU').map((a) => a.value),
    locality: first('L'),
    state: first('ST'),
    country: first('C'),
    emails: [...new Set(emails)],
    personalId,
    taxCode,
    budgetCode,
    socialInsurance: valueOf('BHXH'),
    identifiers,
    invalidUids: parsed.flatMap((p) => (p.ok ? [] : [{ raw: p.raw, problem: p.problem }])),
    holder: personalId ? 'person' : taxCode || budgetCode ? 'organisation' : 'unknown',
  };
}

/** The identity named by a certificate (PEM or DER). */
export function certificateIdentity(certificate: string | Uint8Array): CertificateIdentity {
  const facts = certificateFacts(parseCertificate(certificate).certificate);
  return identityFromName(parseName(facts.subject, 'badCertificate'), facts.emails);
}
