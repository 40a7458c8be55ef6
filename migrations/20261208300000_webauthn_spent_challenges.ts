import type { Knex } from 'knex';

/**
 * A passkey login's challenge is no longer stored when the login page is rendered: it is sealed
 * (src/webauthn/sealed-challenge.ts: the interaction, the expiry and 16 random bytes under an HMAC
 * of the installation's secret), so any node can check it without a row. What must still be
 * stored is that a challenge was used: its spent marker, written in the statement that advances
 * the passkey's counter and appends the login's audit event (docs/performance.md, "Passkey login,
 * sixth pass"). The primary key makes the marker single: of two assertions on one challenge, one
 * inserts it, the other finds it and is refused. A marker is swept a while after its challenge
 * expired (the seal refuses an expired challenge by itself).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webauthn_spent_challenges', (t) => {
    t.text('challenge').primary();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webauthn_spent_challenges');
}
