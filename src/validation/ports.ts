/**
 * What the validator needs from storage, nothing more (the consumer owns its ports). Implemented
 * by src/storage repositories and wired in src/service/service.ts.
 */
import type { CertificateRecord } from '../../ca/records.js';

export type TrustKind = 'anchor' | 'intermediate';

export interface TrustEntry {
  sha256: string;
  kind: TrustKind;
  der: Buffer;
  subjectDn: string;
  notAfter: Date;
  label: string | null;
  /** An anchor trusted for time-stamping: a TSA's chain may end here (docs/validation.md). */
  timestamping: boolean;
  addedBy: string;
  addedAt: Date;
}

/** The operator-managed part of the trust store (`tinnhiem trust add|list|remove`). */
export interface TrustEntryPort {
  list(): Promise<TrustEntry[]>;
  /** Adds the entry and its audit event in one transaction; false when it was already there. */
  add(actor: string, entry: Omit<TrustEntry, 'addedAt' | 'addedBy'>): Promise<boolean>;
  /** Removes it and audits; false when there was nothing to remove. */
  remove(actor: string, sha256: string): Promise<boolean>;
}

export interface OurIssuer {
  id: string;
  role: 'root' | 'issuing' | 'ocsp-signer' | 'report-signer' | 'external';
  status: 'pending' | 'active' | 'retired';
  certificate: Buffer | null;
}

/**
 * What validation reads of one of our certificates: its status and the SHA-256 of its DER (to
 * tell it from another certificate under the same serial), not the whole row (its DER, TBS and
 * holder columns were a third of each read on the embedded database).
 */
export type RegistryStatus = Pick<CertificateRecord, 'status' | 'revokedAt' | 'revocationReason' | 'invalidityDate' | 'statusChangedAt'> & {
  /** Hex; null for a reservation that has no certificate yet. */
  derSha256: string | null;
};

/** Our CA hierarchy and registry: the revocation source for the certificates we issued. */
export interface RegistryPort {
  issuers(): Promise<OurIssuer[]>;
  certificate(issuerId: string, serial: string): Promise<RegistryStatus | null>;
}
