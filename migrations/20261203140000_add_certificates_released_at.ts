import type { Knex } from 'knex';

/**
 * When a certificate was last released from hold. A delta CRL lists removeFromCRL for every hold
 * released since its base (RFC 5280 §5.2.4), also for holds placed after the base that never
 * appeared on it; without this column the release left no trace on the row.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificates', (t) => {
    t.timestamp('released_at', { useTz: true }).nullable();
    t.index(['issuer_id', 'released_at'], 'certificates_issuer_released_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('certificates', (t) => {
    t.dropIndex(['issuer_id', 'released_at'], 'certificates_issuer_released_at');
    t.dropColumn('released_at');
  });
}
