import type { Knex } from 'knex';

/**
 * Time-stamping authorities are trusted explicitly (docs/validation.md, "Time"): a trust entry
 * marked `timestamping` is an anchor a TSA's chain may end at. No entry is marked by this
 * migration: a root trusted for signatures is not thereby trusted to say what time it is.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('trust_entries', (t) => {
    t.boolean('timestamping').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('trust_entries', (t) => {
    t.dropColumn('timestamping');
  });
}
