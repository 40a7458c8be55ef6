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

/** The first identifier of `kind` (module-level, not closures per call: a new signer's name is read per cold validation). */
function valueOf(identifiers: readonly VnIdentifier[], kind: VnIdentifier['kind']): string | null {
  for (const i of identifiers) if (i.kind === kind) return i.value;
  return null;
}
const PERSONAL_KINDS = ['CCCD', 'CMND', 'HC'] as const;

export function identityFromName(attributes: DnAttribute[], sanEmails: readonly string[] = []): CertificateIdentity {
  // One pass over the attributes (the validator reads every new signer's name: `--cpu-prof`).
  let commonName: string | null = null;
  let organization: string | null = null;
  let locality: string | null = null;
  let state: string | null = null;
  let country: string | null = null;
  const organizationalUnits: string[] = [];
  const parsed: ReturnType<typeof parseUid>[] = [];
  const emails: string[] = [];
  for (const a of attributes) {
    switch (a.type) {
      case 'CN':
        commonName ??= a.value;
        break;
      case 'O':
        organization ??= a.value;
        break;
      case 'L':
        locality ??= a.value;
        break;
      case 'ST':
        state ??= a.value;
        break;
      case 'C':
        country ??= a.value;
        break;
      case 'OU':
        organizationalUnits.push(a.value);
        break;
      case 'UID':
        parsed.push(parseUid(a.value));
        break;
      case 'E':
        emails.push(a.value.toLowerCase());
        break;
    }
  }
  for (const e of sanEmails) emails.push(e.toLowerCase());
  const identifiers: VnIdentifier[] = [];
  const invalidUids: CertificateIdentity['invalidUids'] = [];
  for (const p of parsed) {
    if (p.ok) identifiers.push(p.identifier);
    else invalidUids.push({ raw: p.raw, problem: p.problem });
  }
  let personalId: CertificateIdentity['personalId'] = null;
  for (const kind of PERSONAL_KINDS) {
    const value = valueOf(identifiers, kind);
    if (value !== null) {
      personalId = { kind, value };
      break;
    }
  }
  const taxCode = valueOf(identifiers, 'MST');
  const budgetCode = valueOf(identifiers, 'MNS');
  return {
    commonName,
    organization,
    organizationalUnits,
    locality,
    state,
    country,
    emails: [...new Set(emails)],
    personalId,
    taxCode,
    budgetCode,
    socialInsurance: valueOf(identifiers, 'BHXH'),
    identifiers,
    invalidUids,
    holder: personalId ? 'person' : taxCode || budgetCode ? 'organisation' : 'unknown',
  };
}

/** The identity named by a certificate (PEM or DER). */
export function certificateIdentity(certificate: string | Uint8Array): CertificateIdentity {
  const facts = certificateFacts(parseCertificate(certificate).certificate);
  return identityFromName(parseName(facts.subject, 'badCertificate'), facts.emails);
}
