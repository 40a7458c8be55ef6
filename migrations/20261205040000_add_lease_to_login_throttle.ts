import type { Knex } from 'knex';

/**
 * Client authentication without a read per request (docs/security.md, "Login throttling"): a node
 * that admits a client's right secret from memory first takes a short lease on the clean counter
 * (`lease_until`, in the database's clock); an attempt counted on a leased key on any node waits
 * for the lease to end before its secret is checked, so nothing can fail, and nothing can lock,
 * while a node admits from memory.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_throttle', (t) => {
    t.timestamp('lease_until', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('login_throttle', (t) => {
    t.dropColumn('lease_until');
  });
}
