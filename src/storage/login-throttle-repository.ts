import type { Knex } from 'knex';
import type { AuditEvent, AuditEventInput } from '../audit/audit-chain.js';
import { auditAppendCall, type AppendedRow } from './audit-repository.js';
import { normalise, type Transaction } from './db.js';
import { runPooledStatement } from './pooled-statement.js';

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/** One counter after an attempt was recorded on it. */
export interface CounterState {
  key: string;
  /** Settled failures in the window. */
  failures: number;
  /** Attempts being checked right now, this one included. */
  pending: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
  /** How long a lease on the key (`lease`) has yet to run, in the database's clock (0: none). */
  leaseWaitMs?: number;
}

interface Row {
  key: string;
  failures: number | string;
  pending: number | string;
  window_started_at: Date | string;
  locked_until: Date | string | null;
  lease_wait_ms?: number | string | null;
}

const state = (row: Row): CounterState => ({
  key: row.key,
  failures: Number(row.failures),
  pending: Number(row.pending),
  windowStartedAt: normalise.date(row.window_started_at),
  lockedUntil: row.locked_until == null ? null : normalise.date(row.locked_until),
  ...(row.lease_wait_ms != null && { leaseWaitMs: Math.max(0, Math.ceil(Number(row.lease_wait_ms))) }),
});

/**
 * Attempt counters in the database, shared by every node (login_throttle: key, failures, pending,
 * window_started_at, locked_until). An attempt is counted BEFORE the secret is checked, in one
 * atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel attempts each see
 * every attempt before them and no more than the limit can be checked within a window. An attempt
 * is `pending` until it is settled: a failure moves it to `failures` (and may lock the key), anything
 * else just ends it.
 */
export class LoginThrottleRepository {
  constructor(private readonly knex: Knex) {}

  /**
   * Counts one pending attempt on each key, in one statement (a password login counts three: two
   * round trips fewer than a statement per key). The keys are inserted or updated in key order
   * (the rows come from the sorted list, numbered, in that order), the order in which every other
   * statement on these rows takes them (`settle`, `settleAudited`, `fail`), so two attempts never
   * hold each other's rows: one that meets another's new key waits for that statement at its first
   * common key and holds none after it. (Unsorted, two multi-row upserts inserting the same new
   * keys in opposite orders deadlock on PostgreSQL's speculative insertion; hence, until
   * 2026-12-06, a statement per key.) A window that has run out, or a lock that has expired,
   * starts afresh (attempts still pending from before are forgotten too: a node that stopped
   * mid-check leaves none behind for longer than a window); each key's window is its own.
   */
  async attempt(keys: ReadonlyArray<{ key: string; windowMs: number }>, now: Date): Promise<CounterState[]> {
    if (!keys.length) return [];
    // One entry per key (ON CONFLICT cannot touch a row twice in one statement), in key order
    // (code units; `settle` sorts in SQL: the keys of one attempt differ in their prefix, where
    // both orders agree).
    const windows = new Map(keys.map((k) => [k.key, k.windowMs]));
    const sorted = [...windows.keys()].sort();
    const starts = sorted.map((k) => new Date(now.getTime() - windows.get(k)!).toISOString());
    // In DO UPDATE SET every reference to t is the row as it was before this statement; its
    // window's start is looked up by its key (a subquery: only t and EXCLUDED are in scope there).
    const windowStart = '(SELECT w.starts[array_position(w.keys, t.key)] FROM w)';
    const fresh = `(t.locked_until IS NOT NULL AND t.locked_until <= EXCLUDED.window_started_at) OR (t.locked_until IS NULL AND t.window_started_at <= ${windowStart})`;
    const result = await runPooledStatement<Row>(
      this.knex,
      'tinnhiem_throttle_attempt',
      `WITH w AS (SELECT ?::text[] AS keys, ?::timestamptz[] AS starts)
       INSERT INTO login_throttle AS t (key, failures, pending, window_started_at, locked_until)
       SELECT k.key, 0, 1, ?::timestamptz, NULL FROM w, unnest(w.keys) WITH ORDINALITY AS k(key, n) ORDER BY k.n
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ${fresh} THEN 0 ELSE t.failures END,
         pending = CASE WHEN ${fresh} THEN 1 ELSE t.pending + 1 END,
         window_started_at = CASE WHEN ${fresh} THEN EXCLUDED.window_started_at ELSE t.window_started_at END,
         locked_until = CASE WHEN t.locked_until <= EXCLUDED.window_started_at THEN NULL ELSE t.locked_until END
       RETURNING key, failures, pending, window_started_at, locked_until,
         COALESCE(EXTRACT(EPOCH FROM (t.lease_until - clock_timestamp())) * 1000, 0) AS lease_wait_ms`,
      [sorted, starts, now.toISOString()],
    );
    const states = new Map(result.rows.map((r) => [r.key, state(r)]));
    return keys.map((k) => states.get(k.key)!);
  }

  /**
   * A lease of `ms` on a clean key (no lock, nothing pending, no failure in its window): true if
   * taken. Until it ends (in the database's clock: `attempt` reports what is left of it), every
   * attempt counted on the key waits before its secret is checked, so the holder may admit right
   * secrets from memory without reading the counters. A new row starts with its window already
   * over, so the first attempt counted on it starts the window as on an absent key.
   */
  async lease(key: string, windowMs: number, ms: number, now: Date): Promise<boolean> {
    const start = new Date(now.getTime() - windowMs).toISOString();
    const result = await runPooledStatement(
      this.knex,
      'tinnhiem_throttle_lease',
      `INSERT INTO login_throttle AS t (key, failures, pending, window_started_at, locked_until, lease_until)
       VALUES (?, 0, 0, ?::timestamptz, NULL, clock_timestamp() + ? * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE SET lease_until = EXCLUDED.lease_until
       WHERE t.pending = 0 AND (t.locked_until IS NULL OR t.locked_until <= ?::timestamptz)
         AND (t.failures = 0 OR t.locked_until IS NOT NULL OR t.window_started_at <= ?::timestamptz)
       RETURNING key`,
      [key, start, ms, now.toISOString(), start],
    );
    return result.rows.length === 1;
  }

  /** The counters of `keys` as they are, without counting anything (absent keys: nothing counted). */
  async peek(keys: readonly string[]): Promise<CounterState[]> {
    const rows = await this.knex<Row>('login_throttle').whereIn('key', [...keys]).select('key', 'failures', 'pending', 'window_started_at', 'locked_until');
    return rows.map(state);
  }

  /**
   * Ends attempts that were not failures: each key in `release` loses one pending attempt, each in
   * `reset` starts again from nothing (a success proves the secret from there).
   */
  async settle(trx: Transaction | null, release: readonly string[], reset: readonly string[] = []): Promise<void> {
    const q = trx ?? this.knex;
    const keys = [...new Set([...release, ...reset])].sort();
    if (keys.length === 1) {
      const [key] = keys;
      if (reset.includes(key)) await q('login_throttle').where({ key }).del();
      else await q('login_throttle').where({ key }).update({ pending: this.knex.raw('GREATEST(pending - 1, 0)') });
      return;
    }
    if (!keys.length) return;
    // Every key in one statement (a password login settles three: two round trips fewer), its rows
    // locked first in key order (FOR UPDATE under ORDER BY locks them as the sort hands them on),
    // as every other statement on these rows takes them: a multi-row UPDATE alone locks rows in
    // whatever order it finds them, and two such statements deadlock. The delete and the update
    // touch disjoint rows, each at its latest version (READ COMMITTED re-reads a row updated since).
    const resets = keys.filter((k) => reset.includes(k));
    await q.raw(
      `WITH locked AS (SELECT key FROM login_throttle WHERE key = ANY(?::text[]) ORDER BY key FOR UPDATE),
       gone AS (DELETE FROM login_throttle AS t USING locked WHERE t.key = locked.key AND t.key = ANY(?::text[]) RETURNING t.key)
       UPDATE login_throttle AS t SET pending = GREATEST(t.pending - 1, 0)
       FROM locked WHERE t.key = locked.key AND NOT (t.key = ANY(?::text[]))`,
      [keys, resets, resets],
    );
  }

  /**
   * `settle` and the audit event of the outcome in one statement, outside a transaction (a
   * password login's success: BEGIN, the settlement, the append and COMMIT were four round trips;
   * docs/performance.md, "Password login, sixth pass"). One statement is one transaction: the
   * settlement and the event commit together or not at all. The order of the locks is the one
   * the transaction took, so no lock cycle forms with the other statements on these rows or on
   * the chain: the counters' rows first, locked in key order (`locked`), then the chain's lock in
   * the append function, which runs only after both changes (it takes, through a LATERAL
   * argument, the count of the rows they touched, which it cannot have before they ran).
   */
  async settleAudited(release: readonly string[], reset: readonly string[], event: AuditEventInput, now: Date): Promise<AuditEvent> {
    const keys = [...new Set([...release, ...reset])].sort();
    const resets = keys.filter((k) => reset.includes(k));
    const call = auditAppendCall(event, now);
    // The call's first argument (the event's time) made to depend on the settlement's row.
    const after = call.sql.replace(/^tinnhiem_audit_append\(\?::timestamptz,/, 'tinnhiem_audit_append(CASE WHEN settled.n >= 0 THEN ?::timestamptz END,');
    if (after === call.sql) throw new Error('settleAudited: the audit append call has changed its form');
    const result = await runPooledStatement<AppendedRow>(
      this.knex,
      'tinnhiem_throttle_settle_audited',
      `WITH locked AS (SELECT key FROM login_throttle WHERE key = ANY(?::text[]) ORDER BY key FOR UPDATE),
         gone AS (DELETE FROM login_throttle AS t USING locked WHERE t.key = locked.key AND t.key = ANY(?::text[]) RETURNING t.key),
         released AS (UPDATE login_throttle AS t SET pending = GREATEST(t.pending - 1, 0) FROM locked WHERE t.key = locked.key AND NOT (t.key = ANY(?::text[])) RETURNING t.key),
         settled AS (SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM released) AS n)
         SELECT a.out_seq, a.out_prev_hash, a.out_hash FROM settled CROSS JOIN LATERAL ${after} a`,
      [keys, resets, resets, ...call.bindings],
    );
    return call.appended(result.rows[0]);
  }

  /**
   * The attempt on `key` failed: one pending attempt becomes a failure, and once the failures reach
   * the limit an unlocked key is locked; returns whether this call locked it.
   */
  async fail(trx: Transaction, key: string, policy: ThrottlePolicy, now: Date): Promise<boolean> {
    const lockedUntil = new Date(now.getTime() + policy.lockMs).toISOString();
    // The row is locked first (FOR UPDATE) so that the lock state read here is the one updated.
    const result = await trx.raw<{ rows: Array<{ just_locked: boolean }> }>(
      `UPDATE login_throttle AS t SET
         failures = o.failures + 1,
         pending = GREATEST(o.pending - 1, 0),
         locked_until = CASE WHEN o.failures + 1 >= ? AND NOT o.locked THEN ?::timestamptz ELSE o.locked_until END
       FROM (SELECT key, failures, pending, locked_until, COALESCE(locked_until > ?::timestamptz, false) AS locked
             FROM login_throttle WHERE key = ? FOR UPDATE) AS o
       WHERE t.key = o.key
       RETURNING (o.failures + 1 >= ? AND NOT o.locked) AS just_locked`,
      [policy.maxFailures, lockedUntil, now.toISOString(), key, policy.maxFailures],
    );
    return result.rows.some((r) => r.just_locked);
  }

  /**
   * Forgets a key. An account's key takes its (account, address) keys with it: a password set by an
   * administrator ends every lock on that account's password.
   */
  async reset(trx: Transaction, key: string): Promise<void> {
    await trx('login_throttle').where({ key }).del();
    const account = /^account:(.+)$/.exec(key)?.[1];
    if (account) await trx('login_throttle').where('key', 'like', `pwd:account-ip:${account.replace(/[\\%_]/g, '\\$&')}|%`).del();
  }
}
