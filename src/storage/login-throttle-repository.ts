import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/** One counter after an attempt was recorded on it. */
export interface CounterState {
  key: string;
  /** Failures in the window plus attempts in flight, this one included. */
  count: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
}

interface Row {
  key: string;
  failures: number | string;
  window_started_at: Date | string;
  locked_until: Date | string | null;
}

const state = (row: Row): CounterState => ({
  key: row.key,
  count: Number(row.failures),
  windowStartedAt: normalise.date(row.window_started_at),
  lockedUntil: row.locked_until == null ? null : normalise.date(row.locked_until),
});

/**
 * Attempt counters in the database, shared by every node (login_throttle: key, failures,
 * window_started_at, locked_until). An attempt is counted BEFORE the secret is checked, in one
 * atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel attempts each see a
 * distinct count and no more than the limit can be checked at once; an attempt that turns out
 * not to be a failure gives its count back (`release`).
 */
export class LoginThrottleRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Counts one attempt on each key (in key order, so concurrent statements lock rows in the same
   * order). A window that has run out, or a lock that has expired, starts a fresh count.
   */
  async attempt(keys: ReadonlyArray<{ key: string; windowMs: number }>, now: Date): Promise<CounterState[]> {
    if (!keys.length) return [];
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : 1));
    const values = sorted.map(() => '(?, ?::timestamptz, ?::timestamptz)').join(', ');
    const bindings = sorted.flatMap(({ key, windowMs }) => [key, now.toISOString(), new Date(now.getTime() - windowMs).toISOString()]);
    // In DO UPDATE SET every reference to t is the row as it was before this statement.
    const fresh = `(t.locked_until IS NOT NULL AND t.locked_until <= EXCLUDED.window_started_at)
      OR (t.locked_until IS NULL AND t.window_started_at <= (SELECT i.window_start FROM input i WHERE i.key = t.key))`;
    const result = await this.knex.raw<{ rows: Row[] }>(
      `WITH input(key, now, window_start) AS (VALUES ${values})
       INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
       SELECT key, 1, now, NULL FROM input ORDER BY key
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN ${fresh} THEN EXCLUDED.window_started_at ELSE t.window_started_at END,
         locked_until = CASE WHEN t.locked_until <= EXCLUDED.window_started_at THEN NULL ELSE t.locked_until END
       RETURNING key, failures, window_started_at, locked_until`,
      bindings,
    );
    return result.rows.map(state);
  }

  /**
   * Settles attempts that were not failures: each key in `release` gives its count back, each in
   * `reset` starts again from nothing (a success proves the secret from there).
   */
  async settle(trx: Transaction | null, release: readonly string[], reset: readonly string[] = []): Promise<void> {
    const q = trx ?? this.knex;
    if (reset.length) await q('login_throttle').whereIn('key', reset).del();
    const rest = release.filter((k) => !reset.includes(k));
    if (rest.length) await q('login_throttle').whereIn('key', rest).update({ failures: this.knex.raw('GREATEST(failures - 1, 0)') });
  }

  /**
   * The attempt on `key` was a failure: its count stays. When the count has reached the limit
   * and the key is not locked yet, it is locked now; returns whether this call locked it.
   */
  async lockIfReached(trx: Transaction, key: string, policy: ThrottlePolicy, now: Date): Promise<boolean> {
    const locked = await trx('login_throttle')
      .where({ key })
      .where('failures', '>=', policy.maxFailures)
      .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<=', now))
      .update({ locked_until: new Date(now.getTime() + policy.lockMs) }, ['key']);
    return locked.length > 0;
  }

  async reset(trx: Transaction, key: string): Promise<void> {
    await trx('login_throttle').where({ key }).del();
  }
}
