import type { Knex } from 'knex';

/**
 * API access tokens (JWTs) end with what they stand for (docs/identity.md, "Revoking API tokens"):
 * - `api_token_revocations`: a token (`jti`), a grant, a client or an account whose API tokens
 *   issued up to `revoked_at` are refused. Every node keeps the rows in memory and learns of new
 *   ones through the status-change feed (`ocsp_changes`); a row is kept until no token it can
 *   refuse is still valid (`expires_at`).
 * - `dpop_proofs`: the `jti` of every DPoP proof accepted by the API (RFC 9449 §11.1), shared by
 *   all nodes so a proof replayed at another node is refused; kept until the proof is too old anyway.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_token_revocations', (t) => {
    t.bigIncrements('id').primary();
    t.text('kind').notNullable(); // jti | grant | client | account
    t.text('value').notNullable();
    t.timestamp('revoked_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
  await knex.schema.createTable('dpop_proofs', (t) => {
    // SHA-256 of the key thumbprint and the proof's jti: one row per accepted proof.
    t.text('id').primary();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('dpop_proofs');
  await knex.schema.dropTableIfExists('api_token_revocations');
}
