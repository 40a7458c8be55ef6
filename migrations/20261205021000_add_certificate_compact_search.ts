import type { Knex } from 'knex';

/**
 * Registry search at a million certificates, a query of several words (docs/ca.md, "Registry
 * search"): `search_compact`, the folded search text without its spaces (src/text/folding.ts
 * compactText), with its own pg_trgm GIN index where the extension exists. A query of several
 * words ("ngoc han") is looked up there without its spaces ("ngochan": trigrams of the letters,
 * rarer than those of word starts that most rows hold), and the folded text's LIKE keeps the exact
 * matches. Every writer fills it with the other holder columns (src/storage/certificate-rows.ts
 * holderColumns); existing rows get it here from their folded text (removing the one separator
 * folding leaves between words, an ASCII space: the same bytes as the application's).
 * One index more on every write of a certificate's holder fields.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificates', (t) => {
    t.text('search_compact').nullable();
  });
  await knex.raw(`update certificates set search_compact = replace(search_folded, ' ', '') where search_folded is not null`);
  const [trgm] = (await knex.raw(`select count(*)::int as n from pg_extension where extname = 'pg_trgm'`)).rows as Array<{ n: number }>;
  if (trgm.n > 0) await knex.raw('create index certificates_search_compact_trgm on certificates using gin (search_compact gin_trgm_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists certificates_search_compact_trgm');
  await knex.schema.alterTable('certificates', (t) => {
    t.dropColumn('search_compact');
  });
}
