import { maskIdentifier } from '../certificates/personal-data.js';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Database, Transaction } from '../storage/db.js';
import type { NewAccount } from '../storage/account-repository.js';
import type { AccountChange, AccountChangeKind, AccountControlRepository } from '../storage/account-control-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Account, Role } from '../../oidc/account.js';
import type { AccountService, NewOfficial } from './account-service.js';
import { hashPassword, passwordProblem } from './password.js';
import type { OneTimeCodes } from './one-time-codes.js';
import type { AccountCertificateStore } from '../webauthn/ports.js';
import { describeLoginCertificate, registerLoginCertificateIn } from './login-certificates.js';

/** Roles whose holders can approve certificates or manage people: changes to them need two administrators. */
export const PRIVILEGED_ROLES: readonly Role[] = ['admin', 'ra-officer'];
export const isPrivileged = (roles: readonly Role[]) => roles.some((r) => PRIVILEGED_ROLES.includes(r));

export type ChangeRequest =
  | { kind: 'create'; official: NewOfficial }
  | { kind: 'roles'; account: Account; roles: Role[] }
  | { kind: 'password'; account: Account; password: string; keepPasskeys?: boolean; requireChange?: boolean }
  | { kind: 'disable'; account: Account }
  | { kind: 'enable'; account: Account }
  | { kind: 'certificate'; account: Account; certificate: string | Uint8Array }
  | { kind: 'enrolment-code'; account: Account }
  | { kind: 'unlock'; account: Account }
  | { kind: 'end-sessions'; account: Account };

export interface ChangeOutcome {
  status: 'done' | 'pending';
  change: AccountChange | null;
  account: Account | null;
  /** An enrolment code, shown once to the administrator who asked for it. */
  code?: string;
}

/**
 * Dual control over people: creating an `admin` or `ra-officer`, granting those roles, resetting
 * the password of, disabling or enabling, registering a login certificate to, or issuing an
 * enrolment code for such an account is recorded as pending and carried out only when a second
 * administrator (never the initiator) approves. The console and the CLI go through here; other
 * changes are carried out at once.
 */
export class AccountChangeService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountService,
    private readonly repo: AccountControlRepository,
    private readonly codes: OneTimeCodes,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    /** Where certificates for certificate login are registered (the `certificate` change). */
    private readonly loginCertificates: Pick<AccountCertificateStore<Transaction>, 'addCertificate'>,
  ) {}

  list(filter: Parameters<AccountControlRepository['listChanges']>[0]): Promise<AccountChange[]> {
    return this.repo.listChanges(filter);
  }

  get(id: string): Promise<AccountChange | null> {
    return this.repo.getChange(id);
  }

  async request(actor: string, req: ChangeRequest): Promise<ChangeOutcome> {
    await this.requireAdmin(actor);
    const { payload, privileged, label, accountId } = await this.describe(req);
    return this.db.withTransaction(async (trx) => {
      if (!privileged) {
        const done = await this.apply(trx, actor, { kind: req.kind, payload, accountId }, {});
        return { status: 'done' as const, change: null, ...done };
      }
      if (req.kind === 'create') await this.accounts.checkFree(payload.record as NewAccount, trx);
      const change = await this.repo.addChange(trx, { kind: req.kind, accountId, label, payload, requestedBy: actor, createdAt: this.clock.now() });
      await this.audit.append(trx, { actor, action: 'account.change_request', target: accountId ? `account:${accountId}` : `account-change:${change.id}`, details: { change: change.id, kind: req.kind, label, ...summary(req.kind, payload) } });
      // An enrolment code is shown now, to the administrator who asked, and works once approved.
      const code = req.kind === 'enrolment-code' ? (await this.codes.issue(trx, { accountId: accountId!, purpose: 'enrolment', actor, pendingChange: change.id })).code : undefined;
      return { status: 'pending' as const, change, account: null, code };
    });
  }

  /** A second administrator carries the change out (never the one who asked for it). */
  async approve(actor: string, id: string, context: Record<string, unknown> = {}): Promise<ChangeOutcome> {
    await this.requireAdmin(actor);
    return this.db.withTransaction(async (trx) => {
      const change = await this.pending(trx, id);
      if (change.requestedBy === actor) throw new AppError('forbidden', 'nobody approves their own account change (dual control): another administrator must');
      const done = await this.apply(trx, change.requestedBy, change, { approvedBy: actor });
      await this.repo.decideChange(trx, id, { status: 'done', decidedBy: actor, accountId: done.account?.id, now: this.clock.now() });
      await this.audit.append(trx, { actor, action: 'account.change_approve', target: `account:${done.account?.id ?? change.accountId}`, details: { change: id, kind: change.kind, requestedBy: change.requestedBy, ...context } });
      return { status: 'done' as const, change: { ...change, status: 'done' as const, decidedBy: actor }, account: done.account };
    });
  }

  async reject(actor: string, id: string, reason: string, context: Record<string, unknown> = {}): Promise<AccountChange> {
    await this.requireAdmin(actor);
    if (!reason.trim()) throw new AppError('validationFailed', 'reason: required');
    return this.db.withTransaction(async (trx) => {
      const change = await this.pending(trx, id);
      await this.repo.decideChange(trx, id, { status: 'rejected', decidedBy: actor, reason: reason.trim(), now: this.clock.now() });
      await this.audit.append(trx, { actor, action: 'account.change_reject', target: change.accountId ? `account:${change.accountId}` : `account-change:${id}`, details: { change: id, kind: change.kind, reason: reason.trim(), ...context } });
      return { ...change, status: 'rejected' as const, decidedBy: actor, reason: reason.trim() };
    });
  }

  /**
   * The installation's first two administrators, from the host's shell (`tinnhiem init --admins`),
   * each with an enrolment code for their first passkey: the one moment one operator creates
   * administrators alone. Refused once any administrator exists; the rule applies from then on.
   */
  async bootstrapAdmins(actor: string, officials: NewOfficial[]): Promise<Array<{ account: Account; code: string }>> {
    if (officials.length !== 2) throw new AppError('validationFailed', 'the bootstrap creates exactly two administrators');
    const records = await Promise.all(officials.map((o) => this.accounts.prepareOfficial({ ...o, roles: [...new Set<Role>(['admin', ...o.roles])] })));
    const existing = await this.accounts.list({ kind: 'official', limit: 10_000 });
    if (existing.some((a) => a.roles.includes('admin'))) throw new AppError('conflict', 'administrators exist already: further administrators need a second administrator\'s approval (tinnhiem user add --as …)');
    return this.db.withTransaction(async (trx) => {
      const created: Array<{ account: Account; code: string }> = [];
      for (const record of records) {
        const account = await this.accounts.insertOfficial(trx, actor, record, { bootstrap: true });
        const { code } = await this.codes.issue(trx, { accountId: account.id, purpose: 'enrolment', actor });
        created.push({ account, code });
      }
      await this.audit.append(trx, { actor, action: 'account.bootstrap_admins', target: null, details: { admins: created.map((c) => c.account.username) } });
      return created;
    });
  }

  private async pending(trx: Transaction, id: string): Promise<AccountChange> {
    const change = await this.repo.getChange(id, trx);
    if (!change) throw new AppError('notFound', `no account change ${id}`);
    if (change.status !== 'pending') throw new AppError('conflict', `account change ${id} is ${change.status}, not pending`);
    return change;
  }

  /** Only an active administrator asks for or decides account changes. */
  private async requireAdmin(actor: string): Promise<Account> {
    const id = /^user:(.+)$/.exec(actor)?.[1];
    const account = id ? await this.accounts.findById(id) : null;
    if (!account || account.status !== 'active' || !account.roles.includes('admin')) {
      throw new AppError('forbidden', 'account changes are made by a named, active administrator');
    }
    return account;
  }

  /** What is stored for the change (hashed password, never the password) and whether it needs a second administrator. */
  private async describe(req: ChangeRequest): Promise<{ payload: Record<string, unknown>; privileged: boolean; label: string; accountId: string | null }> {
    switch (req.kind) {
      case 'create': {
        const record = await this.accounts.prepareOfficial(req.official);
        return { payload: { record }, privileged: isPrivileged(record.roles), label: record.username!, accountId: null };
      }
      case 'roles': {
        const granted = req.roles.filter((r) => !req.account.roles.includes(r));
        return { payload: { roles: [...new Set(req.roles)] }, privileged: isPrivileged(granted), label: accountLabel(req.account), accountId: req.account.id };
      }
      case 'password': {
        const problem = passwordProblem(req.password);
        if (problem) throw new AppError('validationFailed', problem);
        return { payload: { hash: await hashPassword(req.password), keepPasskeys: !!req.keepPasskeys, requireChange: !!req.requireChange }, privileged: isPrivileged(req.account.roles), label: accountLabel(req.account), accountId: req.account.id };
      }
      case 'certificate': {
        // Read now: a bad certificate is refused before anything is pending. Only the DER is kept.
        const described = describeLoginCertificate(req.certificate);
        return { payload: { der: Buffer.from(described.der).toString('base64'), fingerprint: described.fingerprint, subject: described.subjectDn }, privileged: isPrivileged(req.account.roles), label: accountLabel(req.account), accountId: req.account.id };
      }
      case 'disable':
      case 'enable':
      case 'enrolment-code':
      case 'unlock':
      case 'end-sessions':
        return { payload: {}, privileged: isPrivileged(req.account.roles), label: accountLabel(req.account), accountId: req.account.id };
    }
  }

  private async apply(trx: Transaction, actor: string, change: { kind: AccountChangeKind; payload: Record<string, unknown>; accountId: string | null }, details: Record<string, unknown>): Promise<{ account: Account | null; code?: string }> {
    if (change.kind === 'create') return { account: await this.accounts.insertOfficial(trx, actor, change.payload.record as NewAccount, details) };
    const account = change.accountId ? await this.accounts.findById(change.accountId, trx) : null;
    if (!account) throw new AppError('notFound', 'the account no longer exists');
    switch (change.kind) {
      case 'roles':
        return { account: await this.accounts.setRolesIn(trx, actor, account, change.payload.roles as Role[], details) };
      case 'password':
        await this.accounts.resetPasswordIn(trx, actor, account, String(change.payload.hash), { keepPasskeys: !!change.payload.keepPasskeys, requireChange: !!change.payload.requireChange, details });
        return { account };
      case 'disable':
        return { account: await this.accounts.setStatusIn(trx, actor, account, 'disabled', details) };
      case 'enable':
        return { account: await this.accounts.setStatusIn(trx, actor, account, 'active', details) };
      case 'certificate':
        await registerLoginCertificateIn(trx, this.loginCertificates, this.audit, this.clock.now(), actor, account.id, describeLoginCertificate(Buffer.from(String(change.payload.der), 'base64')), details);
        return { account };
      case 'unlock':
        await this.accounts.unlockIn(trx, actor, account, details);
        return { account };
      case 'end-sessions':
        await this.accounts.endSessionsIn(trx, actor, account, details);
        return { account };
      case 'enrolment-code':
        if ('approvedBy' in details) {
          await this.codes.activate(trx, (change as AccountChange).id);
          return { account };
        }
        return { account, code: (await this.codes.issue(trx, { accountId: account.id, purpose: 'enrolment', actor })).code };
    }
  }
}

/**
 * How an account is named in lists (pending changes, the console's actor column): its user name,
 * else its national ID masked as everywhere without certs:read:pii (docs/ca.md, "Personal data").
 */
export const accountLabel = (a: Pick<Account, 'id' | 'username' | 'nationalId'>) => a.username ?? (a.nationalId ? maskIdentifier(a.nationalId) : a.id);

/** What the audit event of a request says (never the password hash). */
function summary(kind: AccountChangeKind, payload: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'create') return { roles: (payload.record as NewAccount).roles };
  if (kind === 'roles') return { roles: payload.roles };
  if (kind === 'password') return { keepPasskeys: payload.keepPasskeys };
  if (kind === 'certificate') return { fingerprint: payload.fingerprint, subject: payload.subject };
  return {};
}
