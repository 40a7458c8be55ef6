import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import { ACR, acrAtLeast } from '../../oidc/scopes.js';
import type { OneTimeCodes } from './one-time-codes.js';

/** How the person signed in, as the provider's session records it. */
export interface EnrolmentSession {
  acr?: string;
  amr?: string[];
}

export type EnrolmentBasis = 'acr-high' | 'dvcqg-loa2' | 'enrolment-code';

/** Runs inside the change's transaction; returns what the audit event records about why it was allowed. */
export type Authorise = (trx: unknown) => Promise<Record<string, unknown>>;

/**
 * Who may register or delete a login credential (passkey, login certificate): the holder of a
 * session at high assurance (a passkey or certificate login), of a DVCQG login at LoA2 (the
 * national portal proved the national ID the account was linked by), or of a single-use enrolment
 * code an administrator issued for this account. A password alone is not enough: otherwise a stolen
 * password becomes a passkey, and the passkey reaches high assurance (docs/security.md).
 */
export class EnrolmentGate {
  constructor(private readonly codes: OneTimeCodes) {}

  sessionBasis(session: EnrolmentSession): EnrolmentBasis | null {
    if (acrAtLeast(session.acr, ACR.high)) return 'acr-high';
    // LoA2 at DVCQG maps to substantial (docs/federation.md); `fed` says the national portal proved it.
    if (session.amr?.includes('fed') && acrAtLeast(session.acr, ACR.substantial)) return 'dvcqg-loa2';
    return null;
  }

  private refuse(): never {
    throw new AppError(
      'stepUpRequired',
      'registering or deleting a passkey or login certificate needs a stronger login: a passkey or certificate (acr high), a DVCQG login at LoA2, or an enrolment code from an administrator',
      { acrValues: ACR.high },
    );
  }

  /** Before a ceremony starts (registration options): the code is checked, not used. */
  async precheck(accountId: string, session: EnrolmentSession, code: string | undefined): Promise<void> {
    if (this.sessionBasis(session)) return;
    if (!code?.trim()) this.refuse();
    await this.codes.check(accountId, 'enrolment', code);
  }

  /** The check of the change itself; an enrolment code is used in the change's transaction. */
  authorise(accountId: string, session: EnrolmentSession, code: string | undefined): Authorise {
    const basis = this.sessionBasis(session);
    if (!basis && !code?.trim()) this.refuse();
    return async (trx) => {
      if (basis) return { basis, acr: session.acr, amr: session.amr };
      const used = await this.codes.consume(trx as Transaction, accountId, 'enrolment', code!);
      return { basis: 'enrolment-code', enrolmentCode: used.id, codeIssuedBy: used.createdBy };
    };
  }
}
