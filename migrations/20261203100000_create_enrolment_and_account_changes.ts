import type { Knex } from 'knex';

/**
 * Issue 16: single-use codes (an administrator's enrolment code for a person's first passkey or
 * login certificate; an officer's own approval code for the CLI), stored as SHA-256 digests only,
 * and the account changes that wait for a second administrator (dual control over people).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('one_time_codes', (t) => {
    t.uuid('id').primary();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    t.text('purpose').notNullable(); // enrolment | cli-approval
    // SHA-256 (hex) of the code: the code itself is shown once and never stored.
    t.text('code_hash').notNullable().unique();
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    // Null while the code waits for a second administrator (an enrolment code for a privileged account).
    t.timestamp('usable_from', { useTz: true }).nullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true }).nullable();
    t.uuid('change_id').nullable();
    t.index(['account_id', 'purpose']);
  });

  await knex.schema.createTable('account_changes', (t) => {
    t.uuid('id').primary();
    t.text('kind').notNullable(); // create | roles | password | disable | enrolment-code
    t.uuid('account_id').nullable(); // null for a creation until it is carried out
    t.text('label').notNullable(); // the account's login, for the lists
    t.jsonb('payload').notNullable();
    t.text('requested_by').notNullable();
    t.text('status').notNullable(); // pending | done | rejected
    t.text('decided_by').nullable();
    t.text('reason').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('decided_at', { useTz: true }).nullable();
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('account_changes');
  await knex.schema.dropTable('one_time_codes');
}
