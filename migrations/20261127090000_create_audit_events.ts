import type { Knex } from 'knex';

/**
 * The append-only audit log: every event carries the SHA-256 of the previous one
 * (src/audit/audit-chain.ts). Updates, deletes and truncation are refused by a trigger, so a
 * change needs DDL rights; `tinnhiem audit verify` detects what such a change did.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigInteger('seq').primary();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('target').nullable();
    t.jsonb('details').notNullable();
    t.binary('prev_hash').notNullable();
    t.binary('hash').notNullable();
    t.index(['action', 'seq']);
    t.index(['actor', 'seq']);
    t.index(['target', 'seq']);
  });
  await knex.raw(`
    CREATE FUNCTION tinnhiem_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$`);
  await knex.raw(`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION tinnhiem_audit_append_only()`);
  await knex.raw(`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION tinnhiem_audit_append_only()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  await knex.raw('DROP FUNCTION IF EXISTS tinnhiem_audit_append_only()');
}
