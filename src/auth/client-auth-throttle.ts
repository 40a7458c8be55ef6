import type { Database } from '../storage/db.js';
import type { ThrottlePolicy } from '../storage/login-throttle-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Admission, AttemptThrottle, ThrottleKey } from '../accounts/attempt-throttle.js';

export interface ClientAuthPolicy {
  /** One client from one address: the fast bound. */
  perClientAddress: ThrottlePolicy;
  /** Every client from one address. */
  perAddress: ThrottlePolicy;
}

export interface ClientAuthAttempt {
  /** The client the request names (Basic credentials or the body's client_id), if any. */
  clientId: string | null;
  ip: string;
  /** The endpoint's path (/oidc/token, …/introspection, …/revocation). */
  endpoint: string;
}

export type ClientAuthAdmission = { allowed: true; admission: Admission } | { allowed: false; retryAfterSeconds: number };

/** Client ids are the caller's input: bounded before they become part of a key. */
const keyPart = (clientId: string) => clientId.slice(0, 200);

/**
 * Client authentication at the token, introspection and revocation endpoints is counted like
 * password logins (docs/security.md, "Login throttling"): before the secret is checked, per (client,
 * address) and per address. There is deliberately no bound per client alone: it would let anyone
 * who knows a portal's client_id lock that portal out of the token endpoint, and a 256-bit secret
 * needs no such bound. Every failure and every lock is audited; refused requests are not (a flood
 * must not grow the audit chain), the lock that refuses them is.
 */
export class ClientAuthThrottle {
  constructor(
    private readonly db: Database,
    private readonly throttle: AttemptThrottle,
    private readonly audit: AuditRepository,
    private readonly policy: ClientAuthPolicy,
  ) {}

  private keys(a: ClientAuthAttempt): ThrottleKey[] {
    const keys: ThrottleKey[] = [{ key: `client-auth:ip:${a.ip}`, policy: this.policy.perAddress }];
    if (a.clientId) keys.push({ key: `client-auth:client-ip:${keyPart(a.clientId)}|${a.ip}`, policy: this.policy.perClientAddress });
    return keys;
  }

  async admit(a: ClientAuthAttempt): Promise<ClientAuthAdmission> {
    const admitted = await this.throttle.admit(this.keys(a));
    return admitted.allowed ? admitted : { allowed: false, retryAfterSeconds: admitted.retryAfterSeconds };
  }

  /** The provider answered: a failed client authentication keeps its count, anything else gives it back. */
  async settle(admission: Admission, a: ClientAuthAttempt, failure: { reason: string } | null): Promise<void> {
    if (!failure) {
      const reset = a.clientId ? admission.keys.filter((k) => k.key.startsWith('client-auth:client-ip:')).map((k) => k.key) : [];
      return this.throttle.succeeded(null, admission, reset);
    }
    await this.db.withTransaction(async (trx) => {
      const locked = await this.throttle.failed(trx, admission);
      const target = a.clientId ? `client:${keyPart(a.clientId)}` : null;
      await this.audit.append(trx, {
        actor: 'anonymous',
        action: 'client_auth.failure',
        target,
        details: { ip: a.ip, endpoint: a.endpoint, reason: failure.reason.slice(0, 200) },
      });
      for (const k of locked) {
        await this.audit.append(trx, {
          actor: 'system',
          action: 'client_auth.throttled',
          target: k.key.startsWith('client-auth:client-ip:') ? target : null,
          details: { scope: k.key.startsWith('client-auth:ip:') ? 'address' : 'client-address', ip: a.ip, endpoint: a.endpoint, lockSeconds: k.policy.lockMs / 1000 },
        });
      }
    });
  }

  /** The request never reached client authentication's verdict (an error): nothing is counted. */
  abandoned(admission: Admission): Promise<void> {
    return this.throttle.abandoned(admission);
  }
}
