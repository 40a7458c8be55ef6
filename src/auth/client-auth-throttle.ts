import type { Database } from '../storage/db.js';
import type { ThrottlePolicy } from '../storage/login-throttle-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Admission, AttemptThrottle, ThrottleKey } from '../accounts/attempt-throttle.js';
import type { ClientAuthLeases } from './client-auth-leases.js';

export interface ClientAuthPolicy {
  /** One client from one address: the fast bound. */
  perClientAddress: ThrottlePolicy;
  /** Every client from one address. */
  perAddress: ThrottlePolicy;
}

export interface ClientAuthAttempt {
  /** The client the request names (Basic credentials or the body's client_id), if any. */
  clientId: string | null;
  /** The client secret the request presents (Basic credentials or the body's client_secret), if any. */
  secret?: string | null;
  ip: string;
  /** The endpoint's path (/oidc/token, …/introspection, …/revocation). */
  endpoint: string;
}

/**
 * `counted`: the attempt is pending on its counters until settled. `verified`: the secret was the
 * client's own before anything was counted, and no counter refused it: nothing was written.
 */
export type ClientAdmission = { counted: Admission } | { verified: { dirty: string[] } };

export type ClientAuthAdmission = { allowed: true; admission: ClientAdmission } | { allowed: false; retryAfterSeconds: number };

/**
 * Whether a presented secret is the client's current one (constant time): the client registry's,
 * which keeps its verdict for the attempt (oidc-provider's check of the same request uses it).
 */
export type SecretCheck = (clientId: string, secret: string, attempt: ClientAuthAttempt) => boolean | Promise<boolean>;

/** A right secret on clean counters held under this node's leases: nothing read, nothing to settle. */
const CLEAN_VERIFIED: ClientAuthAdmission = Object.freeze({ allowed: true, admission: Object.freeze({ verified: Object.freeze({ dirty: Object.freeze([]) as unknown as string[] }) }) });

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
    private readonly secretMatches?: SecretCheck,
    /** Leases on clean counters: a right secret is then admitted without reading them. */
    private readonly leases?: ClientAuthLeases,
  ) {}

  /**
   * An attempt's keys, made once per attempt object: the client-auth middleware hands the same
   * (frozen) attempt to every request of a keep-alive connection that sends the same credentials
   * from the same address to the same endpoint (docs/performance.md, "Token endpoint (client
   * credentials), seventh pass"). The keys are never changed by their users (readonly).
   */
  private readonly keysOf = new WeakMap<ClientAuthAttempt, ThrottleKey[]>();

  private keys(a: ClientAuthAttempt): ThrottleKey[] {
    let keys = this.keysOf.get(a);
    if (keys) return keys;
    keys = [{ key: `client-auth:ip:${a.ip}`, policy: this.policy.perAddress }];
    if (a.clientId) keys.push({ key: `client-auth:client-ip:${keyPart(a.clientId)}|${a.ip}`, policy: this.policy.perClientAddress });
    this.keysOf.set(a, keys);
    return keys;
  }

  /**
   * A request with the client's right secret (compared in memory with the registry's cached one)
   * is admitted by reading the counters, without writing them: it cannot become a failure, so the
   * bound on failed checks is kept by the counted path alone, which every wrong secret takes. When
   * a counter would refuse it, it takes the counted path too, so a refusal looks and takes the
   * same whether the secret was right or not. While this node holds a lease on every key (the
   * keys are clean, and no other attempt can be checked before the lease ends), not even the read.
   */
  admit(a: ClientAuthAttempt): ClientAuthAdmission | Promise<ClientAuthAdmission> {
    const keys = this.keys(a);
    if (a.clientId && a.secret && this.secretMatches) {
      // Without a promise when the secret is known from the cache and this node holds the leases
      // (the token endpoint's common case, docs/performance.md, "Token endpoint, fifth pass"): the
      // same decision as below, taken from memory alone.
      const matches = this.secretMatches(a.clientId, a.secret, a);
      if (matches === true && this.leases?.heldNow(keys)) return CLEAN_VERIFIED;
      if (matches !== false) return this.admitMatching(keys, matches);
    }
    return this.admitCounted(keys);
  }

  private async admitMatching(keys: ThrottleKey[], matches: true | Promise<boolean>): Promise<ClientAuthAdmission> {
    if (await matches) {
      if (this.leases && (this.leases.heldNow(keys) || (await this.leases.holdAll(keys)))) return CLEAN_VERIFIED;
      const verified = await this.throttle.peek(keys);
      if (verified) return { allowed: true, admission: { verified } };
    }
    return this.admitCounted(keys);
  }

  private async admitCounted(keys: ThrottleKey[]): Promise<ClientAuthAdmission> {
    const admitted = await this.throttle.admit(keys);
    return admitted.allowed ? { allowed: true, admission: { counted: admitted.admission } } : { allowed: false, retryAfterSeconds: admitted.retryAfterSeconds };
  }

  /**
   * The provider answered: a failed client authentication keeps its count, anything else gives it
   * back. A success admitted on clean counters has nothing to give back: answered without a promise.
   */
  settle(admitted: ClientAdmission, a: ClientAuthAttempt, failure: { reason: string } | null): Promise<void> | undefined {
    if (!failure && 'verified' in admitted && admitted.verified.dirty.length === 0) return undefined;
    return this.settleAsync(admitted, a, failure);
  }

  private async settleAsync(admitted: ClientAdmission, a: ClientAuthAttempt, failure: { reason: string } | null): Promise<void> {
    if ('verified' in admitted) {
      if (!failure) {
        // A success starts the (client, address) counter again, as on the counted path.
        const reset = admitted.verified.dirty.filter((k) => k.startsWith('client-auth:client-ip:'));
        if (reset.length) await this.throttle.succeeded(null, { keys: [], earlier: new Map() }, reset);
        return;
      }
      // Refused although the secret matched (the client changed meanwhile): counted as any failure.
      const counted = await this.throttle.admit(this.keys(a));
      if (!counted.allowed) return;
      return this.settleAsync({ counted: counted.admission }, a, failure);
    }
    const admission = admitted.counted;
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
  async abandoned(admission: ClientAdmission): Promise<void> {
    if ('counted' in admission) await this.throttle.abandoned(admission.counted);
  }
}
