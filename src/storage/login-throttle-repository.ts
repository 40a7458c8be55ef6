import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';

export interface ThrottleState {
  failures: number;
  lockedUntil: Date | null;
}

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

interface Row {
  failures: number;
  window_started_at: Date | string;
  locked_until: Date | string | null;
}

/** Failed-login counters in the database, so a lock holds on every node. */
export class LoginThrottleRepository {
  constructor(private readonly knex: Knex) {}

  async lockedUntil(keys: string[], now: Date): Promise<Date | null> {
    const rows = await this.knex<Row & { key: string }>('login_throttle').whereIn('key', keys).whereNotNull('locked_until');
    const until = rows.map((r) => normalise.date(r.locked_until!)).filter((d) => d > now);
    return until.length ? new Date(Math.max(...until.map((d) => d.getTime()))) : null;
  }

  /**
   * Counts one failure for `key` and locks it when the count reaches the policy's maximum within
   * the window. The row is locked (SELECT … FOR UPDATE) so concurrent failures are all counted.
   */
  async recordFailure(trx: Transaction, key: string, policy: ThrottlePolicy, now: Date): Promise<ThrottleState & { justLocked: boolean }> {
    await trx('login_throttle').insert({ key, failures: 0, window_started_at: now, locked_until: null }).onConflict('key').ignore();
    const row = (await trx<Row & { key: string }>('login_throttle').where({ key }).forUpdate().first())!;
    const windowStart = normalise.date(row.window_started_at);
    const expired = now.getTime() - windowStart.getTime() > policy.windowMs;
    const failures = expired ? 1 : row.failures + 1;
    const wasLocked = row.locked_until != null && normalise.date(row.locked_until) > now;
    const lockedUntil = failures >= policy.maxFailures ? new Date(now.getTime() + policy.lockMs) : wasLocked ? normalise.date(row.locked_until!) : null;
    await trx('login_throttle')
      .where({ key })
      .update({ failures, window_started_at: expired ? now : windowStart, locked_until: lockedUntil });
    return { failures, lockedUntil, justLocked: !!lockedUntil && !wasLocked };
  }

  async reset(trx: Transaction, key: string): Promise<void> {
    await trx('login_throttle').where({ key }).del();
  }
}
