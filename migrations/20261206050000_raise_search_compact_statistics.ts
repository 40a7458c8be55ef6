import type { Knex } from 'knex';

/**
 * A search of several words ("ngoc han") is looked up in the trigram index of the spaceless text
 * where its words join (docs/ca.md, "Registry search"), and its first page among the newest
 * certificates: the planner should intersect that lookup with the creation-time index and read
 * only the few matches among the newest rows. It does so only when it expects the lookup to give
 * many rows, and PostgreSQL estimates `search_compact LIKE '%ocha%'` from the column's histogram:
 * the share of its entries that match, and 0.01 % when none does. With the default 100 entries a
 * lookup that 0.6 % of the registry matches ("ngoc han" in the benchmark's million) finds none in
 * about half the samples, so each ANALYZE flipped the plan: 100 rows expected, all 6,250 matches
 * read for 50 (969 table pages, ~126 ms on a loaded machine), or the intersection (12 pages,
 * ~4 ms). With 1,000 entries such a lookup is missed about once in 500 analyses. The cost: ANALYZE
 * samples 300,000 rows for this column, and planning a multi-word search tests its pattern on
 * 1,000 entries (a fraction of a millisecond).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table certificates alter column search_compact set statistics 1000');
  // The new target counts from the next analysis; this one analyses the column alone.
  await knex.raw('analyze certificates (search_compact)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table certificates alter column search_compact set statistics -1');
}
