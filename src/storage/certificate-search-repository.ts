import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { REGISTERED_STATES, toCertificate, type Row } from './certificate-rows.js';
import type { CertificateRecord, CertificateSearch } from '../../ca/records.js';
import type { RegistrySearch } from '../../ca/ports.js';

/** A LIKE pattern that matches `text` literally anywhere. */
const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The registry's queries over `certificates`. `trx` first; null runs outside a transaction (ca/ports.ts). */
export class CertificateSearchRepository implements RegistrySearch<Transaction> {
  constructor(private readonly knex: Knex) {}

  async search(trx: Transaction | null, s: CertificateSearch, now: Date): Promise<{ items: CertificateRecord[]; total: number }> {
    const q = (trx ?? this.knex)('certificates').whereIn('state', REGISTERED_STATES);
    if (s.text) {
      const pattern = like(s.text);
      q.where((w) => w.whereILike('holder_name', pattern).orWhereILike('subject_dn', pattern).orWhere('serial', s.text!.toLowerCase()));
    }
    if (s.nationalId) q.where('national_id', s.nationalId);
    if (s.taxCode) q.where('tax_code', s.taxCode);
    if (s.agency) q.whereILike('agency', like(s.agency));
    if (s.profileId) q.where('profile_id', s.profileId);
    if (s.issuerId) q.where('issuer_id', s.issuerId);
    if (s.status === 'expired') q.where('not_after', '<=', now);
    else if (s.status) q.where('status', s.status).where('not_after', '>', now);
    if (s.expiresWithinDays !== undefined) {
      q.where('not_after', '>', now).where('not_after', '<=', new Date(now.getTime() + s.expiresWithinDays * 86_400_000));
    }
    const [{ count }] = await q.clone().clearSelect().count<{ count: string | number }[]>({ count: '*' });
    const rows = await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'serial' }]).limit(s.limit).offset(s.offset);
    return { items: rows.map(toCertificate), total: Number(count) };
  }

  async countByStatus(trx: Transaction | null, now: Date): Promise<Record<string, number>> {
    const q = trx ?? this.knex;
    const rows = await q('certificates')
      .whereIn('state', REGISTERED_STATES)
      .select(q.raw(`CASE WHEN not_after <= ? THEN 'expired' ELSE status END AS s`, [now]))
      .count({ n: '*' })
      .groupBy('s');
    return Object.fromEntries(rows.map((r) => [String((r as Row).s), Number((r as Row).n)]));
  }

  async countByProfileAndStatus(trx: Transaction | null, now: Date): Promise<Array<{ profileId: string | null; status: string; count: number }>> {
    const q = trx ?? this.knex;
    const rows = await q('certificates')
      .whereIn('state', REGISTERED_STATES)
      .select('profile_id', q.raw(`CASE WHEN not_after <= ? THEN 'expired' ELSE status END AS s`, [now]))
      .count({ n: '*' })
      .groupBy('profile_id', 's');
    return rows.map((r) => ({ profileId: ((r as Row).profile_id as string | null) ?? null, status: String((r as Row).s), count: Number((r as Row).n) }));
  }
}
