/**
 * What the passkey service needs from storage (consumer-owned, like ca/ports.ts and
 * oidc/ports.ts): src/storage/passkey-repository.ts implements it. `Tx` is the storage's
 * transaction handle, passed back on every call made inside a transaction.
 */
import type { AccountCertificate, NewPasskey, Passkey, StoredChallenge } from './passkey.js';
import type { AuditEventInput } from '../audit/audit-chain.js';

export type { AuditTrail, Transactions } from '../../oidc/ports.js';
import type { StoredPayload } from '../../oidc/ports.js';
import type { Account } from '../../oidc/account.js';
/** A provider's row written with an accepted login (the interaction's result): oidc/ports.ts's. */
export type WrittenWithLogin = StoredPayload;

/**
 * A sealed challenge's use (PasskeyStore.advanceCounterSpendingChallenge). With the login's rows
 * stored (`advanced`), `account`: the passkey's account as the accepting statement read it (null:
 * gone), which the login's resume in the same request takes as its account read.
 */
export interface SpentChallengeUse {
  /** `ended`: the login's interaction (a guarded row) changed, ended or expired since it was read: nothing written. */
  use: 'advanced' | 'spent' | 'stale' | 'ended';
  account?: Account | null;
}

export interface PasskeyStore<Tx> {
  listForAccount(accountId: string, tx?: Tx): Promise<Passkey[]>;
  findByCredentialId(credentialId: string, tx?: Tx, forUpdate?: boolean): Promise<Passkey | null>;
  findById(id: string, tx?: Tx): Promise<Passkey | null>;
  create(tx: Tx, passkey: NewPasskey, now: Date): Promise<Passkey>;
  /** Writes the use only if the counter advances (checked in the same statement); false otherwise. */
  advanceCounter(tx: Tx, id: string, counter: number, backedUp: boolean, now: Date): Promise<boolean>;
  /**
   * A sealed challenge's use in one statement without a transaction: its spent marker, and only if
   * the marker is new, the counter advanced with the use's audit event appended. `spent`: used
   * before, nothing written; `stale`: the marker written, the counter would not advance (or the
   * passkey is gone); `advanced`: all written, and `alongside` (the provider's rows the login
   * stores: its interaction's result) upserted in the same statement, only then, and the passkey's
   * account read by it.
   */
  advanceCounterSpendingChallenge(challenge: { challenge: string; expiresAt: Date }, id: string, counter: number, backedUp: boolean, now: Date, event: AuditEventInput, alongside?: readonly WrittenWithLogin[]): Promise<SpentChallengeUse>;
  rename(tx: Tx, id: string, name: string): Promise<void>;
  remove(tx: Tx, id: string): Promise<void>;
  /** A single statement each: `tx` null runs it on its own (no transaction round trips). */
  saveChallenge(tx: Tx | null, challenge: StoredChallenge): Promise<void>;
  takeChallenge(tx: Tx | null, challenge: string): Promise<StoredChallenge | null>;
}

/** The certificates registered to accounts for certificate login (when no CCCD names the account). */
export interface AccountCertificateStore<Tx> {
  addCertificate(tx: Tx, certificate: Omit<AccountCertificate, 'createdAt'>, now: Date): Promise<boolean>;
  accountForCertificate(fingerprint: string): Promise<string | null>;
  certificatesOf(accountId: string): Promise<AccountCertificate[]>;
  removeCertificate(tx: Tx, accountId: string, fingerprint: string): Promise<boolean>;
}
