import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Database, Transaction } from '../storage/db.js';
import type { AccountRepository, NewAccount } from '../storage/account-repository.js';
import type { LoginThrottleRepository } from '../storage/login-throttle-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import { CCCD, ROLES, splitVietnameseName, type Account, type Role } from '../../oidc/account.js';
import { hashPassword, passwordProblem } from './password.js';
import { AttemptThrottle } from './attempt-throttle.js';
import { PasswordLogin, type LoginPolicy, type PasswordLoginInput, type PasswordLoginResult } from './password-login.js';

export type { LoginPolicy, PasswordLoginResult } from './password-login.js';

export interface NewOfficial {
  username: string;
  nationalId: string;
  fullName: string;
  email?: string | null;
  phone?: string | null;
  agency?: string | null;
  unit?: string | null;
  position?: string | null;
  roles: Role[];
  password?: string;
}

/** Local accounts: officials created by administrators, password login with throttling. */
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountRepository,
    private readonly throttle: LoginThrottleRepository,
    private readonly audit: AuditRepository,
    clock: Clock,
    policy: LoginPolicy,
    /** What a password reset removes (the passkey store); absent, a reset keeps them. */
    private readonly credentials?: { removeAllPasskeys(trx: Transaction, accountId: string): Promise<number> },
    /** Ends an account's sessions, grants and tokens, API tokens included (disabling, a password reset). */
    private readonly sessions?: { endAll(trx: Transaction, accountId: string): Promise<number> },
  ) {
    this.passwordLogin = new PasswordLogin(db, accounts, new AttemptThrottle(throttle, clock), audit, policy);
  }

  private readonly passwordLogin: PasswordLogin;

  findById(id: string, trx?: Transaction): Promise<Account | null> {
    return this.accounts.findById(id, trx);
  }

  /** The account of a username or national ID (the CLI names accounts so). */
  async findByLogin(login: string): Promise<Account | null> {
    return (await this.accounts.findByLogin(login.trim().toLowerCase()))?.account ?? null;
  }

  findByNationalId(nationalId: string): Promise<Account | null> {
    return this.accounts.findByNationalId(nationalId);
  }

  /** Checks an official's data and hashes the password: the record `insertOfficial` stores. */
  async prepareOfficial(input: NewOfficial): Promise<NewAccount> {
    const username = input.username.trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(username)) {
      throw new AppError('validationFailed', 'username: 2–64 characters of a–z, 0–9, ".", "_" or "-"');
    }
    if (!CCCD.test(input.nationalId)) throw new AppError('validationFailed', 'national ID (CCCD): exactly 12 digits');
    if (!input.fullName.trim()) throw new AppError('validationFailed', 'full name: required');
    const unknownRole = input.roles.find((r) => !ROLES.includes(r));
    if (unknownRole) throw new AppError('validationFailed', `role ${unknownRole}: not one of ${ROLES.join(', ')}`);
    if (input.email && !/^[^\s@]+@[^\s@]+$/.test(input.email)) throw new AppError('validationFailed', 'e-mail: not an address');
    let passwordHash: string | null = null;
    if (input.password !== undefined) {
      const problem = passwordProblem(input.password);
      if (problem) throw new AppError('validationFailed', problem);
      passwordHash = await hashPassword(input.password);
    }
    const fullName = input.fullName.trim().normalize('NFC');
    return {
      kind: 'official',
      username,
      nationalId: input.nationalId,
      fullName,
      ...splitVietnameseName(fullName),
      email: input.email ?? null,
      // Addresses of officials are assigned by their agency, so they are verified by construction.
      emailVerified: !!input.email,
      phone: input.phone ?? null,
      agency: input.agency ?? null,
      unit: input.unit ?? null,
      position: input.position ?? null,
      roles: [...new Set(input.roles)],
      passwordHash,
    };
  }

  /** Refuses a username or national ID already taken (checked again inside the transaction). */
  async checkFree(record: Pick<NewAccount, 'username' | 'nationalId'>, trx?: Transaction): Promise<void> {
    if (record.username && (await this.accounts.findByLogin(record.username, trx))) throw new AppError('conflict', `an account with username ${record.username} already exists`);
    if (record.nationalId && (await this.accounts.findByNationalId(record.nationalId, trx))) {
      throw new AppError('conflict', 'an account with this national ID already exists (one national ID is one person)');
    }
  }

  async insertOfficial(trx: Transaction, actor: string, record: NewAccount, details: Record<string, unknown> = {}): Promise<Account> {
    await this.checkFree(record, trx);
    const account = await this.accounts.create(trx, record);
    await this.audit.append(trx, {
      actor,
      action: 'account.create',
      target: `account:${account.id}`,
      details: { kind: 'official', username: record.username, roles: account.roles, agency: account.agency, ...details },
    });
    return account;
  }

  /**
   * Creates an official at once, without dual control: the installation's bootstrap, the demo
   * data and the tests use it; the console and the CLI go through AccountChangeService.
   */
  async createOfficial(actor: string, input: NewOfficial): Promise<Account> {
    const record = await this.prepareOfficial(input);
    return this.db.withTransaction((trx) => this.insertOfficial(trx, actor, record));
  }

  /**
   * An administrator's password reset: ends the login lock and, unless told otherwise, removes the
   * account's passkeys, so a passkey an attacker registered with a stolen password stops working.
   */
  async resetPasswordIn(trx: Transaction, actor: string, account: Account, hash: string, opts: { keepPasskeys?: boolean; details?: Record<string, unknown>; requireChange?: boolean } = {}): Promise<{ removedPasskeys: number }> {
    await this.accounts.setPasswordHash(trx, account.id, hash);
    // A password someone else has seen (the console's generated one): the holder sets their own at the next login.
    await this.accounts.mergeAttributes(trx, account.id, { passwordChangeRequired: !!opts.requireChange });
    await this.throttle.reset(trx, `account:${account.id}`);
    const removedPasskeys = opts.keepPasskeys || !this.credentials ? 0 : await this.credentials.removeAllPasskeys(trx, account.id);
    // A reset means the password may be known to someone else: whoever logged in with it is out.
    const endedSessionRows = (await this.sessions?.endAll(trx, account.id)) ?? 0;
    await this.audit.append(trx, { actor, action: 'account.password_set', target: `account:${account.id}`, details: { removedPasskeys, keptPasskeys: !!opts.keepPasskeys, endedSessionRows, ...opts.details } });
    return { removedPasskeys };
  }

  async setPassword(actor: string, login: string, password: string, opts: { keepPasskeys?: boolean } = {}): Promise<Account> {
    const problem = passwordProblem(password);
    if (problem) throw new AppError('validationFailed', problem);
    const hash = await hashPassword(password);
    return this.db.withTransaction(async (trx) => {
      const found = await this.accounts.findByLogin(login, trx);
      if (!found) throw new AppError('notFound', `no account ${login}`);
      const reused = passwordProblem(password, found.account);
      if (reused) throw new AppError('validationFailed', reused);
      await this.resetPasswordIn(trx, actor, found.account, hash, opts);
      return found.account;
    });
  }

  /**
   * The holder's own change on the account page. `authorise` is the step-up (the enrolment gate,
   * docs/security.md): a stolen password alone cannot change the password and lock the owner out.
   * Every session and token of the account ends, the current one too (the new password logs in).
   */
  async changeOwnPassword(accountId: string, password: string, authorise: (trx: Transaction) => Promise<Record<string, unknown>>): Promise<void> {
    const account = await this.accounts.findById(accountId);
    if (!account) throw new AppError('notFound', 'no such account');
    const problem = passwordProblem(password, account);
    if (problem) throw new AppError('validationFailed', problem);
    const hash = await hashPassword(password);
    await this.db.withTransaction(async (trx) => {
      const basis = await authorise(trx);
      await this.accounts.setPasswordHash(trx, accountId, hash);
      await this.accounts.mergeAttributes(trx, accountId, { passwordChangeRequired: false });
      const endedSessionRows = (await this.sessions?.endAll(trx, accountId)) ?? 0;
      await this.audit.append(trx, { actor: `user:${accountId}`, action: 'account.password_change', target: `account:${accountId}`, details: { ...basis, endedSessionRows } });
    });
  }

  /**
   * The required action after a generated password: the holder, who has just logged in with it,
   * sets their own before the login finishes (src/web/login/set-password.ts). Refused when no
   * change is required.
   */
  async setPasswordAfterReset(accountId: string, password: string): Promise<void> {
    const account = await this.accounts.findById(accountId);
    if (!account || !passwordChangeRequired(account)) throw new AppError('conflict', 'no password change is required for this account');
    const problem = passwordProblem(password, account);
    if (problem) throw new AppError('validationFailed', problem);
    const hash = await hashPassword(password);
    await this.db.withTransaction(async (trx) => {
      await this.accounts.setPasswordHash(trx, accountId, hash);
      await this.accounts.mergeAttributes(trx, accountId, { passwordChangeRequired: false });
      await this.audit.append(trx, { actor: `user:${accountId}`, action: 'account.password_change', target: `account:${accountId}`, details: { basis: 'required-after-reset' } });
    });
  }

  /** Ends the login lock of the password throttle (docs/security.md, "Login throttling"). */
  async unlockIn(trx: Transaction, actor: string, account: Account, details: Record<string, unknown> = {}): Promise<void> {
    await this.throttle.reset(trx, `account:${account.id}`);
    await this.audit.append(trx, { actor, action: 'account.unlock', target: `account:${account.id}`, ...(Object.keys(details).length && { details }) });
  }

  /** Ends every session, grant and token of the account (a lost device, a suspected theft). */
  async endSessionsIn(trx: Transaction, actor: string, account: Account, details: Record<string, unknown> = {}): Promise<void> {
    const endedSessionRows = (await this.sessions?.endAll(trx, account.id)) ?? 0;
    await this.audit.append(trx, { actor, action: 'account.sessions_end', target: `account:${account.id}`, details: { ...details, endedSessionRows } });
  }

  async setStatusIn(trx: Transaction, actor: string, account: Account, status: 'active' | 'disabled', details: Record<string, unknown> = {}): Promise<Account> {
    await this.accounts.setStatus(trx, account.id, status);
    // Disabled: its sessions end (the next /oidc/auth asks for a login), its grants and tokens too.
    if (status === 'disabled') details = { ...details, endedSessionRows: (await this.sessions?.endAll(trx, account.id)) ?? 0 };
    await this.audit.append(trx, { actor, action: status === 'disabled' ? 'account.disable' : 'account.enable', target: `account:${account.id}`, ...(Object.keys(details).length && { details }) });
    return { ...account, status };
  }

  async setStatus(actor: string, login: string, status: 'active' | 'disabled'): Promise<Account> {
    return this.db.withTransaction(async (trx) => {
      const found = await this.accounts.findByLogin(login, trx);
      if (!found) throw new AppError('notFound', `no account ${login}`);
      return this.setStatusIn(trx, actor, found.account, status);
    });
  }

  async setRolesIn(trx: Transaction, actor: string, account: Account, roles: Role[], details: Record<string, unknown> = {}): Promise<Account> {
    const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (unknown.length) throw new AppError('validationFailed', `roles: unknown ${unknown.join(', ')}`);
    if (account.kind !== 'official') throw new AppError('conflict', 'only officials have roles');
    await this.accounts.setRoles(trx, account.id, roles);
    await this.audit.append(trx, { actor, action: 'account.roles', target: `account:${account.id}`, details: { from: account.roles, to: roles, ...details } });
    return { ...account, roles };
  }

  /** Replaces an official's roles (the API scopes they may be granted follow from them). */
  async setRoles(actor: string, login: string, roles: Role[]): Promise<Account> {
    return this.db.withTransaction(async (trx) => {
      const found = await this.accounts.findByLogin(login, trx);
      if (!found) throw new AppError('notFound', `no account ${login}`);
      return this.setRolesIn(trx, actor, found.account, roles);
    });
  }

  /** The account and its password hash (for the CLI's proof of a named officer). */
  findCredentials(login: string): Promise<{ account: Account; passwordHash: string | null } | null> {
    return this.accounts.findByLogin(login.trim().toLowerCase());
  }

  list(filter: Parameters<AccountRepository['list']>[0]): Promise<Account[]> {
    return this.accounts.list(filter);
  }

  /** Password login, throttled before the password is checked (src/accounts/password-login.ts). */
  loginWithPassword(input: PasswordLoginInput): Promise<PasswordLoginResult> {
    return this.passwordLogin.login(input);
  }
}

/** The account logged in with a password an administrator generated: it sets its own before a login finishes. */
export const passwordChangeRequired = (account: Account): boolean => account.attributes.passwordChangeRequired === true;
