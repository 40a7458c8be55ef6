/**
 * What the CA keeps, as the storage returns it through the ports (ca/ports.ts): its issuers, the
 * registry of the certificates it issued or imported, and the RA's requests. Serials are
 * lower-case hex of the INTEGER's content octets (hexFromInteger in ca/asn1/der.ts); key
 * fingerprints are publicKeyFingerprint (ca/asn1/public-key.ts).
 */
import type { SignatureAlgorithm } from './asn1/algorithms.js';
import { revocationReasons, type RevocationReason } from './status/crl/revocation-reasons.js';

export type CertificateStatus = 'good' | 'revoked' | 'hold';

/** RFC 5280 §5.3.1 reasons a certificate can have in the registry (removeFromCRL is for delta CRLs only). */
export type RevocationReasonName = Exclude<RevocationReason, 'removeFromCRL'>;
export const REVOCATION_REASONS = (Object.keys(revocationReasons) as RevocationReason[]).filter((r): r is RevocationReasonName => r !== 'removeFromCRL');

/** Who a certificate names, as the registry indexes it (from the subject the CA writes). */
export interface HolderFacts {
  subjectDn: string;
  holderName: string | null;
  nationalId: string | null;
  taxCode: string | null;
  budgetCode: string | null;
  agency: string | null;
  email: string | null;
}

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

/** A registry query (the console's and the API's search); `expired` is a status here. */
/**
 * A registry query. Text filters compare folded forms (src/text/folding.ts): case, NFC/NFD and
 * diacritics do not matter. Order: newest first; with `expiresWithinDays`, soonest expiry first.
 */
export interface CertificateSearch {
  /** Part of the holder name, subject DN, e-mail address or serial. */
  text?: string;
  nationalId?: string;
  taxCode?: string;
  /** The agency's name or its beginning ("Sở Y tế" finds "SỞ Y TẾ TỈNH SÓC TRĂNG"). */
  agency?: string;
  /** The agency's whole name (bulk revocation: exactly that agency), folded like `agency`. */
  agencyExact?: string;
  status?: CertificateStatus | 'expired';
  profileId?: string;
  issuerId?: string;
  expiresWithinDays?: number;
  limit: number;
  offset: number;
  /** Keyset pagination: the `nextCursor` of the previous page (then `offset` is ignored). */
  cursor?: string;
  /** Count matches exactly up to this many; beyond, `total` is this and `totalExact` false. */
  countLimit?: number;
}

/** One page of a registry query. */
export interface CertificateSearchPage {
  items: CertificateRecord[];
  /** Every match, or `countLimit` when there are more (`totalExact` false). */
  total: number;
  totalExact: boolean;
  /** The cursor of the next page, null on the last one. */
  nextCursor: string | null;
}

/**
 * A CA certificate the service signs with (several may be active during key rollover), or an
 * external issuer of imported certificates (no key, no certificate).
 */
export interface IssuerRecord {
  /** URL-safe id: `${publicUrl}/crl/<id>.crl`, `${publicUrl}/ca/<id>.crt`. */
  id: string;
  role: 'root' | 'issuing' | 'ocsp-signer' | 'report-signer' | 'external';
  /** KeyStore URI, e.g. `file:issuing-2025`; null for an external issuer. */
  keyUri: string | null;
  /** DER; null for an issuing CA whose CSR went to an external root and has not come back. */
  certificate: Buffer | null;
  /** The PKCS#10 request of such an issuing CA. */
  csr: Buffer | null;
  /** How its key signs (null: the key type's default, or an external issuer). */
  signatureAlgorithm: SignatureAlgorithm | null;
  /** The issuer that certified it (null for a root or an external parent). */
  parentId: string | null;
  status: 'pending' | 'active' | 'retired';
  subjectDn: string | null;
  /** Hex of its subjectKeyIdentifier: how imported certificates are matched to it (their AKI). */
  keyIdentifier: string | null;
  createdAt: Date;
  /** When every OCSP node confirmed it answers for this issuer; null until then (new certificates wait). */
  announcedAt?: Date | null;
}

export type RequestStatus = 'pending' | 'approved' | 'issued' | 'rejected';

/** BR §3.2.2.4-style ways an officer checked that the requester controls a DNS name. */
export const NAME_CONTROL_METHODS = ['dns-change', 'http-file', 'domain-contact', 'agency-zone-record'] as const;

/** What an approving officer records for one DNS name of a request (docs/ca.md, "Name policy"). */
export interface NameControlEvidence {
  name: string;
  method: (typeof NAME_CONTROL_METHODS)[number];
  /** What was checked and its result: the TXT record, the file URL, the ticket of the zone registry… */
  evidence: string;
}

/** A certificate request at the RA, with its approvals (dual control). */
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
  approvals: Array<{ approver: string; approvedAt: Date; nameControl: NameControlEvidence[] | null }>;
  rejectReason: string | null;
  certificateSerial: string | null;
  predecessorSerial: string | null;
  createdAt: Date;
  updatedAt: Date;
}
