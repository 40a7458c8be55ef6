import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { bytes, date, type Row } from './certificate-rows.js';
import type { RevocationReasonName } from '../../ca/records.js';
import type { CrlEntry } from '../../ca/status/crl/crl.js';
import type { CrlStore, NewCrl, PublishedCrl } from '../../ca/ports.js';

/** A full CRL's entries as kept in `crls.entries` (JSON): the base of the next delta CRLs. */
interface StoredEntry {
  serial: string;
  revokedAt: string;
  reason: RevocationReasonName;
  invalidityDate: string | null;
}

/** CRLs (`crls`) and the revoked entries they list. `trx` first; null runs outside a transaction (ca/ports.ts). */
export class CrlRepository implements CrlStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  /** A transaction-scoped advisory lock per issuer: one CRL generation at a time across nodes. */
  async lock(trx: Transaction, issuerId: string): Promise<void> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`crl:${issuerId}`]);
  }

  /** Revoked and held certificates of an issuer that have not expired (RFC 5280 §3.3). */
  async revokedEntries(trx: Transaction | null, issuerId: string, now: Date): Promise<CrlEntry[]> {
    const rows = await (trx ?? this.knex)('certificates')
      .where({ issuer_id: issuerId })
      .whereIn('status', ['revoked', 'hold'])
      .where('not_after', '>', now)
      .orderBy('serial')
      .select('serial', 'revoked_at', 'revocation_reason', 'invalidity_date');
    return rows.map((r: Row) => ({
      serial: r.serial as string,
      revokedAt: date(r.revoked_at)!,
      reason: r.revocation_reason as RevocationReasonName,
      invalidityDate: date(r.invalidity_date),
    }));
  }

  async releasedSince(trx: Transaction | null, issuerId: string, since: Date, now: Date): Promise<Array<{ serial: string; releasedAt: Date }>> {
    const rows = await (trx ?? this.knex)('certificates')
      .where({ issuer_id: issuerId, status: 'good' })
      .where('released_at', '>=', since)
      .where('not_after', '>', now)
      .orderBy('serial')
      .select('serial', 'released_at');
    return rows.map((r: Row) => ({ serial: r.serial as string, releasedAt: date(r.released_at)! }));
  }

  /** The issuer's next CRL number; the caller holds the issuer's CRL lock. */
  async nextNumber(trx: Transaction, issuerId: string): Promise<bigint> {
    const row = await trx('crls').where({ issuer_id: issuerId }).max<{ max: string | number | bigint | null }>('number as max').first();
    return row?.max == null ? 1n : BigInt(row.max) + 1n;
  }

  async latest(trx: Transaction | null, issuerId: string, kind: 'full' | 'delta' | 'delta-base'): Promise<PublishedCrl | null> {
    const q = (trx ?? this.knex)('crls').where({ issuer_id: issuerId, kind: kind === 'delta' ? 'delta' : 'full' });
    if (kind === 'delta-base') q.where({ delta_base: true });
    const row = await q.orderBy('number', 'desc').first();
    if (!row) return null;
    return {
      number: BigInt(row.number as string | number),
      baseNumber: row.base_number == null ? null : BigInt(row.base_number as string | number),
      thisUpdate: date(row.this_update)!,
      nextUpdate: date(row.next_update)!,
      der: bytes(row.der)!,
      entries: ((row.entries as StoredEntry[]) ?? []).map((e) => ({
        serial: e.serial,
        revokedAt: new Date(e.revokedAt),
        reason: e.reason,
        invalidityDate: e.invalidityDate ? new Date(e.invalidityDate) : null,
      })),
    };
  }

  async publish(trx: Transaction, c: NewCrl): Promise<void> {
    const entries = c.entries?.map((e) => ({ ...e, revokedAt: e.revokedAt.toISOString(), invalidityDate: e.invalidityDate?.toISOString() ?? null }));
    await trx('crls').insert({
      issuer_id: c.issuerId,
      number: c.number.toString(),
      kind: c.kind,
      base_number: c.baseNumber?.toString() ?? null,
      this_update: c.thisUpdate,
      next_update: c.nextUpdate,
      der: Buffer.from(c.der),
      entries: entries ? JSON.stringify(entries) : null,
      delta_base: c.deltaBase,
    });
  }
}
