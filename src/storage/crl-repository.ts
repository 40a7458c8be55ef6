import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { bytes, date, type Row } from './certificate-rows.js';
import type { RevocationReasonName } from '../../ca/records.js';
import type { CrlEntry, EncodedEntries } from '../../ca/status/crl/crl.js';
import type { CrlStore, NewCrl, PublishedCrl } from '../../ca/ports.js';

/** CRLs (`crls`) and the revoked entries they list. `trx` first; null runs outside a transaction (ca/ports.ts). */
export class CrlRepository implements CrlStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  /** A transaction-scoped advisory lock per issuer: one CRL generation at a time across nodes. */
  async lock(trx: Transaction, issuerId: string): Promise<void> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`crl:${issuerId}`]);
  }

  async unencodedEntries(trx: Transaction, issuerId: string, now: Date): Promise<CrlEntry[]> {
    return this.entries(trx('certificates').where('not_after', '>', now).whereNull('crl_entry'), issuerId);
  }

  async storeEntries(trx: Transaction, issuerId: string, entries: ReadonlyArray<{ serial: string; der: Uint8Array }>): Promise<void> {
    for (let i = 0; i < entries.length; i += 5_000) {
      const page = entries.slice(i, i + 5_000);
      await trx.raw(
        `UPDATE certificates c SET crl_entry = decode(v.hex, 'hex') FROM unnest(?::text[], ?::text[]) AS v(serial, hex) WHERE c.issuer_id = ? AND c.serial = v.serial`,
        [page.map((e) => e.serial), page.map((e) => Buffer.from(e.der).toString('hex')), issuerId],
      );
    }
  }

  /**
   * One row: the database concatenates the stored entries (string_agg over bytea), so 100,000
   * entries cross the wire as one value, not 100,000 rows to parse. The order is the CRL's:
   * revocation time, then serial in byte order (COLLATE "C": the same on every locale).
   */
  async encodedEntries(trx: Transaction, issuerId: string, now: Date): Promise<EncodedEntries> {
    const row = (await trx('certificates')
      .where({ issuer_id: issuerId })
      .whereIn('status', ['revoked', 'hold'])
      .where('not_after', '>', now)
      .first(trx.raw('count(*) as count'), trx.raw(`string_agg(crl_entry, ''::bytea ORDER BY revoked_at, serial COLLATE "C") as der`))) as { count: string | number; der: unknown };
    return { count: Number(row.count), der: bytes(row.der) ?? new Uint8Array(0) };
  }

  async changedSince(trx: Transaction | null, issuerId: string, since: Date, now: Date): Promise<CrlEntry[]> {
    return this.entries((trx ?? this.knex)('certificates').where('not_after', '>', now).where('status_changed_at', '>=', since), issuerId);
  }

  async expiredSince(trx: Transaction | null, issuerId: string, since: Date, now: Date): Promise<CrlEntry[]> {
    return this.entries((trx ?? this.knex)('certificates').where('not_after', '>', since).where('not_after', '<=', now), issuerId);
  }

  private async entries(query: Knex.QueryBuilder, issuerId: string): Promise<CrlEntry[]> {
    const rows: Row[] = await query
      .where({ issuer_id: issuerId })
      .whereIn('status', ['revoked', 'hold'])
      .orderBy('serial')
      .select('serial', 'revoked_at', 'revocation_reason', 'invalidity_date', 'crl_entry');
    return rows.map((r) => ({
      serial: r.serial as string,
      revokedAt: date(r.revoked_at)!,
      reason: r.revocation_reason as RevocationReasonName,
      invalidityDate: date(r.invalidity_date),
      der: bytes(r.crl_entry),
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
    const row = await q.orderBy('number', 'desc').first('number', 'base_number', 'this_update', 'next_update', 'der');
    if (!row) return null;
    return {
      number: BigInt(row.number as string | number),
      baseNumber: row.base_number == null ? null : BigInt(row.base_number as string | number),
      thisUpdate: date(row.this_update)!,
      nextUpdate: date(row.next_update)!,
      der: bytes(row.der)!,
    };
  }

  async publish(trx: Transaction, c: NewCrl): Promise<void> {
    await trx('crls').insert({
      issuer_id: c.issuerId,
      number: c.number.toString(),
      kind: c.kind,
      base_number: c.baseNumber?.toString() ?? null,
      this_update: c.thisUpdate,
      next_update: c.nextUpdate,
      der: Buffer.from(c.der),
      delta_base: c.deltaBase,
    });
  }
}
