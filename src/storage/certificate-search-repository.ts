import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { REGISTERED_STATES, date, toCertificate, type Row } from './certificate-rows.js';
import { compactText, containsPattern, foldText, prefixPattern, wordJoins } from '../text/folding.js';
import { CaError } from '../../ca/errors.js';
import type { CertificateRecord, CertificateSearch, CertificateSearchPage } from '../../ca/records.js';
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

/** How many of the newest certificates a text search's first look covers, and how long their bound is kept. */
const RECENT_ROWS = 10_000;
const RECENT_BOUND_MS = 60_000;

/** The registry's queries over `certificates`. `trx` first; null runs outside a transaction (ca/ports.ts). */
export class CertificateSearchRepository implements RegistrySearch<Transaction> {
  /** The creation time of the `recentRows`-th newest certificate (null: fewer), and when it was read. */
  private recent?: { readAt: number; bound: Date | null };

  /** `recentRows`: the text search's first look (docs/ca.md, "Registry search"), `recentBoundMs` how long its bound is used before it is read again; tests make them small. */
  constructor(
    private readonly knex: Knex,
    private readonly recentRows = RECENT_ROWS,
    private readonly recentBoundMs = RECENT_BOUND_MS,
  ) {}

  async search(trx: Transaction | null, s: CertificateSearch, now: Date, onItems?: (items: CertificateRecord[]) => Promise<void>): Promise<CertificateSearchPage> {
    const db = trx ?? this.knex;
    const q = db('certificates').whereIn('state', REGISTERED_STATES);
    // Every text filter compares folded forms, the same on both databases (src/text/folding.ts).
    const text = s.text ? foldText(s.text) : '';
    if (text.includes(' ')) {
      // Several words: candidates from the spaceless text's trigram index, looked up by where the
      // words join ("ocha" for "ngoc han": rare trigrams, a few index pages; the words' own trigrams
      // are in most rows), or by the whole query when no join makes a trigram; kept if the folded
      // text holds the words as typed (strpos: the same literal test as a LIKE, which the planner
      // would also look up in the index, twice the cost).
      const joins = wordJoins(text);
      for (const join of joins.length > 0 ? joins : [compactText(text)]) q.whereLike('search_compact', containsPattern(join));
      q.whereRaw('strpos(search_folded, ?) > 0', [text]);
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
    const cursor = s.cursor ? decodeCursor(s.cursor) : undefined;
    if (cursor) {
      const [at, serial, issuerId] = cursor;
      page.whereRaw(`(??, serial, issuer_id) ${soonestFirst ? '>' : '<'} (?, ?, ?)`, [key, at, serial, issuerId]);
    } else if (s.offset) {
      page.offset(s.offset);
    }
    page.orderBy([{ column: key, order }, { column: 'serial', order }, { column: 'issuer_id', order }]).limit(s.limit + 1);
    const rows = async (): Promise<Row[]> => {
      // Words of a name, newest first ("ngoc han": thousands of matches at a million certificates,
      // spread over the whole registry): either the index hands back every match (all read for the
      // newest 50) or the newest rows are walked one by one until 50 match (one in a hundred or
      // more). Look first among the newest certificates only (a bound the planner knows: it
      // intersects the trigram index with the creation-time index and reads only the matches
      // there), and only when that does not fill the page among the older ones, for the rest of
      // it (the same query, the same order: every older row comes after every newer one, so the
      // page is the plain query's). Not for one word (a common one fills the page within a few
      // hundred rows, a rare one is a few index entries) nor with a number (an ID or serial names a
      // few certificates): there the second look would cost a round trip for nothing.
      const wordsOfAName = text.includes(' ') && !/[0-9]/.test(text);
      const bound = wordsOfAName && !soonestFirst && (cursor || !s.offset) ? await this.recentBound(db) : null;
      if (!bound || (cursor && cursor[0] <= bound)) return (await page) as Row[];
      const newer = (await page.clone().where('created_at', '>=', bound)) as Row[];
      if (newer.length > s.limit) return newer;
      const older = (await page.clone().where('created_at', '<', bound).limit(s.limit + 1 - newer.length)) as Row[];
      return [...newer, ...older];
    };
    // The page and the count side by side (two pooled connections on PostgreSQL; the embedded
    // database and a transaction run them one after the other on their one connection). What the
    // caller does with the page's items (`onItems`: the audit of identifiers shown) runs while the
    // count still runs; the answer waits for all of it, and nothing outlives a failure.
    const pageThenItems = async () => {
      const found = await rows();
      const items = found.slice(0, s.limit).map(toCertificate);
      if (onItems) await onItems(items);
      return { found, items };
    };
    const [paged, counted] = await Promise.allSettled([pageThenItems(), this.count(db, q, s.countLimit)]);
    if (paged.status === 'rejected') throw paged.reason;
    if (counted.status === 'rejected') throw counted.reason;
    const { found, items } = paged.value;
    const more = found.length > s.limit;
    const last = found[s.limit - 1];
    return { items, ...counted.value, nextCursor: more && last ? encodeCursor(date(last[key])!, last.serial as string, last.issuer_id as string) : null };
  }

  /**
   * The creation time of the `recentRows`-th newest certificate, null when there are fewer (then a
   * search reads the whole registry at once). Read from the creation-time index, kept a minute: an
   * older bound only widens the first look by the certificates issued since, and the results do not
   * depend on it.
   */
  private async recentBound(db: Knex): Promise<Date | null> {
    if (!this.recent) return this.readRecentBound(db);
    // A bound older than a minute is still used (it only widens the look, above) while a fresh one
    // is read beside the search, not before it: one read at a time, its failure keeps the old one.
    if (performance.now() - this.recent.readAt >= this.recentBoundMs && !this.recentReading) {
      this.recentReading = this.readRecentBound(this.knex)
        .catch(() => undefined)
        .finally(() => {
          this.recentReading = undefined;
        });
    }
    return this.recent.bound;
  }

  /** The read of a fresh bound in flight, if any (tests wait for it). */
  recentReading?: Promise<unknown>;

  private async readRecentBound(db: Knex): Promise<Date | null> {
    const [row] = (await db('certificates').select('created_at').orderBy('created_at', 'desc').offset(this.recentRows - 1).limit(1)) as Row[];
    this.recent = { readAt: performance.now(), bound: row ? date(row.created_at) : null };
    return this.recent.bound;
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
