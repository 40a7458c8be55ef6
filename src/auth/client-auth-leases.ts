import type { Clock } from '../lifecycle/clock.js';
import type { ThrottleKey } from '../accounts/attempt-throttle.js';

/** What the leases need of the counters (src/storage/login-throttle-repository.ts). */
export interface LeaseStore {
  lease(key: string, windowMs: number, ms: number, now: Date): Promise<boolean>;
}

/** Clock rates differ a little, and a timer fires to the millisecond: a lease is given up early by this much. */
const MARGIN_MS = 50;
/** Keys kept before expired ones are dropped. */
const MAX_KEYS = 10_000;

/**
 * Leases on clean client-authentication counters, so that a client's right secret is admitted
 * from memory instead of reading the counters at every request (docs/security.md, "Login
 * throttling"). The guarantee is the counters': while this node holds a lease on a key, an attempt
 * counted on that key on any node waits for the lease's end before its secret is checked
 * (AttemptThrottle.admit), so no failure can be counted, and no lock set, while this node admits
 * from memory; a key that is not clean (a failure in its window, an attempt being checked, a
 * lock) gets no lease and its requests read the counters as before.
 *
 * A lease ends `leaseMs` after its request was sent, by this process's monotonic clock; the
 * database's copy ends `leaseMs` after the statement ran, by the database's clock, which is no
 * earlier. It is renewed in the background once half of it has run, while requests come.
 */
export class ClientAuthLeases {
  private readonly held = new Map<string, number>();
  private readonly unclean = new Map<string, number>();
  private readonly taking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    private readonly leaseMs = 2_000,
  ) {}

  /** Whether this node holds a lease on every key now, taking the ones it lacks (false: read the counters). */
  async holdAll(keys: readonly ThrottleKey[]): Promise<boolean> {
    for (const k of keys) if (!(await this.hold(k))) return false;
    return true;
  }

  /**
   * holdAll from memory alone: true when this node holds a lease on every key now (renewing, as
   * holdAll does, those past half of their time); false says nothing (holdAll then decides).
   */
  heldNow(keys: readonly ThrottleKey[]): boolean {
    const now = performance.now();
    let renew = false;
    for (const k of keys) {
      const until = this.held.get(k.key) ?? 0;
      if (until <= now) return false;
      if (until - now < this.leaseMs / 2) renew = true;
    }
    // Renewal is rare (once per half lease): only then are the keys read a second time.
    if (renew) for (const k of keys) if (this.held.get(k.key)! - now < this.leaseMs / 2) void this.take(k).catch(() => undefined);
    return true;
  }

  private async hold(k: ThrottleKey): Promise<boolean> {
    const now = performance.now();
    const until = this.held.get(k.key) ?? 0;
    if (until > now) {
      if (until - now < this.leaseMs / 2) void this.take(k).catch(() => undefined);
      return true;
    }
    // A key found unclean is not asked again before a lease's length: its requests read the counters.
    if ((this.unclean.get(k.key) ?? 0) > now) return false;
    try {
      return await this.take(k);
    } catch {
      return false; // the read that follows reports the database's state
    }
  }

  /** One statement per key at a time; every request waiting for it shares its answer. */
  private take(k: ThrottleKey): Promise<boolean> {
    const running = this.taking.get(k.key);
    if (running) return running;
    const sent = performance.now();
    const taking = this.store
      .lease(k.key, k.policy.windowMs, this.leaseMs, this.clock.now())
      .then((taken) => {
        if (this.held.size + this.unclean.size > MAX_KEYS) this.prune();
        if (taken) {
          this.held.set(k.key, sent + this.leaseMs - MARGIN_MS);
          this.unclean.delete(k.key);
        } else {
          // The lease already held runs to its end (the database keeps that end); no new one.
          this.unclean.set(k.key, performance.now() + this.leaseMs);
        }
        return taken;
      })
      .finally(() => this.taking.delete(k.key));
    this.taking.set(k.key, taking);
    return taking;
  }

  private prune(): void {
    const now = performance.now();
    for (const map of [this.held, this.unclean]) for (const [key, until] of map) if (until <= now) map.delete(key);
  }
}
