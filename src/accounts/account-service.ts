import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Database, Transaction } from '../storage/db.js';
import type { AccountRepository, NewAccount } from '../storage/account-repository.js';
import type { LoginThrottleRepository, ThrottlePolicy } from '../storage/login-throttle-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import { CCCD, ROLES, splitVietnameseName, type Account, type Role } from '../../oidc/account.js';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './password.js';

export interface LoginPolicy {
  perAccount: ThrottlePolicy;
  perAddress: ThrottlePolicy;
}

export type PasswordLoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid' | 'disabled' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

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
    private readonly clock: Clock,
    private readonly policy: LoginPolicy,
    /** What a password reset removes (the passkey store); absent, a reset keeps them. */
    private readonly credentials?: { removeAllPasskeys(trx: Transaction, accountId: string): Promise<number> },
  ) {}

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
  async resetPasswordIn(trx: Transaction, actor: string, account: Account, hash: string, opts: { keepPasskeys?: boolean; details?: Record<string, unknown> } = {}): Promise<{ removedPasskeys: number }> {
    await this.accounts.setPasswordHash(trx, account.id, hash);
    await this.throttle.reset(trx, `account:${account.id}`);
    const removedPasskeys = opts.keepPasskeys || !this.credentials ? 0 : await this.credentials.removeAllPasskeys(trx, account.id);
    await this.audit.append(trx, { actor, action: 'account.password_set', target: `account:${account.id}`, details: { removedPasskeys, keptPasskeys: !!opts.keepPasskeys, ...opts.details } });
    return { removedPasskeys };
  }

  async setPassword(actor: string, login: string, password: string, opts: { keepPasskeys?: boolean } = {}): Promise<Account> {
    const problem = passwordProblem(password);
    if (problem) throw new AppError('validationFailed', problem);
    const hash = await hashPassword(password);
    return this.db.withTransaction(async (trx) => {
      const found = await this.accounts.findByLogin(login, trx);
      if (!found) throw new AppError('notFound', `no account ${login}`);
      await this.resetPasswordIn(trx, actor, found.account, hash, opts);
      return found.account;
    });
  }

  async setStatusIn(trx: Transaction, actor: string, account: Account, status: 'active' | 'disabled', details: Record<string, unknown> = {}): Promise<Account> {
    await this.accounts.setStatus(trx, account.id, status);
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

  /**
   * Password login with throttling per account and per client address (both shared by every
   * node). A locked account or address is refused before the password is checked, so a lock is
   * no oracle; an unknown login costs a real hash verification, so timing tells nothing either.
   * Every failure and every lock is audited.
   */
  async loginWithPassword(input: { login: string; password: string; ip: string; clientId?: string }): Promise<PasswordLoginResult> {
    const now = this.clock.now();
    const login = input.login.trim().toLowerCase();
    const found = login ? await this.accounts.findByLogin(login) : null;
    const accountKey = found ? `account:${found.account.id}` : null;
    const addressKey = `ip:${input.ip}`;
    const lockedUntil = await this.throttle.lockedUntil(accountKey ? [accountKey, addressKey] : [addressKey], now);
    if (lockedUntil) {
      await this.db.withTransaction((trx) =>
        this.audit.append(trx, {
          actor: found ? `user:${found.account.id}` : 'anonymous',
          action: 'login.refused_throttled',
          target: found ? `account:${found.account.id}` : null,
          details: { ip: input.ip, clientId: input.clientId, lockedUntil: lockedUntil.toISOString() },
        }),
      );
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000) };
    }

    const passwordOk = await verifyPassword(input.password, found?.passwordHash ?? (await dummyHash()));
    if (found && passwordOk && found.account.status === 'active') {
      await this.db.withTransaction(async (trx) => {
        await this.throttle.reset(trx, accountKey!);
        await this.audit.append(trx, {
          actor: `user:${found.account.id}`,
          action: 'login.success',
          target: `account:${found.account.id}`,
          details: { method: 'pwd', ip: input.ip, clientId: input.clientId },
        });
      });
      return { ok: true, account: found.account };
    }

    const reason = found && passwordOk ? 'disabled' : 'invalid';
    const locked = await this.db.withTransaction(async (trx) => {
      const justLocked: string[] = [];
      if (accountKey) {
        const state = await this.throttle.recordFailure(trx, accountKey, this.policy.perAccount, now);
        if (state.justLocked) justLocked.push(accountKey);
      }
      const state = await this.throttle.recordFailure(trx, addressKey, this.policy.perAddress, now);
      if (state.justLocked) justLocked.push(addressKey);
      await this.audit.append(trx, {
        actor: found ? `user:${found.account.id}` : 'anonymous',
        action: 'login.failure',
        target: found ? `account:${found.account.id}` : null,
        details: { method: 'pwd', reason: found ? reason : 'unknown-login', ip: input.ip, clientId: input.clientId },
      });
      for (const key of justLocked) {
        const policy = key.startsWith('account:') ? this.policy.perAccount : this.policy.perAddress;
        await this.audit.append(trx, {
          actor: 'system',
          action: 'login.throttled',
          target: key.startsWith('account:') ? key : null,
          details: { key: key.startsWith('ip:') ? key : undefined, lockSeconds: policy.lockMs / 1000, ip: input.ip },
        });
      }
      return justLocked;
    });
    if (locked.length) {
      // The longest of the locks this failure set (the account's and the address's may differ).
      const lockMs = Math.max(...locked.map((key) => (key.startsWith('account:') ? this.policy.perAccount : this.policy.perAddress).lockMs));
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(lockMs / 1000) };
    }
    return { ok: false, reason };
  }
}
