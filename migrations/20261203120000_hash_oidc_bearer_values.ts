import type { Knex } from 'knex';

/**
 * Bearer values at rest (docs/identity.md, "Bearer values at rest"): the provider's rows are kept
 * under the SHA-256 (hex) of their id, the id no longer stands in the payload (`jti`), and a
 * device flow's user code is kept as its hash too, so whoever reads the database cannot present an
 * authorization code, a refresh token or an opaque access token. `account_id` lets an account's
 * sessions, grants and tokens be ended at once (disabling, a password reset).
 *
 * Existing rows are converted in place. Down cannot recover the values (a hash is one way): it
 * deletes the provider's rows, which signs everyone out and ends every grant.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.text('account_id').nullable();
    t.index(['account_id']);
  });
  await knex.raw(`
    UPDATE oidc_payloads SET
      id = encode(sha256(convert_to(id, 'UTF8')), 'hex'),
      payload = payload - 'jti',
      user_code = CASE WHEN user_code IS NULL THEN NULL ELSE encode(sha256(convert_to(user_code, 'UTF8')), 'hex') END,
      account_id = payload->>'accountId'`);
  await knex.raw(`UPDATE oidc_payloads SET payload = payload - 'userCode' WHERE payload->>'userCode' IS NOT NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('oidc_payloads').delete();
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropIndex(['account_id']);
    t.dropColumn('account_id');
  });
}
