import type { AuditEvent, AuditEventInput } from '../audit/audit-chain.js';
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
  /** Failures already counted on each key before this attempt (settled, in the window). */
  readonly earlier: ReadonlyMap<string, number>;
}

export type AdmissionResult =
  | { allowed: true; admission: Admission }
  | { allowed: false; retryAfterSeconds: number; refusedBy: string[]; lockedUntil: Date };

/**
 * Throttling that cannot be raced: the attempt is counted on every key first (one atomic
 * statement, shared by all nodes) as pending; only an attempt that finds, on every key, no lock
 * and failures + pending within the bound is checked at all. So however many arrive at once, at
 * most `maxFailures` checks of one key can be in flight or failed within a window. An attempt
 * refused here, or settled as no failure, ends its pending count; a failure turns it into a
 * failure and locks the key once the failures reach the bound.
 */
export class AttemptThrottle {
  private readonly reads: BatchedReads;

  constructor(
    private readonly repo: LoginThrottleRepository,
    private readonly clock: Clock,
  ) {
    this.reads = new BatchedReads((keys) => repo.peek(keys));
  }

  async admit(keys: readonly ThrottleKey[]): Promise<AdmissionResult> {
    const now = this.clock.now();
    const states = await this.repo.attempt(
      keys.map((k) => ({ key: k.key, windowMs: k.policy.windowMs })),
      now,
    );
    const byKey = new Map(states.map((s) => [s.key, s]));
    const refused = keys.filter((k) => refuses(byKey.get(k.key)!, k.policy, now));
    if (!refused.length) {
      // A key leased by a node that admits right secrets from memory (ClientAuthLeases): this
      // attempt is not checked before the lease ends, so no failure or lock can fall within it.
      const leaseWaitMs = Math.max(0, ...states.map((s) => s.leaseWaitMs ?? 0));
      if (leaseWaitMs > 0) await new Promise((resolve) => setTimeout(resolve, leaseWaitMs + 1));
      return { allowed: true, admission: { keys, earlier: new Map(states.map((s) => [s.key, s.failures])) } };
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

  /**
   * For an attempt whose secret is already known to be right (it cannot become a failure): admitted,
   * without counting it, when no key is locked and each would admit it if it were counted; `dirty`
   * lists the keys with failures in their window (a success resets those). Null: take the counted path.
   */
  async peek(keys: readonly ThrottleKey[]): Promise<{ dirty: string[] } | null> {
    const read = await this.reads.read(keys.map((k) => k.key));
    const now = this.clock.now();
    const states = new Map(read.map((s) => [s.key, s]));
    const dirty: string[] = [];
    for (const k of keys) {
      const s = states.get(k.key);
      if (!s || expired(s, k.policy, now)) continue;
      if (s.lockedUntil !== null && s.lockedUntil > now) return null;
      if (s.failures + s.pending + 1 > k.policy.maxFailures) return null;
      if (s.failures > 0) dirty.push(k.key);
    }
    return { dirty };
  }

  /** The attempt was not a failure: counts are given back, and the keys in `reset` start again. */
  async succeeded(trx: Transaction | null, admission: Admission, reset: readonly string[] = []): Promise<void> {
    await this.repo.settle(
      trx,
      admission.keys.map((k) => k.key),
      reset,
    );
  }

  /**
   * `succeeded` with the audit event of the success, in one statement outside a transaction
   * (LoginThrottleRepository.settleAudited): both are kept, or neither.
   */
  async succeededAudited(admission: Admission, reset: readonly string[], event: AuditEventInput): Promise<AuditEvent> {
    return this.repo.settleAudited(
      admission.keys.map((k) => k.key),
      reset,
      event,
      this.clock.now(),
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
    // In key order, as every other statement on these rows (no deadlock between transactions).
    for (const k of [...admission.keys].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      if (await this.repo.fail(trx, k.key, k.policy, now)) locked.push(k);
    }
    return locked;
  }
}

/**
 * Counter reads for `peek`, batched: one query at a time, for every read asked for before it is
 * sent; a read asked for while one is running waits for the next. Every read therefore starts
 * after it was asked for (never an answer from a query already under way), and a burst of
 * requests costs a few round trips instead of one each.
 */
class BatchedReads {
  private waiting: Array<{ keys: readonly string[]; resolve: (s: CounterState[]) => void; reject: (err: unknown) => void }> = [];
  private running = false;

  constructor(private readonly load: (keys: string[]) => Promise<CounterState[]>) {}

  read(keys: readonly string[]): Promise<CounterState[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ keys, resolve, reject });
      if (!this.running) {
        this.running = true;
        // After the requests of this turn of the event loop have asked too.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length) {
      const batch = this.waiting.splice(0, 200);
      try {
        const states = new Map((await this.load([...new Set(batch.flatMap((b) => b.keys))])).map((s) => [s.key, s]));
        for (const b of batch) b.resolve(b.keys.flatMap((k) => states.get(k) ?? []));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}

/** The counter's window (or its lock) has run out: the next attempt starts it afresh (as repo.attempt does). */
function expired(s: CounterState, policy: ThrottlePolicy, now: Date): boolean {
  if (s.lockedUntil !== null) return s.lockedUntil <= now;
  return s.windowStartedAt.getTime() <= now.getTime() - policy.windowMs;
}

/** Locked, or as many failures and checks in flight as the bound allows (this attempt included, it is one too many). */
function refuses(s: CounterState, policy: ThrottlePolicy, now: Date): boolean {
  return (s.lockedUntil !== null && s.lockedUntil > now) || s.failures + s.pending > policy.maxFailures;
}

/** Attempts still being checked settle within seconds: come back then (they may have locked the key by then). */
const PENDING_RETRY_MS = 2_000;

function refusedUntil(s: CounterState, policy: ThrottlePolicy, now: Date): Date {
  if (s.lockedUntil && s.lockedUntil > now) return s.lockedUntil;
  // Failures at the bound with no lock: left by a node that stopped mid-way; the window ends it.
  if (s.failures >= policy.maxFailures) return new Date(Math.min(now.getTime() + policy.lockMs, s.windowStartedAt.getTime() + policy.windowMs));
  return new Date(now.getTime() + PENDING_RETRY_MS);
}
