import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { REGISTERED_STATES, date, toCertificate, type Row } from './certificate-rows.js';
import { compactText, containsPattern, foldText, prefixPattern } from '../text/folding.js';
import { CaError } from '../../ca/errors.js';
import type { CertificateSearch, CertificateSearchPage } from '../../ca/records.js';
import type { RegistrySearch } from '../../ca/ports.js';

/**
 * The keyset of a page (docs/ca.md, "Registry search"): the sort key of its last row, then serial
 * and issuer (unique together), as base64url JSON. Opaque to clients; a tampered one is a 400.
 */
function encodeCursor(key: Date, serial: string, issuerId: string): string {
  return Buffer.from(JSON.stringify([key.toISOString(), serial, issuerId])).toString('base64url');
}

function decodeCursor(cursor: string): [Date, string, string] {
  try {
    const [key, serial, issuerId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const at = new Date(String(key));
    if (typeof serial === 'string' && typeof issuerId === 'string' && !Number.isNaN(at.getTime())) return [at, serial, issuerId];
  } catch {
    // falls through to the refusal
  }
  throw new CaError('badInput', 'cursor: not a cursor this registry handed out');
}

/** The registry's queries over `certificates`. `trx` first; null runs outside a transaction (ca/ports.ts). */
export class CertificateSearchRepository implements RegistrySearch<Transaction> {
  constructor(private readonly knex: Knex) {}

  async search(trx: Transaction | null, s: CertificateSearch, now: Date): Promise<CertificateSearchPage> {
    const db = trx ?? this.knex;
    const q = db('certificates').whereIn('state', REGISTERED_STATES);
    // Every text filter compares folded forms, the same on both databases (src/text/folding.ts).
    const text = s.text ? foldText(s.text) : '';
    if (text.includes(' ')) {
      // Several words: candidates from the spaceless text's trigram index (its trigrams are rarer
      // than those of word starts), kept if the folded text holds the words as typed (strpos: the
      // same literal test as the LIKE, which the planner would also look up, twice the cost).
      q.whereLike('search_compact', containsPattern(compactText(text))).whereRaw('strpos(search_folded, ?) > 0', [text]);
    } else if (text) {
      q.whereLike('search_folded', containsPattern(text));
    }
    if (s.nationalId) q.where('national_id', s.nationalId);
    if (s.taxCode) q.where('tax_code', s.taxCode);
    const agency = s.agency ? foldText(s.agency) : '';
    if (agency) q.whereLike('agency_folded', prefixPattern(agency));
    if (s.agencyExact !== undefined) q.where('agency_folded', foldText(s.agencyExact));
    if (s.profileId) q.where('profile_id', s.profileId);
    if (s.issuerId) q.where('issuer_id', s.issuerId);
    if (s.status === 'expired') q.where('not_after', '<=', now);
    else if (s.status) q.where('status', s.status).where('not_after', '>', now);
    const soonestFirst = s.expiresWithinDays !== undefined;
    if (soonestFirst) q.where('not_after', '>', now).where('not_after', '<=', new Date(now.getTime() + s.expiresWithinDays! * 86_400_000));

    const key = soonestFirst ? 'not_after' : 'created_at';
    const order = soonestFirst ? 'asc' : 'desc';
    const page = q.clone();
    if (s.cursor) {
      const [at, serial, issuerId] = decodeCursor(s.cursor);
      page.whereRaw(`(??, serial, issuer_id) ${soonestFirst ? '>' : '<'} (?, ?, ?)`, [key, at, serial, issuerId]);
    } else if (s.offset) {
      page.offset(s.offset);
    }
    page.orderBy([{ column: key, order }, { column: 'serial', order }, { column: 'issuer_id', order }]).limit(s.limit + 1);
    // The page and the count side by side (two pooled connections on PostgreSQL; the embedded
    // database and a transaction run them one after the other on their one connection).
    const [rows, total] = await Promise.all([page as Promise<Row[]>, this.count(db, q, s.countLimit)]);
    const more = rows.length > s.limit;
    const items = rows.slice(0, s.limit).map(toCertificate);
    const last = rows[s.limit - 1];
    return { items, ...total, nextCursor: more && last ? encodeCursor(date(last[key])!, last.serial as string, last.issuer_id as string) : null };
  }

  /**
   * Exact up to `cap` matches, then "more than cap": a console shows "more than 1,000" and asks
   * for a narrower filter, and counting every one of 100,000 "Nguyễn" would cost more than the
   * page itself (docs/ca.md, "Registry search").
   */
  private async count(db: Knex, q: Knex.QueryBuilder, cap: number | undefined): Promise<{ total: number; totalExact: boolean }> {
    if (cap === undefined) {
      const [{ count }] = await q.clone().clearSelect().count<{ count: string | number }[]>({ count: '*' });
      return { total: Number(count), totalExact: true };
    }
    const bounded = q.clone().clearSelect().select(db.raw('1')).limit(cap + 1);
    const [{ count }] = (await db.from(bounded.as('m')).count({ count: '*' })) as Array<{ count: string | number }>;
    const n = Number(count);
    return n > cap ? { total: cap, totalExact: false } : { total: n, totalExact: true };
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
