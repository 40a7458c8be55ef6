import type { Knex } from 'knex';
import type { AuditEvent } from '../audit/audit-chain.js';
import type { CheckpointStore } from '../audit/audit-checkpointer.js';
import type { Checkpoint } from '../audit/checkpoint.js';
import type { AuditRepository } from './audit-repository.js';
import { normalise } from './db.js';

/** The lease's row in `ocsp_leases`, the table of background-job leases (one holder at a time). */
const LEASE = 'audit-checkpoint';

interface CheckpointRow {
  seq: string | number | bigint;
  hash: string;
  signed_at: Date | string;
  record: Checkpoint | string;
}

/** Storage of the audit checkpointer: its lease, the checkpoints it recorded, the events it signs. */
export class AuditCheckpointRepository implements CheckpointStore {
  constructor(
    private readonly knex: Knex,
    private readonly audit: AuditRepository,
  ) {}

  async tryLease(holder: string, ttlMs: number): Promise<boolean> {
    const rows: unknown[] = await this.knex('ocsp_leases')
      .insert({ name: LEASE, holder, expires_at: this.knex.raw(`now() + make_interval(secs => ?)`, [ttlMs / 1000]) })
      .onConflict('name')
      .merge(['holder', 'expires_at'])
      .where((w) => w.whereRaw('ocsp_leases.expires_at < now()').orWhereRaw('ocsp_leases.holder = excluded.holder'))
      .returning('holder');
    return rows.length === 1;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.knex('ocsp_leases').where({ name: LEASE, holder }).delete();
  }

  headSeq(): Promise<number> {
    return this.audit.headSeq();
  }

  async lastCheckpoint(): Promise<{ seq: number; hash: string; at: Date } | null> {
    const row = await this.knex<CheckpointRow>('audit_checkpoints').orderBy('id', 'desc').first();
    return row ? { seq: normalise.int(row.seq), hash: row.hash, at: normalise.date(row.signed_at) } : null;
  }

  /** Newest first. */
  async list(limit: number): Promise<Checkpoint[]> {
    const rows = await this.knex<CheckpointRow>('audit_checkpoints').orderBy('id', 'desc').limit(limit);
    return rows.map((r) => (typeof r.record === 'string' ? (JSON.parse(r.record) as Checkpoint) : r.record));
  }

  event(seq: number): Promise<AuditEvent | null> {
    return this.audit.event(seq);
  }

  eventsAfter(seq: number): AsyncIterable<AuditEvent> {
    return this.audit.all(1_000, seq);
  }

  async record(c: Checkpoint): Promise<void> {
    await this.knex('audit_checkpoints').insert({ seq: c.seq, hash: c.hash, signed_at: new Date(c.at), key_id: c.keyId, record: JSON.stringify(c) });
  }
}
