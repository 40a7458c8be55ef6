import type { Database } from '../storage/db.js';
import type { AccountRepository } from '../storage/account-repository.js';
import type { ThrottlePolicy } from '../storage/login-throttle-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Account } from '../../oidc/account.js';
import type { AttemptThrottle, Admission, ThrottleKey } from './attempt-throttle.js';
import { HashQueue, HashQueueBusy, type HashQueueSettings } from './hash-queue.js';
import { dummyHash, verifyPassword } from './password.js';

export interface LoginPolicy {
  /** The fast bound: one account from one client address. */
  perAccountAddress: ThrottlePolicy;
  /** Every account from one client address. */
  perAddress: ThrottlePolicy;
  /** The slow bound: one account from every address (a longer window, a larger count). */
  perAccount: ThrottlePolicy;
  hash: HashQueueSettings;
}

export type PasswordLoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'invalid' | 'disabled' }
  /** Too many failures: refused before the password was looked at. */
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number }
  /** No verification slot in time (a flood): nothing was counted, come back shortly. */
  | { ok: false; reason: 'busy'; retryAfterSeconds: number };

export interface PasswordLoginInput {
  login: string;
  password: string;
  ip: string;
  clientId?: string;
}

/** The counters of one login: keys are kept apart by prefix (client auth uses its own). */
export const throttleKeys = {
  accountAddress: (accountId: string, ip: string) => `pwd:account-ip:${accountId}|${ip}`,
  address: (ip: string) => `ip:${ip}`,
  account: (accountId: string) => `account:${accountId}`,
};

/**
 * Password login (docs/security.md, "Login throttling"): the attempt is counted per (account,
 * address), per address and per account BEFORE the password is looked at; a refused attempt never
 * reaches the hash, so a lock is no oracle, and an unknown login costs a real verification (no
 * timing oracle either). Verifications pass through a bounded, suspicion-ordered queue. Every
 * success, failure, refusal and lock is audited. Passkey and certificate logins count nothing
 * here: a stranger's wrong passwords cannot lock an official out of them.
 */
export class PasswordLogin {
  private readonly queue: HashQueue;

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountRepository,
    private readonly throttle: AttemptThrottle,
    private readonly audit: AuditRepository,
    private readonly policy: LoginPolicy,
  ) {
    this.queue = new HashQueue(policy.hash);
  }

  async login(input: PasswordLoginInput): Promise<PasswordLoginResult> {
    const login = input.login.trim().toLowerCase();
    const found = login ? await this.accounts.findByLogin(login) : null;
    const keys: ThrottleKey[] = [{ key: throttleKeys.address(input.ip), policy: this.policy.perAddress }];
    if (found) {
      keys.push({ key: throttleKeys.accountAddress(found.account.id, input.ip), policy: this.policy.perAccountAddress });
      keys.push({ key: throttleKeys.account(found.account.id), policy: this.policy.perAccount });
    }
    const actor = found ? `user:${found.account.id}` : 'anonymous';
    const target = found ? `account:${found.account.id}` : null;
    const admitted = await this.throttle.admit(keys);
    if (!admitted.allowed) {
      await this.db.withTransaction((trx) =>
        this.audit.append(trx, {
          actor,
          action: 'login.refused_throttled',
          target,
          details: { ip: input.ip, clientId: input.clientId, lockedUntil: admitted.lockedUntil.toISOString(), keys: admitted.refusedBy.map(describeKey) },
        }),
      );
      return { ok: false, reason: 'throttled', retryAfterSeconds: admitted.retryAfterSeconds };
    }
    const { admission } = admitted;

    let passwordOk: boolean;
    try {
      // Suspicion: failures already counted against this address and this account.
      const suspicion = [...admission.earlier].filter(([key]) => !key.startsWith('pwd:')).reduce((sum, [, n]) => sum + n, 0);
      passwordOk = await this.queue.run(suspicion, async () => verifyPassword(input.password, found?.passwordHash ?? (await dummyHash())));
    } catch (err) {
      await this.throttle.abandoned(admission);
      if (err instanceof HashQueueBusy) return { ok: false, reason: 'busy', retryAfterSeconds: err.retryAfterSeconds };
      throw err;
    }

    if (found && passwordOk && found.account.status === 'active') {
      // The settlement and its login.success event in one statement (both kept, or neither).
      await this.throttle.succeededAudited(admission, [throttleKeys.accountAddress(found.account.id, input.ip)], { actor, action: 'login.success', target, details: { method: 'pwd', ip: input.ip, clientId: input.clientId } });
      return { ok: true, account: found.account };
    }
    const reason = found && passwordOk ? 'disabled' : 'invalid';
    const locked = await this.recordFailure(admission, { actor, target, reason: found ? reason : 'unknown-login', input });
    if (locked.length) {
      // The longest of the locks this failure set (the keys' policies differ).
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(Math.max(...locked.map((k) => k.policy.lockMs)) / 1000) };
    }
    return { ok: false, reason };
  }

  private recordFailure(admission: Admission, f: { actor: string; target: string | null; reason: string; input: PasswordLoginInput }): Promise<ThrottleKey[]> {
    const { ip, clientId } = f.input;
    return this.db.withTransaction(async (trx) => {
      const locked = await this.throttle.failed(trx, admission);
      await this.audit.append(trx, { actor: f.actor, action: 'login.failure', target: f.target, details: { method: 'pwd', reason: f.reason, ip, clientId } });
      for (const k of locked) {
        const accountLock = !k.key.startsWith('ip:');
        await this.audit.append(trx, {
          actor: 'system',
          action: 'login.throttled',
          target: accountLock ? f.target : null,
          details: { key: accountLock ? undefined : k.key, scope: describeKey(k.key), lockSeconds: k.policy.lockMs / 1000, ip },
        });
      }
      return locked;
    });
  }
}

/** Which bound a key is, for audit details (the address and account are named elsewhere). */
function describeKey(key: string): string {
  if (key.startsWith('pwd:account-ip:')) return 'account-address';
  if (key.startsWith('ip:')) return 'address';
  return 'account';
}
