import type { Knex } from 'knex';

/**
 * Documents an agency registered for QR verification (docs/verify.md): the SHA-256 of the file,
 * never the file; the verification id is what the printed QR code links to.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('registered_documents', (t) => {
    t.text('id').primary();
    t.text('sha256').notNullable();
    t.text('title').notNullable();
    t.text('issuer').notNullable();
    t.date('document_date').nullable();
    t.text('registered_by').notNullable();
    t.timestamp('registered_at', { useTz: true }).notNullable();
    t.index(['sha256']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('registered_documents');
}
