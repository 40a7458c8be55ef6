import type { Knex } from 'knex';
import { foldOptional, registrySearchText } from '../src/text/folding.js';

/**
 * Registry search at a million certificates (docs/ca.md, "Registry search"): the folded form of the
 * searchable holder fields (src/text/folding.ts: NFC/NFD alike, case-folded, diacritics removed,
 * đ → d), computed by the application and stored beside the fields, so that PostgreSQL and the
 * embedded database compare the same text and the comparisons can use indexes:
 * - `search_folded`: holder name, subject DN, e-mail and serial, one per line: the `q` substring
 *   search, with a pg_trgm GIN index where the extension exists (PostgreSQL's contrib, and the
 *   embedded database's bundled pg_trgm); without it a substring search scans the table;
 * - `agency_folded`: the agency filter (a prefix) and bulk revocation (equality), B-tree indexes
 *   with text_pattern_ops (LIKE 'prefix%' under any collation), one led by status for
 *   "agency + status";
 * - `(created_at, serial)`: the default order (newest first) of the keyset pagination, and
 *   `(status, created_at, serial)` the same within a status;
 *   `(not_after, serial)`: "expiring within N days", soonest first.
 * Existing rows are folded here in batches (the backfill). Every writer of holder fields fills both
 * columns (src/storage/certificate-rows.ts holderColumns); a row without holder fields (a bare
 * bulk-loaded serial) may leave them null and is then found by no text filter.
 */
const BATCH = 2_000;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificates', (t) => {
    t.text('search_folded').nullable();
    t.text('agency_folded').nullable();
  });
  for (;;) {
    const rows = (await knex('certificates').whereNull('search_folded').select('issuer_id', 'serial', 'holder_name', 'subject_dn', 'email', 'agency').limit(BATCH)) as Array<Record<string, string | null>>;
    if (!rows.length) break;
    await knex.raw(
      `update certificates c set search_folded = v.s, agency_folded = v.a
         from (select * from jsonb_to_recordset(?::jsonb) as x(i text, n text, s text, a text)) v
        where c.issuer_id = v.i and c.serial = v.n`,
      [JSON.stringify(rows.map((r) => ({ i: r.issuer_id, n: r.serial, s: registrySearchText({ holderName: r.holder_name, subjectDn: r.subject_dn, email: r.email, serial: r.serial }), a: foldOptional(r.agency) })))],
    );
  }
  const [trgm] = (await knex.raw(`select count(*)::int as n from pg_available_extensions where name = 'pg_trgm'`)).rows as Array<{ n: number }>;
  if (trgm.n > 0) {
    await knex.raw('create extension if not exists pg_trgm');
    await knex.raw('create index certificates_search_folded_trgm on certificates using gin (search_folded gin_trgm_ops)');
  }
  await knex.raw('create index certificates_agency_folded on certificates (agency_folded text_pattern_ops)');
  await knex.raw('create index certificates_status_agency_folded on certificates (status, agency_folded text_pattern_ops)');
  await knex.raw('create index certificates_created_serial on certificates (created_at, serial)');
  // A status filter (agency + status) walks that status's newest rows: a page of 50 reads a few hundred.
  await knex.raw('create index certificates_status_created_serial on certificates (status, created_at, serial)');
  await knex.raw('create index certificates_not_after_serial on certificates (not_after, serial)');
}

export async function down(knex: Knex): Promise<void> {
  for (const index of ['certificates_search_folded_trgm', 'certificates_agency_folded', 'certificates_status_agency_folded', 'certificates_created_serial', 'certificates_status_created_serial', 'certificates_not_after_serial']) {
    await knex.raw(`drop index if exists ${index}`);
  }
  await knex.schema.alterTable('certificates', (t) => {
    t.dropColumn('search_folded');
    t.dropColumn('agency_folded');
  });
}
