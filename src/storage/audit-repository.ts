import type { Knex } from 'knex';
import {
  GENESIS_HASH,
  eventBodyAroundSeq,
  eventHash,
  normaliseDetails,
  type AuditEvent,
  type AuditEventInput,
} from '../audit/audit-chain.js';
import { normalise, type Transaction } from './db.js';

interface AuditRow {
  seq: string | number | bigint;
  occurred_at: Date | string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | string;
  prev_hash: Buffer | Uint8Array;
  hash: Buffer | Uint8Array;
}

function toEvent(row: AuditRow): AuditEvent {
  return {
    seq: normalise.int(row.seq),
    occurredAt: normalise.date(row.occurred_at),
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as Record<string, unknown>) : row.details,
    prevHash: normalise.bytes(row.prev_hash)!,
    hash: normalise.bytes(row.hash)!,
  };
}

/** Any fixed 64-bit key; serialises appends so the chain has one order (pg advisory lock). */
const AUDIT_LOCK_KEY = 0x74696e6e68696e6dn; // "tinnhinm"

/** What the database's append function answers (migrations/20261207200000_audit_append_function.ts). */
export interface AppendedRow {
  out_seq: string | number | bigint;
  out_prev_hash: Buffer | Uint8Array;
  out_hash: Buffer | Uint8Array;
}

/**
 * One audit event appended by the database's append function, as SQL to call (`sql`, a function
 * call with `?` bindings, usable in FROM or in a LATERAL join after a statement's own change) and
 * `appended`, which turns the function's answer into the event and checks its hash: the database
 * computes it from the canonical JSON made here, and a hash that differs from eventHash's of the
 * same event throws: the request fails. Inside a transaction nothing is kept; after a statement
 * that commits on its own (a passkey's use, a login's settlement) the event is already stored,
 * and `tinnhiem audit verify` names it.
 */
export function auditAppendCall(input: AuditEventInput, occurredAt: Date): { sql: string; bindings: Knex.RawBinding[]; appended(row: AppendedRow | undefined): AuditEvent } {
  const base = { occurredAt, actor: input.actor, action: input.action, target: input.target ?? null, details: normaliseDetails(input.details) };
  const { head, tail } = eventBodyAroundSeq(base);
  return {
    sql: 'tinnhiem_audit_append(?::timestamptz, ?::text, ?::text, ?::text, ?::jsonb, ?::text, ?::text)',
    bindings: [occurredAt.toISOString(), base.actor, base.action, base.target, JSON.stringify(base.details), head, tail],
    appended(row) {
      if (!row) throw new Error('the audit append function returned no row');
      const seq = normalise.int(row.out_seq);
      const prevHash = normalise.bytes(row.out_prev_hash)!;
      const hash = normalise.bytes(row.out_hash)!;
      const event = { ...base, seq };
      if (!eventHash(prevHash, event).equals(hash)) throw new Error(`audit event #${seq}: the database's chain hash differs from the service's (tinnhiem audit verify names the event if it was kept)`);
      return { ...event, prevHash, hash };
    },
  };
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  /** Events with seq below this (keyset pagination, newest first). */
  beforeSeq?: number;
  limit?: number;
}

export class AuditRepository {
  constructor(
    private readonly knex: Knex,
    private readonly clock: { now(): Date },
  ) {}

  /**
   * Appends one event inside the caller's transaction, so the event commits or rolls back with
   * the change it records. One round trip (auditAppendCall): the chain's lock, its head and the
   * insert in the database's append function; the next appender waits for this transaction and
   * then sees its event as the chain's head.
   */
  async append(trx: Transaction, input: AuditEventInput): Promise<AuditEvent> {
    const call = auditAppendCall(input, this.clock.now());
    const result = (await trx.raw(`SELECT out_seq, out_prev_hash, out_hash FROM ${call.sql}`, call.bindings).options({ name: 'tinnhiem_audit_append' })) as { rows: AppendedRow[] };
    return call.appended(result.rows[0]);
  }

  /**
   * Appends several events in one go (batch issuance): one lock, one read of the head, the same
   * hash chain as `append` computed in order, one multi-row insert per 500 events. The events
   * commit or roll back with the caller's transaction, and the chain verifier sees no difference.
   */
  async appendMany(trx: Transaction, inputs: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    if (inputs.length === 0) return [];
    await trx.raw('select pg_advisory_xact_lock(?::bigint)', [BigInt.asIntN(64, AUDIT_LOCK_KEY).toString()]);
    const last = await trx<AuditRow>('audit_events').select('seq', 'hash').orderBy('seq', 'desc').first();
    let seq = last ? normalise.int(last.seq) : 0;
    let prevHash = last ? normalise.bytes(last.hash)! : GENESIS_HASH;
    const occurredAt = this.clock.now();
    const events: AuditEvent[] = [];
    for (const input of inputs) {
      seq += 1;
      const base = { seq, occurredAt, actor: input.actor, action: input.action, target: input.target ?? null, details: normaliseDetails(input.details) };
      const hash = eventHash(prevHash, base);
      events.push({ ...base, prevHash, hash });
      prevHash = hash;
    }
    for (let i = 0; i < events.length; i += 500) {
      await trx('audit_events').insert(
        events.slice(i, i + 500).map((e) => ({ seq: e.seq, occurred_at: e.occurredAt, actor: e.actor, action: e.action, target: e.target, details: JSON.stringify(e.details), prev_hash: e.prevHash, hash: e.hash })),
      );
    }
    return events;
  }

  /** Every event in chain order, read in pages so a long log never sits in memory at once. */
  async *all(pageSize = 1_000, afterSeq = 0): AsyncGenerator<AuditEvent> {
    let after = afterSeq;
    for (;;) {
      const rows = await this.knex<AuditRow>('audit_events').where('seq', '>', after).orderBy('seq').limit(pageSize);
      for (const row of rows) yield toEvent(row);
      if (rows.length < pageSize) return;
      after = normalise.int(rows[rows.length - 1].seq);
    }
  }

  /** The event `seq`, or null. */
  async event(seq: number): Promise<AuditEvent | null> {
    const row = await this.knex<AuditRow>('audit_events').where('seq', seq).first();
    return row ? toEvent(row) : null;
  }

  /** The newest event's sequence number (0: the log is empty). */
  async headSeq(): Promise<number> {
    const row = (await this.knex('audit_events').max('seq as seq').first()) as { seq: string | number | bigint | null } | undefined;
    return row?.seq == null ? 0 : normalise.int(row.seq);
  }

  async list(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const q = this.knex<AuditRow>('audit_events').orderBy('seq', 'desc').limit(Math.min(filter.limit ?? 50, 500));
    if (filter.action) q.where('action', filter.action);
    if (filter.actor) q.where('actor', filter.actor);
    if (filter.target) q.where('target', filter.target);
    if (filter.beforeSeq) q.where('seq', '<', filter.beforeSeq);
    return (await q).map(toEvent);
  }
}
