import type { Knex } from 'knex';

/**
 * Login throttling that cannot be raced (docs/security.md, "Login throttling"): each counter keeps
 * the attempts being checked right now (`pending`) apart from the settled failures, so an attempt
 * is counted before its secret is checked without a burst of refused attempts ever counting as
 * failures (or setting a lock) on another key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_throttle', (t) => {
    t.integer('pending').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_throttle', (t) => {
    t.dropColumn('pending');
  });
}
