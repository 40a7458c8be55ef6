/**
 * Personal identifiers in registry answers (docs/ca.md, "Personal data"): Decree 13/2023/NĐ-CP
 * treats national ID, tax and social-insurance numbers as personal data, processed only as needed.
 * Without the scope `certs:read:pii` every one of them shows only its last four digits, the same
 * rule wherever the registry is shown: `********1234` (eight stars whatever the length, so the
 * kind of number does not leak through it).
 */
import type { CertificateRecord } from '../../ca/records.js';
import { identifierKinds } from '../../ca/asn1/vn-identifiers.js';

export const PII_SCOPE = 'certs:read:pii';

export function maskIdentifier(value: string): string;
export function maskIdentifier(value: string | null): string | null;
export function maskIdentifier(value: string | null): string | null {
  if (value === null) return null;
  return `********${value.slice(-4)}`;
}

// `UID=CCCD:094185000321` in a formatted subject (ca/asn1/names.ts formatName), any kind of ours.
const uidInSubject = new RegExp(`\\b(${identifierKinds.join('|')}):([^,+\\s]+)`, 'g');

export const maskSubject = (dn: string | null): string | null => (dn === null ? null : dn.replace(uidInSubject, (_m, kind: string, value: string) => `${kind}:${maskIdentifier(value)}`));

/** The profiles of organisations and servers (the public pages list them, and serve their files). */
export const ORGANISATION_PROFILES = ['organisation-seal', 'tls-server'] as const;

/** Personal identifiers in a subject (UID `CCCD:`, `CMND:`, `HC:` prefixes, docs/ca.md). */
const PERSONAL_UID = /\b(CCCD|CMND|HC):/;

/** An individual's certificate: by profile, by a recorded national ID, or by a personal UID in its subject. */
export function isIndividual(c: CertificateRecord): boolean {
  return !(ORGANISATION_PROFILES as readonly string[]).includes(c.profileId ?? '') || !!c.nationalId || PERSONAL_UID.test(c.subjectDn ?? '');
}

/** Fields of audit details that hold an identifier number itself (a search's filter, a looked-up person). */
const IDENTIFIER_FIELDS = new Set(['nationalId', 'taxCode', 'budgetCode', 'national_id', 'tax_code']);
/** Fields holding what someone typed, which may be a number (a free-text search, a login name). */
const TYPED_FIELDS = new Set(['q', 'login']);

/**
 * Every string inside a JSON value (an audit event's details) with identifiers masked: in
 * subjects (`UID=CCCD:…`), in the fields that hold a number itself (a search by national ID
 * recorded in a `certificate.read_pii` event), and runs of six or more digits in what someone
 * typed (a free-text search, a login by national ID).
 */
export function maskIdentifiersIn(value: unknown, field?: string): unknown {
  if (typeof value === 'string') {
    if (field && IDENTIFIER_FIELDS.has(field)) return maskIdentifier(value);
    if (field && TYPED_FIELDS.has(field)) return maskSubject(value)!.replace(/\d{6,}/g, (digits) => maskIdentifier(digits));
    return maskSubject(value);
  }
  if (Array.isArray(value)) return value.map((v) => maskIdentifiersIn(v, field));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskIdentifiersIn(v, k)]));
  return value;
}

/** The record as a reader without `certs:read:pii` sees it. */
export function maskCertificate(c: CertificateRecord): CertificateRecord {
  return { ...c, subjectDn: maskSubject(c.subjectDn), nationalId: maskIdentifier(c.nationalId), taxCode: maskIdentifier(c.taxCode), budgetCode: maskIdentifier(c.budgetCode) };
}

/** Whether a record carries an identifier at all (a read of it with the scope is audited). */
const uidPresent = new RegExp(`\\b(${identifierKinds.join('|')}):`);
export const carriesIdentifier = (c: CertificateRecord) => !!(c.nationalId || c.taxCode || c.budgetCode || (c.subjectDn && uidPresent.test(c.subjectDn)));

/** Whether a subject (a request's, say) carries an identifier that masking would hide. */
export const subjectCarriesIdentifier = (dn: string | null) => !!dn && uidPresent.test(dn);

/** Whether a JSON value (an audit event's details) shows anything that `maskIdentifiersIn` would mask. */
export const containsIdentifier = (value: unknown): boolean => JSON.stringify(maskIdentifiersIn(value)) !== JSON.stringify(value);

/**
 * A free-text search that could find a person by number: a run of six or more digits that is not
 * a whole serial (serials are 20 or more hexadecimal digits; no identifier is that long).
 */
export const looksLikeIdentifierSearch = (text: string | undefined) => !!text && /\d{6,}/.test(text) && !/^[0-9a-f:]{20,}$/i.test(text.trim());
