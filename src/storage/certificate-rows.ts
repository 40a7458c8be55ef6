/** The `certificates` table's rows as the registry's domain type, shared by its repositories. */
import { normalise } from './db.js';
import { compactText, foldOptional, registrySearchText } from '../text/folding.js';
import type { CertificateRecord, CertificateStatus, HolderFacts, RevocationReasonName } from '../../ca/records.js';

export type Row = Record<string, unknown>;
export const date = (v: unknown): Date | null => (v == null ? null : normalise.date(v as Date | string));
export const bytes = (v: unknown): Buffer | null => normalise.bytes(v as Buffer | Uint8Array | null);

/** Rows that are certificates (not reservations): what the registry shows and answers for. */
export const REGISTERED_STATES = ['issued', 'imported'] as const;

export function toCertificate(r: Row): CertificateRecord {
  return {
    issuerId: r.issuer_id as string,
    serial: r.serial as string,
    state: r.state as CertificateRecord['state'],
    der: bytes(r.der),
    tbs: bytes(r.tbs),
    profileId: (r.profile_id as string) ?? null,
    requestId: (r.request_id as string) ?? null,
    publicKeyFingerprint: r.public_key_fingerprint as string,
    notBefore: date(r.not_before)!,
    notAfter: date(r.not_after)!,
    status: r.status as CertificateStatus,
    revokedAt: date(r.revoked_at),
    revocationReason: (r.revocation_reason as RevocationReasonName) ?? null,
    invalidityDate: date(r.invalidity_date),
    statusChangedAt: date(r.status_changed_at)!,
    subjectDn: (r.subject_dn as string) ?? null,
    holderName: (r.holder_name as string) ?? null,
    nationalId: (r.national_id as string) ?? null,
    taxCode: (r.tax_code as string) ?? null,
    budgetCode: (r.budget_code as string) ?? null,
    agency: (r.agency as string) ?? null,
    email: (r.email as string) ?? null,
    source: r.source as CertificateRecord['source'],
    statusSource: r.status_source as string,
    predecessorSerial: (r.predecessor_serial as string) ?? null,
    createdAt: date(r.created_at)!,
  };
}

/** The holder's columns, with their folded forms (src/text/folding.ts) that search and filters compare. */
export const holderColumns = (h: HolderFacts, serial: string) => {
  const searchFolded = registrySearchText({ ...h, serial });
  return {
    search_folded: searchFolded,
    search_compact: compactText(searchFolded),
    agency_folded: foldOptional(h.agency),
    subject_dn: h.subjectDn,
    holder_name: h.holderName,
    national_id: h.nationalId,
    tax_code: h.taxCode,
    budget_code: h.budgetCode,
    agency: h.agency,
    email: h.email,
  };
};
