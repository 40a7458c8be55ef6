import type { Knex } from 'knex';

/**
 * Issuance in bulk (docs/performance.md, "Issuance"; docs/ca.md, "Registry search"): the two
 * pg_trgm GIN indexes of the registry search (`search_folded`, `search_compact`) restricted to
 * registered certificates, `state in ('issued', 'imported')`, as every registry query is
 * (src/storage/certificate-search-repository.ts) and as the other registry indexes already are. A
 * reservation (the serial and TBS recorded before the key signs) then writes no trigram entries:
 * the row's version that becomes `issued` is the one indexed, once, instead of both versions
 * (a GIN entry per trigram of two texts was the largest cost of the reservation's insert). Reserved
 * and abandoned serials were never found by a search; they now take no room in these indexes.
 * Only where the indexes exist (pg_trgm available: PostgreSQL, not the embedded database).
 */
const REGISTERED = `where state in ('issued', 'imported')`;
const INDEXES = [
  ['certificates_search_folded_trgm', 'search_folded'],
  ['certificates_search_compact_trgm', 'search_compact'],
] as const;

async function rebuild(knex: Knex, predicate: string): Promise<void> {
  for (const [name, column] of INDEXES) {
    const [present] = (await knex.raw(`select count(*)::int as n from pg_indexes where indexname = ?`, [name])).rows as Array<{ n: number }>;
    if (present.n === 0) continue;
    await knex.raw(`drop index ${name}`);
    await knex.raw(`create index ${name} on certificates using gin (${column} gin_trgm_ops) ${predicate}`);
  }
}

export async function up(knex: Knex): Promise<void> {
  await rebuild(knex, REGISTERED);
}

export async function down(knex: Knex): Promise<void> {
  await rebuild(knex, '');
}
