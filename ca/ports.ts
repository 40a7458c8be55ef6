/**
 * The narrow ports the CA domain needs from the rest of the service (DESIGN.md §5: the consumer
 * owns them). src/storage implements them with knex, passing the transaction down; the CA never
 * sees SQL. Serials are lower-case hex of the INTEGER's content octets; keys are SPKI fingerprints
 * (publicKeyFingerprint in ca/asn1/public-key.ts).
 */
import type { SignatureAlgorithm } from './asn1/algorithms.js';
import type { CrlEntry } from './status/crl/crl.js';

/** Time, injected (tests use a fake clock). */
export interface Clock {
  now(): Date;
}

/** Randomness, injected (serials, key-file salts). */
export type RandomBytes = (length: number) => Uint8Array;

/** A CA certificate the service can sign with; several may be active during key rollover. */
export interface IssuerRecord {
  /** URL-safe id: `${publicUrl}/crl/<id>.crl`, `${publicUrl}/ca/<id>.crt`. */
  id: string;
  role: 'root' | 'issuing' | 'ocsp-signer';
  /** KeyStore URI, e.g. `file:issuing-2025`. */
  keyUri: string;
  /** DER; null for an issuing CA whose CSR went to an external root and has not come back. */
  certificate: Uint8Array | null;
  signatureAlgorithm: SignatureAlgorithm;
  /** The issuer that certified it (null for a root or an external parent). */
  parentId: string | null;
  status: 'pending' | 'active' | 'retired';
}

export interface IssuerRepository {
  list(): Promise<IssuerRecord[]>;
  get(id: string): Promise<IssuerRecord | null>;
  /** Inserts; a duplicate id is a conflict. */
  add(record: IssuerRecord): Promise<void>;
  /** Installs the externally signed certificate of a pending issuer and activates it. */
  activate(id: string, certificate: Uint8Array): Promise<void>;
  retire(id: string): Promise<void>;
}

/** What is recorded before signing (Boulder's "precertificate" step). */
export interface IssuanceIntent {
  serial: string;
  issuerId: string;
  profileId: string;
  /** The linted TBSCertificate: after a crash the certificate can be re-signed from it, identically. */
  tbs: Uint8Array;
  publicKeyFingerprint: string;
  notBefore: Date;
  notAfter: Date;
  /** The RA request this certificate answers, if any. */
  requestId: string | null;
}

/**
 * The issuance ledger. `reserve` commits the serial (unique per issuer by constraint) and the
 * intent before the key signs; `record` commits the certificate and its audit event in one
 * transaction; an intent without a certificate after a crash is finished by re-signing its TBS,
 * so no signed certificate is ever unrecorded and no serial is ever used twice.
 */
export interface IssuanceLedger {
  /** False when the serial is already taken (the caller draws another). */
  reserve(intent: IssuanceIntent): Promise<boolean>;
  record(serial: string, issuerId: string, certificate: Uint8Array): Promise<void>;
  /** Reserved but never recorded (crash recovery). */
  unfinished(issuerId: string): Promise<IssuanceIntent[]>;
  /** Key policy: is this public key in another certificate that is neither expired nor revoked at `now`? */
  isPublicKeyInUse(fingerprint: string, now: Date): Promise<boolean>;
}

/** What CRL generation reads and writes. */
export interface CrlStore {
  /** Revoked and held certificates of the issuer that have not expired at `now`. */
  revokedEntries(issuerId: string, now: Date): Promise<CrlEntry[]>;
  /** Next number of the issuer's shared full/delta CRL sequence (RFC 5280 §5.2.3), atomically. */
  nextCrlNumber(issuerId: string): Promise<bigint>;
  /** The latest full CRL: the base of the next delta CRLs. */
  latestFull(issuerId: string): Promise<{ number: bigint; entries: CrlEntry[] } | null>;
  publish(crl: { issuerId: string; kind: 'full' | 'delta'; number: bigint; thisUpdate: Date; nextUpdate: Date; der: Uint8Array; entries: CrlEntry[] }): Promise<void>;
}
