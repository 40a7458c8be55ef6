import { revocationReasons, type RevocationReason } from '../../ca/status/crl/crl.js';

/** The registry's domain types: what storage returns and services and routers use. */
export type CertificateStatus = 'good' | 'revoked' | 'hold';

/** RFC 5280 §5.3.1 reasons a certificate can have in the registry (removeFromCRL is for delta CRLs only). */
export type RevocationReasonName = Exclude<RevocationReason, 'removeFromCRL'>;
export const REVOCATION_REASONS = (Object.keys(revocationReasons) as RevocationReason[]).filter((r): r is RevocationReasonName => r !== 'removeFromCRL');

export interface CertificateRecord extends Omit<HolderFacts, 'subjectDn'> {
  issuerId: string;
  serial: string;
  /**
   * reserved: the TBS is recorded and the key is about to sign (crash recovery finishes it);
   * abandoned: reserved, but its request changed before it was recorded (the serial stays used).
   */
  state: 'reserved' | 'abandoned' | 'issued' | 'imported';
  der: Buffer | null;
  tbs: Buffer | null;
  profileId: string | null;
  requestId: string | null;
  publicKeyFingerprint: string;
  notBefore: Date;
  notAfter: Date;
  status: CertificateStatus;
  revokedAt: Date | null;
  revocationReason: RevocationReasonName | null;
  invalidityDate: Date | null;
  statusChangedAt: Date;
  /** Null only for rows written before the holder was known (never for issued certificates). */
  subjectDn: string | null;
  source: 'issued' | 'imported';
  /** Where the status comes from: our registry, or an imported certificate's issuer (ocsp:/crl: URL). */
  statusSource: string;
  predecessorSerial: string | null;
  createdAt: Date;
}

export interface HolderFacts {
  subjectDn: string;
  holderName: string | null;
  nationalId: string | null;
  taxCode: string | null;
  budgetCode: string | null;
  agency: string | null;
  email: string | null;
}

export interface CertificateSearch {
  text?: string;
  nationalId?: string;
  taxCode?: string;
  agency?: string;
  status?: CertificateStatus | 'expired';
  profileId?: string;
  issuerId?: string;
  expiresWithinDays?: number;
  limit: number;
  offset: number;
}

export interface IssuerRow {
  id: string;
  role: 'root' | 'issuing' | 'ocsp-signer' | 'external';
  keyUri: string | null;
  certificate: Buffer | null;
  csr: Buffer | null;
  signatureAlgorithm: unknown;
  parentId: string | null;
  status: 'pending' | 'active' | 'retired';
  subjectDn: string | null;
  keyIdentifier: string | null;
  createdAt: Date;
}

export type RequestStatus = 'pending' | 'approved' | 'issued' | 'rejected';

export interface CertificateRequestRecord {
  id: string;
  profileId: string;
  issuerId: string;
  csr: Buffer;
  holder: Record<string, unknown>;
  subjectDn: string;
  publicKeyFingerprint: string;
  requestedBy: string;
  status: RequestStatus;
  approvalsRequired: number;
  approvals: Array<{ approver: string; approvedAt: Date }>;
  rejectReason: string | null;
  certificateSerial: string | null;
  predecessorSerial: string | null;
  createdAt: Date;
  updatedAt: Date;
}
