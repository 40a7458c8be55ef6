import type { Knex } from 'knex';

/**
 * Blocked keys (docs/ca.md, "Blocked keys"): SHA-256 fingerprints of SubjectPublicKeyInfos that no
 * CSR may ever carry again: keys of certificates revoked for keyCompromise or cACompromise, and
 * keys reported compromised without a certificate (`tinnhiem cert block-key`). Rows are never
 * deleted. And the evidence an approving officer records of how control of each DNS name of a
 * request was checked (docs/ca.md, "Name policy").
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('blocked_keys', (t) => {
    t.text('fingerprint').primary();
    // keyCompromise | cACompromise | reported
    t.text('reason').notNullable();
    // The certificate whose revocation blocked the key (`<issuer>/<serial>`), or null when reported.
    t.text('source').nullable();
    t.text('blocked_by').notNullable();
    t.text('comment').nullable();
    t.timestamp('blocked_at', { useTz: true }).notNullable();
  });
  await knex.schema.alterTable('certificate_request_approvals', (t) => {
    t.jsonb('name_control').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificate_request_approvals', (t) => {
    t.dropColumn('name_control');
  });
  await knex.schema.dropTableIfExists('blocked_keys');
}
