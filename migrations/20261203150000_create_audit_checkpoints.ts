import type { Knex } from 'knex';

/**
 * The checkpoints this installation signed (src/audit/audit-checkpointer.ts): a copy for
 * scheduling the next one and for `audit checkpoints` to list. `audit verify` never trusts this
 * table (whoever can rewrite the log can rewrite it too); it reads the copies outside the
 * database (docs/audit.md). The signing lease is a row `audit-checkpoint` in `ocsp_leases`, the
 * table of background-job leases.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_checkpoints', (t) => {
    t.bigIncrements('id');
    t.bigInteger('seq').notNullable();
    t.text('hash').notNullable();
    t.timestamp('signed_at', { useTz: true }).notNullable();
    t.text('key_id').notNullable();
    t.jsonb('record').notNullable();
    t.index(['seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_checkpoints');
}
