import type { Knex } from 'knex';

/**
 * When every OCSP node confirmed that it answers for an issuer (docs/ocsp.md, "A new issuing CA").
 * New certificates come from the newest issuing CA with this set, so none is handed out before
 * OCSP on every node knows its issuer. Existing issuers were answered for already.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ca_issuers', (t) => {
    t.timestamp('announced_at', { useTz: true }).nullable();
  });
  await knex('ca_issuers').update({ announced_at: knex.ref('created_at') });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ca_issuers', (t) => {
    t.dropColumn('announced_at');
  });
}
