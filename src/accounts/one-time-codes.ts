import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Database, Transaction } from '../storage/db.js';
import type { AccountControlRepository, CodePurpose, OneTimeCode } from '../storage/account-control-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';

/** How long a code is usable: an enrolment code a day (handed over in person), an approval code 10 minutes. */
export const CODE_LIFETIME_MS: Record<CodePurpose, number> = { enrolment: 24 * 3600_000, 'cli-approval': 10 * 60_000 };

/** 100 random bits in groups of five base32 letters: typed by hand, never guessed. */
function newCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => alphabet[b % 32]).join('');
  return chars.match(/.{5}/g)!.join('-');
}

/** Codes are compared by SHA-256 of their normalised form (case and dashes ignored). */
export const codeDigest = (code: string) => createHash('sha256').update(code.toUpperCase().replace(/[^A-Z0-9]/g, '')).digest('hex');

/**
 * Single-use codes bound to one account and one purpose, shown once and stored as digests: an
 * administrator's enrolment code (the first passkey or login certificate of an official) and an
 * officer's own approval code (the second factor of a CLI approval for officers with passkeys).
 */
export class OneTimeCodes {
  constructor(
    private readonly db: Database,
    private readonly repo: AccountControlRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  /** A new code; `pendingChange` makes it unusable until that change is approved. */
  async issue(trx: Transaction, input: { accountId: string; purpose: CodePurpose; actor: string; pendingChange?: string }): Promise<{ code: string; record: OneTimeCode }> {
    const code = newCode();
    const now = this.clock.now();
    const record = await this.repo.addCode(trx, {
      accountId: input.accountId,
      purpose: input.purpose,
      codeHash: codeDigest(code),
      createdBy: input.actor,
      createdAt: now,
      usableFrom: input.pendingChange ? null : now,
      expiresAt: new Date(now.getTime() + CODE_LIFETIME_MS[input.purpose]),
      changeId: input.pendingChange ?? null,
    });
    await this.audit.append(trx, {
      actor: input.actor,
      action: input.purpose === 'enrolment' ? 'account.enrolment_code_issue' : 'account.approval_code_issue',
      target: `account:${input.accountId}`,
      details: { code: record.id, expiresAt: record.expiresAt.toISOString(), pendingChange: input.pendingChange },
    });
    return { code, record };
  }

  /**
   * A code in its own transaction: an officer's approval code (created in their own console
   * session), or an enrolment code where no second administrator is needed (the bootstrap).
   */
  issueNow(input: { accountId: string; purpose: CodePurpose; actor: string }): Promise<{ code: string; record: OneTimeCode }> {
    return this.db.withTransaction((trx) => this.issue(trx, input));
  }

  async activate(trx: Transaction, changeId: string): Promise<void> {
    const now = this.clock.now();
    await this.repo.activateCodesOf(trx, changeId, now, new Date(now.getTime() + CODE_LIFETIME_MS.enrolment));
  }

  /** The reason a code cannot be used now for this account and purpose, or null. */
  private problem(found: OneTimeCode | null, accountId: string, purpose: CodePurpose): string | null {
    const now = this.clock.now();
    if (!found || found.accountId !== accountId || found.purpose !== purpose) return 'unknown code';
    if (found.usedAt) return 'the code was already used';
    if (!found.usableFrom) return 'the code awaits a second administrator\'s approval';
    if (found.expiresAt <= now) return 'the code expired';
    return null;
  }

  /** Throws unless the code is usable (does not use it: registration options check it first). */
  async check(accountId: string, purpose: CodePurpose, code: string): Promise<void> {
    const problem = this.problem(await this.repo.findCode(codeDigest(code)), accountId, purpose);
    if (problem) throw new AppError('forbidden', `${purpose === 'enrolment' ? 'enrolment' : 'approval'} code refused: ${problem}`);
  }

  /** Uses the code inside the caller's transaction (the change it allows commits with it). */
  async consume(trx: Transaction, accountId: string, purpose: CodePurpose, code: string): Promise<OneTimeCode> {
    const found = await this.repo.findCode(codeDigest(code), trx);
    const problem = this.problem(found, accountId, purpose);
    if (problem || !(await this.repo.markCodeUsed(trx, found!.id, this.clock.now()))) {
      throw new AppError('forbidden', `${purpose === 'enrolment' ? 'enrolment' : 'approval'} code refused: ${problem ?? 'the code was already used'}`);
    }
    return found!;
  }
}
