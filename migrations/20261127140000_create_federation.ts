import type { Knex } from 'knex';

/**
 * Federation with upstream identity providers (DVCQG / VNeID): which upstream subject (TechID or
 * `sub`) is which local account. One national ID is one person (accounts.national_id is unique);
 * an organisation login is one account per tax code, enforced by a partial unique index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('federated_identities', (t) => {
    t.uuid('id').primary();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('upstream').notNullable();
    // TechID for DVCQG, `sub` for an OpenID provider: the upstream's stable identifier.
    t.text('subject').notNullable();
    // What the upstream said when the link was made (the national ID, or the tax code).
    t.text('national_id').nullable();
    t.text('tax_code').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_login_at', { useTz: true }).nullable();
    t.unique(['upstream', 'subject']);
    t.index(['account_id']);
  });
  await knex.raw(
    "CREATE UNIQUE INDEX accounts_organisation_tax_code ON accounts ((attributes->>'taxCode')) WHERE kind IN ('enterprise', 'organisation')",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS accounts_organisation_tax_code');
  await knex.schema.dropTableIfExists('federated_identities');
}
