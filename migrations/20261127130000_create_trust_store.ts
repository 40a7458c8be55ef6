import type { Knex } from 'knex';

/**
 * The operator-managed part of the validator's trust store (docs/validation.md): trust anchors
 * (roots a chain may end at, e.g. the government and national roots) and intermediates (CA
 * certificates that fill chains whose signatures embed only the signer). Our own CA hierarchy is
 * read from `ca_issuers`, and anchors named by VALIDATION_TRUST_ANCHORS from files; neither is
 * copied here. Every change is audited (`trust.add`, `trust.remove`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('trust_entries', (t) => {
    t.text('sha256').primary(); // of the certificate's DER, lower-case hex
    t.text('kind').notNullable(); // anchor | intermediate
    t.binary('der').notNullable();
    t.text('subject_dn').notNullable();
    t.timestamp('not_after', { useTz: true }).notNullable();
    t.text('label').nullable();
    t.text('added_by').notNullable();
    t.timestamp('added_at', { useTz: true }).notNullable();
  });
  await knex.raw("alter table trust_entries add constraint trust_entries_kind check (kind in ('anchor', 'intermediate'))");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('trust_entries');
}
