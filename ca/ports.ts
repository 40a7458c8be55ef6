/**
 * The ports the CA needs from the rest of the service (docs/architecture.md: the consumer owns
 * them, narrow). src/storage implements them with knex (src/storage/ca-storage.ts puts them
 * together); the CA services in src/certificates reach storage through nothing else and never see
 * SQL. Nothing in ca/ imports this file: it sits on top, so dependencies point one way.
 *
 * Transactions: `Tx` is the storage's transaction handle, opaque here. Every method takes it as
 * its FIRST parameter: the transaction of the unit of work it belongs to (its audit event commits
 * with it), or `null` to run on its own (reads outside a transaction, and the one write that must
 * outlive a rolled-back transaction, `abandon`). The embedded database has one connection: inside
 * a transaction, a call with `null` would wait for it forever.
 */
import type { CrlEntry, EncodedEntries } from './status/crl/crl.js';
import type {
  CertificateRecord,
  CertificateRequestRecord,
  CertificateSearch,
  CertificateSearchPage,
  CertificateStatus,
  HolderFacts,
  IssuerRecord,
  NameControlEvidence,
  RequestStatus,
  RevocationReasonName,
} from './records.js';

export type { RandomBytes } from './random.js';

/** Time, injected (tests move it): every "now" of the CA comes from here. */
export interface Clock {
  now(): Date;
}

/** Runs a unit of work in one transaction, committed when `work` resolves, rolled back when it throws. */
export interface Transactions<Tx> {
  withTransaction<T>(work: (trx: Tx) => Promise<T>): Promise<T>;
}

export interface AuditEntry {
  /** `user:<id>`, `cli:<os user>`, `system`. */
  actor: string;
  /** Dotted verb: `certificate.issue`, `crl.generate`, … */
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
}

/** Every state change of the CA appends its audit event in the same transaction (docs/audit.md). */
export interface AuditTrail<Tx> {
  append(trx: Tx, entry: AuditEntry): Promise<unknown>;
}

/** Batch issuance: several events appended in order under one lock, the same chain as `append`. */
export interface AuditBatch<Tx> {
  appendMany(trx: Tx, entries: readonly AuditEntry[]): Promise<unknown>;
}

/** The CA's issuers: its own hierarchy, and external issuers of imported certificates. */
export interface IssuerStore<Tx> {
  /** Oldest first: the newest active issuing CA is the last of its role. */
  list(trx: Tx | null): Promise<IssuerRecord[]>;
  get(trx: Tx | null, id: string): Promise<IssuerRecord | null>;
  /** Inserts; a duplicate id fails (the caller picked a fresh one). */
  add(trx: Tx, issuer: Omit<IssuerRecord, 'createdAt'>, now: Date): Promise<void>;
  /** Installs the certificate an external root signed for a pending issuer, and activates it. */
  activate(trx: Tx, id: string, certificate: { der: Buffer; subjectDn: string; keyIdentifier: string | null }, now: Date): Promise<void>;
  /** Points the issuer at its key in another store (the root key moved away from MASTER_PASSPHRASE). */
  setKeyUri(trx: Tx, id: string, keyUri: string, now: Date): Promise<void>;
  /** Records that every OCSP node answers for the issuer (IssuerRecord.announcedAt). */
  markAnnounced(trx: Tx, id: string, now: Date): Promise<void>;
}

/** What is recorded before signing (Boulder's "precertificate" step). */
export interface IssuanceIntent {
  issuerId: string;
  serial: string;
  /** The linted TBSCertificate: after a crash the certificate is re-signed from it, identically. */
  tbs: Uint8Array;
  profileId: string;
  /** The RA request this certificate answers, if any. */
  requestId: string | null;
  publicKeyFingerprint: string;
  notBefore: Date;
  notAfter: Date;
  /** Renewal or re-key: the certificate this one replaces. */
  predecessorSerial: string | null;
  holder: HolderFacts;
}

/** A certificate of another CA (or of ours, from elsewhere) taken into the registry. */
export interface ImportedCertificate {
  issuerId: string;
  serial: string;
  der: Uint8Array;
  publicKeyFingerprint: string;
  notBefore: Date;
  notAfter: Date;
  holder: HolderFacts;
  /** `registry`, or where its issuer publishes the status (`ocsp:<url>`, `crl:<url>`). */
  statusSource: string;
}

/** RFC 5280 §5.3.1: a revocation, a hold, or a release back to good. */
export interface StatusChange {
  status: CertificateStatus;
  revokedAt: Date | null;
  reason: RevocationReasonName | null;
  invalidityDate: Date | null;
  /** The CRL entry's DER for a revoked or held certificate (crlEntryDer), null when good. */
  crlEntry?: Uint8Array | null;
}

/**
 * The issuance ledger: every certificate from its reservation to its revocation. `reserve`
 * commits the serial (unique per issuer by constraint, even between nodes) and the intent before
 * the key signs; `record` commits the certificate with its audit event; an intent without a
 * certificate after a crash is finished by re-signing its TBS, so no signed certificate is ever
 * unrecorded and no serial is ever used twice.
 */
export interface IssuanceLedger<Tx> {
  /** False when the serial is already taken (the caller draws another). */
  reserve(trx: Tx, intent: IssuanceIntent, now: Date): Promise<boolean>;
  /** The signed certificate of a reservation; a serial that was not reserved is an error. */
  record(trx: Tx, issuerId: string, serial: string, der: Uint8Array): Promise<void>;
  /** A reservation that must never become a certificate (its request changed): the serial stays used. */
  abandon(trx: Tx | null, issuerId: string, serial: string): Promise<void>;
  /** Reserved but never recorded (crash recovery). */
  unfinished(trx: Tx | null): Promise<CertificateRecord[]>;
  /** Key policy: is this public key in another certificate that is neither expired nor revoked at `now`? */
  isPublicKeyInUse(trx: Tx | null, fingerprint: string, now: Date): Promise<boolean>;
  /** False when the registry already has it. */
  importCertificate(trx: Tx, certificate: ImportedCertificate, now: Date): Promise<boolean>;
  /** Issued or imported certificates with this serial, across issuers (random serials rarely collide). */
  bySerial(trx: Tx | null, serial: string, options?: { forUpdate?: boolean }): Promise<CertificateRecord[]>;
  /** One certificate of one issuer, in any state. */
  find(trx: Tx | null, issuerId: string, serial: string): Promise<CertificateRecord | null>;
  setStatus(trx: Tx, issuerId: string, serial: string, change: StatusChange, now: Date): Promise<void>;
}

/** The ledger's batch operations (docs/ca.md, "Batch issuance"): one statement for many rows. */
export interface BatchLedger<Tx> {
  /** Reserves every intent in one multi-row insert; returns the serials reserved (a taken serial is left out). */
  reserveMany(trx: Tx, intents: readonly IssuanceIntent[], now: Date): Promise<Set<string>>;
  /** Records the signed certificates of reservations of one issuer; a serial that was not reserved is an error. */
  recordMany(trx: Tx, issuerId: string, certificates: ReadonlyArray<{ serial: string; der: Uint8Array }>): Promise<void>;
  /** `abandon` for several serials of one issuer. */
  abandonMany(trx: Tx | null, issuerId: string, serials: readonly string[]): Promise<void>;
  /** Key reuse for many keys at once: the fingerprints among these in a certificate neither expired nor revoked at `now`. */
  keysInUse(trx: Tx | null, fingerprints: readonly string[], now: Date): Promise<Set<string>>;
}

/** The request store's batch operations. */
export interface BatchRequests<Tx> {
  /** Stores pending requests in one insert; returns their ids in order. */
  createMany(trx: Tx, requests: readonly NewCertificateRequest[], now: Date): Promise<string[]>;
  /** Several requests with their approvals (missing ids are left out); `forUpdate` locks them. */
  getMany(trx: Tx | null, ids: readonly string[], options?: { forUpdate?: boolean }): Promise<CertificateRequestRecord[]>;
  /** Adds one approver's approvals; returns the request ids approved now (already approved ones are left out). */
  addApprovals(trx: Tx, approver: string, approvals: ReadonlyArray<{ requestId: string; nameControl: readonly NameControlEvidence[] }>, now: Date): Promise<Set<string>>;
  /** Marks requests approved. */
  markApproved(trx: Tx, ids: readonly string[], now: Date): Promise<void>;
  /** Marks requests issued, each with its certificate's serial. */
  markIssued(trx: Tx, issued: ReadonlyArray<{ id: string; serial: string }>, now: Date): Promise<void>;
}

/** A published CRL as stored (a delta CRL is computed from the rows changed since its base's thisUpdate). */
export interface PublishedCrl {
  number: bigint;
  baseNumber: bigint | null;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Buffer;
}

export interface NewCrl {
  issuerId: string;
  kind: 'full' | 'delta';
  number: bigint;
  /** A full CRL that the following delta CRLs refer to (RFC 5280 §5.2.4). */
  deltaBase: boolean;
  baseNumber: bigint | null;
  thisUpdate: Date;
  nextUpdate: Date;
  der: Uint8Array;
}

/** What CRL generation reads and writes (RFC 5280 §5). */
export interface CrlStore<Tx> {
  /** Serialises CRL generation for the issuer across nodes, until the transaction ends. */
  lock(trx: Tx, issuerId: string): Promise<void>;
  /** Revoked and held certificates of the issuer, unexpired at `now` (§3.3), whose row holds no encoded CRL entry yet. */
  unencodedEntries(trx: Tx, issuerId: string, now: Date): Promise<CrlEntry[]>;
  /** Keeps the encoded CRL entries (crlEntryDer) on their rows. */
  storeEntries(trx: Tx, issuerId: string, entries: ReadonlyArray<{ serial: string; der: Uint8Array }>): Promise<void>;
  /** The stored entries of every revoked and held certificate unexpired at `now`, concatenated in CRL order (revocation time, serial). */
  encodedEntries(trx: Tx, issuerId: string, now: Date): Promise<EncodedEntries>;
  /** Unexpired certificates of the issuer released from hold at or after `since` and good now: serial and release time. */
  releasedSince(trx: Tx | null, issuerId: string, since: Date, now: Date): Promise<Array<{ serial: string; releasedAt: Date }>>;
  /** Revoked and held, unexpired certificates whose status changed at or after `since` (a delta CRL's changes). */
  changedSince(trx: Tx | null, issuerId: string, since: Date, now: Date): Promise<CrlEntry[]>;
  /** Revoked and held certificates that expired after `since`, by `now` (a delta CRL removes them). */
  expiredSince(trx: Tx | null, issuerId: string, since: Date, now: Date): Promise<CrlEntry[]>;
  /** Next number of the issuer's shared full/delta CRL sequence (§5.2.3); the caller holds the lock. */
  nextNumber(trx: Tx, issuerId: string): Promise<bigint>;
  /** The latest full or delta CRL, or the latest full CRL that is a delta base. */
  latest(trx: Tx | null, issuerId: string, kind: 'full' | 'delta' | 'delta-base'): Promise<PublishedCrl | null>;
  publish(trx: Tx, crl: NewCrl): Promise<void>;
}

export type NewCertificateRequest = Omit<CertificateRequestRecord, 'id' | 'approvals' | 'status' | 'rejectReason' | 'certificateSerial' | 'createdAt' | 'updatedAt'>;

/** The RA's requests and their approvals (dual control). */
export interface RequestStore<Tx> {
  /** Stores a pending request; returns its id. */
  create(trx: Tx, request: NewCertificateRequest, now: Date): Promise<string>;
  /** With its approvals; `forUpdate` locks the request until the transaction ends. */
  get(trx: Tx | null, id: string, options?: { forUpdate?: boolean }): Promise<CertificateRequestRecord | null>;
  /** Newest first. */
  list(trx: Tx | null, status: RequestStatus | undefined, limit: number, offset: number): Promise<CertificateRequestRecord[]>;
  /** False when this approver already approved it. `nameControl`: how the approver checked control of each DNS name. */
  addApproval(trx: Tx, requestId: string, approver: string, now: Date, nameControl?: readonly NameControlEvidence[]): Promise<boolean>;
  setStatus(trx: Tx, id: string, status: RequestStatus, now: Date, extra?: { rejectReason?: string; certificateSerial?: string }): Promise<void>;
}

/** The registry's queries (the console, the API, bulk revocation): issued and imported certificates. */
export interface RegistrySearch<Tx> {
  /**
   * Newest first (soonest expiry first when `expiresWithinDays`); `total` counts matches up to `countLimit`.
   * `onItems`, when given, is called with the page's items as soon as they are read, while the
   * count may still run (an audit of what the page shows need not wait for the count); the search
   * answers only once both have finished, and fails if either fails.
   */
  search(trx: Tx | null, filter: CertificateSearch, now: Date, onItems?: (items: CertificateRecord[]) => Promise<void>): Promise<CertificateSearchPage>;
  /** By status, `expired` apart. */
  countByStatus(trx: Tx | null, now: Date): Promise<Record<string, number>>;
  /** By profile and status (`expired` apart), in one grouped scan: the console's dashboard. */
  countByProfileAndStatus(trx: Tx | null, now: Date): Promise<Array<{ profileId: string | null; status: string; count: number }>>;
}

/** Everything the CA services use, as the composition root hands it over; each takes what it needs. */
/** A key no CSR may carry again (docs/ca.md, "Blocked keys"). */
export interface BlockedKey {
  /** SHA-256 of the SubjectPublicKeyInfo, hex (publicKeyFingerprint). */
  fingerprint: string;
  reason: 'keyCompromise' | 'cACompromise' | 'reported';
  /** `<issuer>/<serial>` of the certificate whose revocation blocked it; null when reported. */
  source: string | null;
  blockedBy: string;
  comment: string | null;
  blockedAt: Date;
}

/** Boulder's blockedKeys: append-only; a key once blocked stays blocked. */
export interface BlockedKeyStore<Tx> {
  find(trx: Tx | null, fingerprint: string): Promise<BlockedKey | null>;
  /** False when the key was already blocked (the first entry stays). */
  block(trx: Tx, key: BlockedKey): Promise<boolean>;
  /** The fingerprints among these that are blocked (one query for a batch). */
  blockedAmong(trx: Tx | null, fingerprints: readonly string[]): Promise<Set<string>>;
}

export interface CaStorage<Tx> {
  transactions: Transactions<Tx>;
  audit: AuditTrail<Tx> & AuditBatch<Tx>;
  issuers: IssuerStore<Tx>;
  ledger: IssuanceLedger<Tx> & BatchLedger<Tx>;
  crls: CrlStore<Tx>;
  requests: RequestStore<Tx> & BatchRequests<Tx>;
  search: RegistrySearch<Tx>;
  blockedKeys: BlockedKeyStore<Tx>;
}
