import type { Clock } from '../lifecycle/clock.js';
import type { Transaction } from '../storage/db.js';
import type { CounterState, LoginThrottleRepository, ThrottlePolicy } from '../storage/login-throttle-repository.js';

/** A counter to charge an attempt to, and the bound on it. */
export interface ThrottleKey {
  key: string;
  policy: ThrottlePolicy;
}

/** An attempt that was counted and may be checked; settle it exactly once. */
export interface Admission {
  readonly keys: readonly ThrottleKey[];
  /** Failures already counted on each key before this attempt (in-flight attempts included). */
  readonly earlier: ReadonlyMap<string, number>;
}

export type AdmissionResult =
  | { allowed: true; admission: Admission }
  | { allowed: false; retryAfterSeconds: number; refusedBy: string[]; lockedUntil: Date };

/**
 * Throttling that cannot be raced: the attempt is counted on every key first (one atomic
 * statement, shared by all nodes); only an attempt that finds every count within its bound and no
 * lock is checked at all. So however many arrive at once, at most `maxFailures` checks of one key
 * can be in flight or failed within a window. An attempt refused here, or settled as no failure,
 * gives its count back; a failure keeps it and locks the key once the bound is reached.
 */
export class AttemptThrottle {
  constructor(
    private readonly repo: LoginThrottleRepository,
    private readonly clock: Clock,
  ) {}

  async admit(keys: readonly ThrottleKey[]): Promise<AdmissionResult> {
    const now = this.clock.now();
    const states = await this.repo.attempt(
      keys.map((k) => ({ key: k.key, windowMs: k.policy.windowMs })),
      now,
    );
    const byKey = new Map(states.map((s) => [s.key, s]));
    const refused = keys.filter((k) => refuses(byKey.get(k.key)!, k.policy, now));
    if (!refused.length) {
      return { allowed: true, admission: { keys, earlier: new Map(states.map((s) => [s.key, s.count - 1])) } };
    }
    await this.repo.settle(
      null,
      keys.map((k) => k.key),
    );
    // Until the latest lock ends; a key full of attempts still in flight waits for its lock to come.
    const until = Math.max(...refused.map((k) => refusedUntil(byKey.get(k.key)!, k.policy, now).getTime()));
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((until - now.getTime()) / 1000)),
      refusedBy: refused.map((k) => k.key),
      lockedUntil: new Date(until),
    };
  }

  /** The attempt was not a failure: counts are given back, and the keys in `reset` start again. */
  async succeeded(trx: Transaction | null, admission: Admission, reset: readonly string[] = []): Promise<void> {
    await this.repo.settle(
      trx,
      admission.keys.map((k) => k.key),
      reset,
    );
  }

  /** The attempt was never checked (the service was busy, or failed): nothing is counted. */
  async abandoned(admission: Admission): Promise<void> {
    await this.repo.settle(
      null,
      admission.keys.map((k) => k.key),
    );
  }

  /** The attempt failed: its counts stay; returns the keys (and their policies) it just locked. */
  async failed(trx: Transaction, admission: Admission): Promise<ThrottleKey[]> {
    const now = this.clock.now();
    const locked: ThrottleKey[] = [];
    for (const k of admission.keys) {
      if (await this.repo.lockIfReached(trx, k.key, k.policy, now)) locked.push(k);
    }
    return locked;
  }
}

function refuses(s: CounterState, policy: ThrottlePolicy, now: Date): boolean {
  return (s.lockedUntil !== null && s.lockedUntil > now) || s.count > policy.maxFailures;
}

function refusedUntil(s: CounterState, policy: ThrottlePolicy, now: Date): Date {
  if (s.lockedUntil && s.lockedUntil > now) return s.lockedUntil;
  // Full of attempts in flight (or left by a node that stopped mid-check): at worst they all fail
  // and lock the key from now; at the latest the window ends.
  return new Date(Math.min(now.getTime() + policy.lockMs, s.windowStartedAt.getTime() + policy.windowMs));
}
