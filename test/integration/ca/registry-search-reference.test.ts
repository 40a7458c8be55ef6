/**
 * Issue 20, acceptance 4: whatever shape the registry's queries take for speed (partial indexes,
 * bounded counts, keyset pages), each answers what a plain reference answers: here every filter of
 * the console's set is computed again in JavaScript over every row of a seeded registry (holder
 * fields folded by src/text/folding.ts from the raw fields, not read from the stored folded
 * columns), and the search's pages, walked with the cursor, and its counts (exact, capped, and
 * "more than") must be those. On PostgreSQL and the embedded database alike.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CertificateRepository } from '../../../src/storage/certificate-repository.js';
import { CertificateSearchRepository } from '../../../src/storage/certificate-search-repository.js';
import { foldText } from '../../../src/text/folding.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';
import type { CertificateSearch } from '../../../ca/records.js';
import type { Transaction } from '../../../src/storage/db.js';

const NOW = new Date('2026-12-04T06:00:00Z');
const DAY = 86_400_000;
const SURNAMES = ['Nguyễn', 'Trần', 'Lê', 'NGUYỄN', 'Phạm'];
const MIDDLES = ['Văn', 'Thị', 'Ngọc', 'Minh'];
// 'Ngọchân' is 'Ngọc Hân' without its space: a query of several words is pre-filtered on the text without spaces.
const GIVENS = ['Hân', 'Anh', 'Nguyên', 'Hạnh', 'Đức', 'Lan', 'Ngọc Hân', 'Ngọchân', 'Khánh'];
const AGENCIES = ['SỞ Y TẾ TỈNH SÓC TRĂNG', 'Sở Tài chính tỉnh Sóc Trăng', 'sở y tế thành phố', 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', null];
const STATUSES = ['good', 'good', 'good', 'revoked', 'hold'] as const;
const SIZE = 240;

interface Seeded {
  serial: string;
  issuerId: string;
  holderName: string;
  subjectDn: string;
  agency: string | null;
  state: string;
  status: string;
  notAfter: Date;
  createdAt: Date;
}

let database: TestDatabase;
let search: CertificateSearchRepository;
// The same repository whose first look at a name's words covers the newest 120 certificates (10,000
// in service, more than this registry holds): a page found there, one filled from the older rows,
// and cursors on either side of the bound.
let firstLook: CertificateSearchRepository;
const seeded: Seeded[] = [];

/** The plain reference: every filter of ca/records.ts CertificateSearch, over the raw fields. */
function reference(s: CertificateSearch): Seeded[] {
  const text = s.text ? foldText(s.text) : '';
  const agency = s.agency ? foldText(s.agency) : '';
  const soonest = s.expiresWithinDays !== undefined;
  return seeded
    .filter((r) => r.state === 'issued' || r.state === 'imported')
    .filter((r) => !text || [r.holderName, r.subjectDn, r.serial].some((f) => foldText(f).includes(text)))
    .filter((r) => !agency || (r.agency !== null && foldText(r.agency).startsWith(agency)))
    .filter((r) => s.agencyExact === undefined || (r.agency !== null && foldText(r.agency) === foldText(s.agencyExact)))
    .filter((r) => !s.status || (s.status === 'expired' ? r.notAfter <= NOW : r.status === s.status && r.notAfter > NOW))
    .filter((r) => !soonest || (r.notAfter > NOW && r.notAfter.getTime() <= NOW.getTime() + s.expiresWithinDays! * DAY))
    .sort((a, b) => {
      const [x, y] = soonest ? [a, b] : [b, a];
      const key = soonest ? x.notAfter.getTime() - y.notAfter.getTime() : x.createdAt.getTime() - y.createdAt.getTime();
      return key || (x.serial < y.serial ? -1 : x.serial > y.serial ? 1 : 0) || (x.issuerId < y.issuerId ? -1 : x.issuerId > y.issuerId ? 1 : 0);
    });
}

const SHAPES: Array<[string, Omit<CertificateSearch, 'limit' | 'offset'>]> = [
  ['"nguyễn"', { text: 'nguyễn' }],
  ['"nguyen"', { text: 'nguyen' }],
  ['"ngoc han"', { text: 'ngoc han' }],
  ['"NGỌC HÂN" in NFD', { text: 'NGỌC HÂN'.normalize('NFD') }],
  ['"văn ngọchân" (not "Văn Ngọc Hân", the same letters without a space)', { text: 'văn ngọchân' }],
  ['"nguyen van" (two words, many matches)', { text: 'nguyen van' }],
  ['"n h" (words too short to join: the whole query looked up)', { text: 'n h' }],
  ['"ngoc han 1" (words and a number)', { text: 'ngoc han 1' }],
  ['"ngoc han" + agency + status', { text: 'ngoc han', agency: 'so', status: 'good' }],
  ['agency + status', { agency: 'Sở Y tế', status: 'revoked' }],
  ['agency + status good', { agency: 'so y te tinh', status: 'good' }],
  ['agency exact (bulk revocation)', { agencyExact: 'sở tài chính tỉnh sóc trăng' }],
  ['expiring within 30 days', { expiresWithinDays: 30 }],
  ['good and expiring within 90 days (the dashboard)', { status: 'good', expiresWithinDays: 90 }],
  ['expired', { status: 'expired' }],
  ['name + agency + status', { text: 'nguyen', agency: 'so', status: 'good' }],
  ['everything', {}],
];

describe(`registry search, every query shape against a plain reference (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    const knex = database.db.knex;
    const ledger = new CertificateRepository(knex);
    search = new CertificateSearchRepository(knex);
    firstLook = new CertificateSearchRepository(knex, 120);
    await knex('ca_issuers').insert([
      { id: 'ext-a', role: 'external', status: 'active', created_at: NOW, updated_at: NOW },
      { id: 'ext-b', role: 'external', status: 'active', created_at: NOW, updated_at: NOW },
    ]);
    await database.db.withTransaction(async (trx) => {
      for (let i = 0; i < SIZE; i++) {
        const name = `${SURNAMES[i % 5]} ${MIDDLES[(i >> 1) % 4]} ${GIVENS[i % GIVENS.length]} ${i}`;
        const holderName = i % 11 === 0 ? name.normalize('NFD') : name;
        const agency = AGENCIES[(i >> 2) % 5];
        // Pairs share a creation time (and some a serial across two issuers): the keyset's tie-breaks.
        const createdAt = new Date(NOW.getTime() - 1000 * DAY + Math.floor(i / 2) * 60_000);
        const issuerId = i % 3 === 0 ? 'ext-b' : 'ext-a';
        const serial = `7${(i > 0 && i % 3 === 0 ? i - 1 : i).toString(16).padStart(31, '0')}`;
        const notAfter = new Date(NOW.getTime() + ((i * 37) % 200 - 40) * DAY + (i % 4) * 1000);
        const subjectDn = `CN=${holderName},O=${agency ?? 'none'},C=VN`;
        await ledger.importCertificate(trx, { issuerId, serial, der: Buffer.from([0x30, 0]), publicKeyFingerprint: `fp-ref-${i}`, notBefore: new Date(NOW.getTime() - 2000 * DAY), notAfter, holder: { subjectDn, holderName, nationalId: null, taxCode: null, budgetCode: null, agency, email: null }, statusSource: 'registry' }, createdAt);
        // One in 13 is a serial reserved and never signed (or abandoned): no certificate, found by nothing.
        const state = i % 13 === 0 ? (i % 2 ? 'reserved' : 'abandoned') : 'imported';
        const status = STATUSES[i % 5];
        await trx('certificates').where({ issuer_id: issuerId, serial }).update({ state, status });
        seeded.push({ serial, issuerId, holderName, subjectDn, agency, state, status, notAfter, createdAt });
      }
    });
    // The planner of either database chooses its plans from statistics, as in service.
    await knex.raw('analyze certificates');
  });
  afterAll(async () => {
    await database?.destroy();
  });

  /** Every page by cursor and the three counts, on `trx` (null: pooled connections). */
  async function walk(trx: Transaction | null, filter: Omit<CertificateSearch, 'limit' | 'offset'>, expected: string[], repository = search): Promise<string[]> {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await repository.search(trx, { ...filter, limit: 7, offset: 0, cursor, countLimit: 1000 }, NOW);
      expect(page).toMatchObject({ total: expected.length, totalExact: true });
      seen.push(...page.items.map((c) => `${c.issuerId}/${c.serial}`));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    // The count exact without a cap, exact up to a cap it does not reach, and "more than" a cap it passes.
    expect(await repository.search(trx, { ...filter, limit: 1, offset: 0 }, NOW)).toMatchObject({ total: expected.length, totalExact: true });
    expect(await repository.search(trx, { ...filter, limit: 1, offset: 0, countLimit: expected.length }, NOW)).toMatchObject({ total: expected.length, totalExact: true });
    if (expected.length > 1) {
      expect(await repository.search(trx, { ...filter, limit: 1, offset: 0, countLimit: expected.length - 1 }, NOW)).toMatchObject({ total: expected.length - 1, totalExact: false });
    }
    return seen;
  }

  it.each(SHAPES)('%s: the pages, walked by cursor, and the counts are the reference\'s', async (_name, filter) => {
    const expected = reference({ ...filter, limit: 0, offset: 0 }).map((r) => `${r.issuerId}/${r.serial}`);
    expect(expected.length).toBeGreaterThan(0);
    expect(await walk(null, filter, expected)).toEqual(expected);
    expect(await walk(null, filter, expected, firstLook)).toEqual(expected);
    // A small table is read whole by either planner: the same again with the index paths forced
    // (partial indexes, index-only counts, the trigram index's bitmap), then the ordered index scans.
    for (const settings of [['enable_seqscan'], ['enable_seqscan', 'enable_bitmapscan']]) {
      for (const repository of [search, firstLook]) {
        await database.db.withTransaction(async (trx) => {
          for (const setting of settings) await trx.raw(`set local ${setting} = off`);
          expect(await walk(trx, filter, expected, repository)).toEqual(expected);
        });
      }
    }
  });

  it("hands the page's items to onItems before it answers, while counting; a failure there fails the search", async () => {
    const expected = reference({ text: 'nguyen', limit: 0, offset: 0 }).map((r) => `${r.issuerId}/${r.serial}`);
    let handed: string[] | undefined;
    let audited = false;
    const page = await search.search(null, { text: 'nguyen', limit: 7, offset: 0, countLimit: 1000 }, NOW, async (items) => {
      handed = items.map((c) => `${c.issuerId}/${c.serial}`);
      await new Promise((r) => setTimeout(r, 20));
      audited = true;
    });
    expect(audited).toBe(true);
    expect(handed).toEqual(expected.slice(0, 7));
    expect(page.items.map((c) => `${c.issuerId}/${c.serial}`)).toEqual(handed);
    expect(page).toMatchObject({ total: expected.length, totalExact: true });
    // The audit of what the page shows failed: no answer, whatever the count did.
    await expect(search.search(null, { text: 'ngoc han', limit: 7, offset: 0, countLimit: 1000 }, NOW, () => Promise.reject(new Error('audit down')))).rejects.toThrow('audit down');
    await expect(search.search(null, { text: 'nguyen', limit: 7, offset: 0, countLimit: 1000 }, NOW, () => Promise.reject(new Error('audit down')))).rejects.toThrow('audit down');
  });

  it('keeps using a bound older than its minute while a fresh one is read beside the search: newer certificates only widen the first look', async () => {
    // Reads the bound again at every search, in the background: each search uses the one before.
    const stale = new CertificateSearchRepository(database.db.knex, 120, 0);
    const filter = { text: 'ngoc han' };
    const ids = () => reference({ ...filter, limit: 0, offset: 0 }).map((r) => `${r.issuerId}/${r.serial}`);
    expect(await walk(null, filter, ids(), stale)).toEqual(ids());
    await stale.recentReading;
    // 40 certificates newer than every other, a third of them "Ngọc Hân": the old bound's look holds them all.
    const ledger = new CertificateRepository(database.db.knex);
    await database.db.withTransaction(async (trx) => {
      for (let i = 0; i < 40; i++) {
        const holderName = i % 3 === 0 ? `Lê Ngọc Hân mới ${i}` : `Trần Văn Mới ${i}`;
        const serial = `6${i.toString(16).padStart(31, '0')}`;
        const createdAt = new Date(NOW.getTime() + (i + 1) * 1000);
        const notAfter = new Date(NOW.getTime() + 300 * DAY);
        const subjectDn = `CN=${holderName},C=VN`;
        await ledger.importCertificate(trx, { issuerId: 'ext-a', serial, der: Buffer.from([0x30, 0]), publicKeyFingerprint: `fp-new-${i}`, notBefore: NOW, notAfter, holder: { subjectDn, holderName, nationalId: null, taxCode: null, budgetCode: null, agency: null, email: null }, statusSource: 'registry' }, createdAt);
        seeded.push({ serial, issuerId: 'ext-a', holderName, subjectDn, agency: null, state: 'imported', status: 'good', notAfter, createdAt });
      }
    });
    expect(ids().slice(0, 14).every((id) => id.startsWith('ext-a/6'))).toBe(true);
    expect(await walk(null, filter, ids(), stale)).toEqual(ids());
    await database.db.withTransaction(async (trx) => {
      expect(await walk(trx, filter, ids(), stale)).toEqual(ids());
    });
    await stale.recentReading;
  });
});
