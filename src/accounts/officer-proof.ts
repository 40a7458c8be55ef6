import type { Database } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Account } from '../../oidc/account.js';
import type { AccountService } from './account-service.js';
import type { OneTimeCodes } from './one-time-codes.js';
import { dummyHash, verifyPassword } from './password.js';

export type OfficerProofResult = { ok: true; account: Account; actor: string } | { ok: false; reason: 'invalid' | 'disabled' | 'approval-code-required' | 'approval-code-refused'; detail: string };

/**
 * Proves that the person a CLI command acts as is at the keyboard: their password, and for an
 * officer with passkeys (whose console needs them) a one-time approval code they created in their
 * own console session at high assurance. A disabled account is refused. Every refusal is audited
 * with the OS user; the OS user travels with the success for the command's own audit event.
 * (Whoever controls the host's shell can change the database itself: out of scope, docs/security.md.)
 */
export class OfficerProof {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountService,
    private readonly passkeysOf: (accountId: string) => Promise<unknown[]>,
    private readonly codes: OneTimeCodes,
    private readonly audit: AuditRepository,
  ) {}

  async prove(input: { login: string; password: string; approvalCode?: string; osUser: string; command: string }): Promise<OfficerProofResult> {
    const found = input.login.trim() ? await this.accounts.findCredentials(input.login) : null;
    const passwordOk = await verifyPassword(input.password, found?.passwordHash ?? (await dummyHash()));
    const refuse = async (reason: Exclude<OfficerProofResult, { ok: true }>['reason'], detail: string): Promise<OfficerProofResult> => {
      await this.db.withTransaction((trx) =>
        this.audit.append(trx, {
          actor: input.osUser,
          action: 'cli.officer_refused',
          target: found ? `account:${found.account.id}` : null,
          details: { login: input.login, reason, command: input.command },
        }),
      );
      return { ok: false, reason, detail };
    };
    if (!found || !passwordOk) return refuse('invalid', `${input.login}: wrong login or password`);
    const account = found.account;
    if (account.status !== 'active') return refuse('disabled', `${input.login}: the account is disabled`);
    if ((await this.passkeysOf(account.id)).length) {
      if (!input.approvalCode) return refuse('approval-code-required', `${input.login} has passkeys: create an approval code in the console (/admin/approval-code) and give it with --approval-code`);
      try {
        await this.db.withTransaction((trx) => this.codes.consume(trx, account.id, 'cli-approval', input.approvalCode!));
      } catch (err) {
        return refuse('approval-code-refused', (err as Error).message);
      }
    }
    return { ok: true, account, actor: `user:${account.id}` };
  }
}
