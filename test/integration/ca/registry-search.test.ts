/**
 * Issues 20 and 21: the registry's text matching is folded (src/text/folding.ts) on write and in
 * every filter, the same on PostgreSQL and the embedded database: "tran thi ngoc han" finds
 * "Trần Thị Ngọc Hân" written in NFC or NFD, an agency filter finds its case and NFD variants,
 * keyset pagination walks every match once, and the count is exact up to its cap.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CertificateRepository } from '../../../src/storage/certificate-repository.js';
import { CertificateSearchRepository } from '../../../src/storage/certificate-search-repository.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import type { HolderFacts } from '../../../ca/records.js';
import * as foldedText from '../../../migrations/20261204060000_add_certificate_folded_text.js';
import * as compactSearch from '../../../migrations/20261205021000_add_certificate_compact_search.js';
import { compactText } from '../../../src/text/folding.js';

const NOW = new Date('2026-12-04T06:00:00Z');
const DAY = 86_400_000;
let database: TestDatabase;
let ledger: CertificateRepository;
let search: CertificateSearchRepository;

const holder = (holderName: string, agency: string | null, email: string | null = null): HolderFacts => ({
  subjectDn: `CN=${holderName},O=${agency ?? 'none'},C=VN`,
  holderName,
  nationalId: null,
  taxCode: null,
  budgetCode: null,
  agency,
  email,
});

let n = 0;
async function add(h: HolderFacts, notAfterDays = 365): Promise<string> {
  n += 1;
  const serial = `7${n.toString(16).padStart(31, '0')}`;
  await database.db.withTransaction((trx) =>
    ledger.importCertificate(
      trx,
      { issuerId: 'ext-search', serial, der: Buffer.from([0x30, 0]), publicKeyFingerprint: `fp-${n}`, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + notAfterDays * DAY), holder: h, statusSource: 'registry' },
      new Date(NOW.getTime() - (1000 - n) * 1000),
    ),
  );
  return serial;
}

const names = async (filter: Parameters<CertificateSearchRepository['search']>[1]) => (await search.search(null, filter, NOW)).items.map((c) => c.holderName);

describe(`registry search, folded (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    ledger = new CertificateRepository(database.db.knex);
    search = new CertificateSearchRepository(database.db.knex);
    await database.db.knex('ca_issuers').insert({ id: 'ext-search', role: 'external', status: 'active', created_at: NOW, updated_at: NOW });
    await add(holder('Trần Thị Ngọc Hân', 'SỞ Y TẾ TỈNH SÓC TRĂNG', 'ngochan@soctrang.gov.vn'));
    // The same name typed on a keyboard that sends combining marks (NFD).
    await add(holder('Trần Thị Ngọc Hân'.normalize('NFD'), 'Sở Y tế tỉnh Sóc Trăng'.normalize('NFD')));
    await add(holder('Nguyễn Văn Đức', 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG'));
    await add(holder('NGUYỄN THỊ ÁNH TUYẾT', 'Sở Tài chính tỉnh Sóc Trăng'), 20);
    await add(holder('Lê Văn Nguyên', 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG'), 10);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('the embedded database has pg_trgm, as PostgreSQL: both index the folded search text', async () => {
    const { rows } = (await database.db.knex.raw(`select indexname from pg_indexes where tablename = 'certificates' and indexname in ('certificates_search_folded_trgm', 'certificates_search_compact_trgm')`)) as { rows: unknown[] };
    expect(rows).toHaveLength(2);
  });

  it("the trigram indexes cover registered certificates only, and the search's state filter (bound parameters) reaches them", async () => {
    const { rows } = (await database.db.knex.raw(`select indexname, indexdef from pg_indexes where tablename = 'certificates' and indexname like 'certificates_search_%_trgm'`)) as { rows: Array<{ indexname: string; indexdef: string }> };
    for (const r of rows) expect(r.indexdef).toMatch(/WHERE \(state = ANY \(ARRAY\['issued'::text, 'imported'::text\]\)\)/);
    // Seq and plain index scans off, and (in a transaction rolled back) the other partial indexes
    // gone: only a bitmap scan of a trigram index can answer the LIKE, and the planner takes a
    // partial index only when the query's own filter, with its bound parameters, implies its predicate.
    let plan: string[] = [];
    await database.db
      .withTransaction(async (trx) => {
        const others = (await trx.raw(`select indexname from pg_indexes where tablename = 'certificates' and indexdef like '%WHERE%' and indexname not like 'certificates_search_%_trgm'`)) as { rows: Array<{ indexname: string }> };
        for (const { indexname } of others.rows) await trx.raw(`drop index ${indexname}`);
        await trx.raw('set local enable_seqscan = off');
        await trx.raw('set local enable_indexscan = off');
        await trx.raw('set local enable_indexonlyscan = off');
        const folded = (await trx.raw(`explain select serial from certificates where state in (?, ?) and search_folded like ?`, ['issued', 'imported', '%nguyen%'])) as { rows: Array<Record<string, string>> };
        const compact = (await trx.raw(`explain select serial from certificates where state in (?, ?) and search_compact like ?`, ['issued', 'imported', '%ngochan%'])) as { rows: Array<Record<string, string>> };
        plan = [folded, compact].map((r) => r.rows.map((row) => Object.values(row)[0]).join('\n'));
        throw new Error('roll back');
      })
      .catch((err: Error) => {
        if (err.message !== 'roll back') throw err;
      });
    expect(plan[0]).toContain('certificates_search_folded_trgm');
    expect(plan[1]).toContain('certificates_search_compact_trgm');
  });

  it('the spaceless search text keeps a histogram of 1,000 entries on both databases (migration 20261206050000: the plan of a multi-word search)', async () => {
    const { rows } = (await database.db.knex.raw(`select attstattarget from pg_attribute where attrelid = 'certificates'::regclass and attname = 'search_compact'`)) as { rows: Array<{ attstattarget: number | string }> };
    expect(rows.map((r) => Number(r.attstattarget))).toEqual([1000]);
  });

  it('finds names without diacritics, in any case, NFC or NFD, đ as d', async () => {
    expect((await names({ text: 'tran thi ngoc han', limit: 10, offset: 0 })).sort()).toEqual(['Trần Thị Ngọc Hân', 'Trần Thị Ngọc Hân'.normalize('NFD')].sort());
    expect(await names({ text: 'TRẦN THỊ NGỌC HÂN'.normalize('NFD'), limit: 10, offset: 0 })).toHaveLength(2);
    expect(await names({ text: 'ngoc han', limit: 10, offset: 0 })).toHaveLength(2);
    expect(await names({ text: 'van duc', limit: 10, offset: 0 })).toEqual(['Nguyễn Văn Đức']);
    expect(await names({ text: 'Văn Đức', limit: 10, offset: 0 })).toEqual(['Nguyễn Văn Đức']);
    // "nguyen" is in two surnames and one given name; "nguyễn" (with its tone) folds the same.
    expect(await names({ text: 'nguyễn', limit: 10, offset: 0 })).toEqual(['Lê Văn Nguyên', 'NGUYỄN THỊ ÁNH TUYẾT', 'Nguyễn Văn Đức']);
    expect(await names({ text: 'ngochan@soctrang', limit: 10, offset: 0 })).toEqual(['Trần Thị Ngọc Hân']);
    // LIKE's wildcards are literal.
    expect(await names({ text: '%', limit: 10, offset: 0 })).toEqual([]);
    expect(await names({ text: 'tran_thi', limit: 10, offset: 0 })).toEqual([]);
  });

  it('an agency filter matches the agency or its beginning, folded; agencyExact only the whole name', async () => {
    expect(await names({ agency: 'sở y tế', limit: 10, offset: 0 })).toHaveLength(2);
    expect(await names({ agency: 'SO Y TE TINH SOC TRANG', limit: 10, offset: 0 })).toHaveLength(2);
    expect(await names({ agencyExact: 'sở tài chính tỉnh sóc trăng'.normalize('NFD'), limit: 10, offset: 0 })).toEqual(['NGUYỄN THỊ ÁNH TUYẾT', 'Nguyễn Văn Đức']);
    expect(await names({ agencyExact: 'sở tài chính', limit: 10, offset: 0 })).toEqual([]);
    expect(await names({ agency: 'so tai chinh', status: 'good', limit: 10, offset: 0 })).toHaveLength(2);
  });

  it('expiring within N days: soonest first', async () => {
    expect(await names({ expiresWithinDays: 30, limit: 10, offset: 0 })).toEqual(['Lê Văn Nguyên', 'NGUYỄN THỊ ÁNH TUYẾT']);
  });

  it('keyset pagination visits every match once, in order; the count stays exact up to its cap', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await search.search(null, { limit: 2, offset: 0, cursor, countLimit: 3 }, NOW);
      expect(page).toMatchObject({ total: 3, totalExact: false });
      seen.push(...page.items.map((c) => c.serial));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const all = await search.search(null, { limit: 100, offset: 0 }, NOW);
    expect(all).toMatchObject({ total: 5, totalExact: true, nextCursor: null });
    expect(seen).toEqual(all.items.map((c) => c.serial));
    expect(await search.search(null, { text: 'nguyen', limit: 1, offset: 0, countLimit: 3 }, NOW)).toMatchObject({ total: 3, totalExact: true });
    await expect(search.search(null, { limit: 2, offset: 0, cursor: 'not-a-cursor' }, NOW)).rejects.toMatchObject({ name: 'CaError', kind: 'badInput' });
  });

  it('the migration folds the rows written before it (the backfill)', async () => {
    const knex = database.db.knex;
    await foldedText.down(knex);
    await foldedText.up(knex);
    expect(Number((await knex('certificates').whereNull('search_folded').count({ n: '*' }))[0].n)).toBe(0);
    await compactSearch.down(knex);
    await compactSearch.up(knex);
    const rows = (await knex('certificates').select('search_folded', 'search_compact')) as Array<{ search_folded: string; search_compact: string }>;
    expect(rows.map((r) => r.search_compact)).toEqual(rows.map((r) => compactText(r.search_folded)));
    expect((await names({ text: 'tran thi ngoc han', limit: 10, offset: 0 })).length).toBe(2);
    expect(await names({ agencyExact: 'SO TAI CHINH TINH SOC TRANG', limit: 10, offset: 0 })).toHaveLength(2);
  });
});
