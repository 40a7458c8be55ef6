import type { Knex } from 'knex';
import type { Database } from './db.js';
import { normalise } from './db.js';
import type { AuditRepository } from './audit-repository.js';
import type { Clock } from '../lifecycle/clock.js';
import type { TrustEntry, TrustEntryPort } from '../validation/ports.js';

interface TrustRow {
  sha256: string;
  kind: 'anchor' | 'intermediate';
  der: Uint8Array | Buffer;
  subject_dn: string;
  not_after: Date | string;
  label: string | null;
  timestamping: boolean;
  added_by: string;
  added_at: Date | string;
}

const toEntry = (r: TrustRow): TrustEntry => ({
  sha256: r.sha256,
  kind: r.kind,
  der: normalise.bytes(r.der)!,
  subjectDn: r.subject_dn,
  notAfter: normalise.date(r.not_after),
  label: r.label,
  timestamping: !!r.timestamping,
  addedBy: r.added_by,
  addedAt: normalise.date(r.added_at),
});

/** The validator's operator-managed trust entries; each change and its audit event commit together. */
export class TrustRepository implements TrustEntryPort {
  constructor(
    private readonly db: Database,
    private readonly knex: Knex,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<TrustEntry[]> {
    return (await this.knex<TrustRow>('trust_entries').select('*').orderBy('added_at')).map(toEntry);
  }

  async add(actor: string, entry: Omit<TrustEntry, 'addedAt' | 'addedBy'>): Promise<boolean> {
    return this.db.withTransaction(async (trx) => {
      const inserted = await trx('trust_entries')
        .insert({ sha256: entry.sha256, kind: entry.kind, der: entry.der, subject_dn: entry.subjectDn, not_after: entry.notAfter, label: entry.label, timestamping: entry.timestamping, added_by: actor, added_at: this.clock.now() })
        .onConflict('sha256')
        .ignore()
        .returning('sha256');
      if (!inserted.length) return false;
      await this.audit.append(trx, { actor, action: 'trust.add', target: `certificate-sha256:${entry.sha256}`, details: { kind: entry.kind, subject: entry.subjectDn, label: entry.label, timestamping: entry.timestamping } });
      return true;
    });
  }

  async remove(actor: string, sha256: string): Promise<boolean> {
    return this.db.withTransaction(async (trx) => {
      const removed = await trx<TrustRow>('trust_entries').where({ sha256 }).delete().returning(['kind', 'subject_dn']);
      if (!removed.length) return false;
      await this.audit.append(trx, { actor, action: 'trust.remove', target: `certificate-sha256:${sha256}`, details: { kind: removed[0].kind, subject: removed[0].subject_dn } });
      return true;
    });
  }
}
