import type { Knex } from 'knex';

/**
 * Passkeys (WebAuthn credentials) of accounts, the single-use challenges of their ceremonies, and
 * certificates registered to an account for certificate login (when their subject names no CCCD).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('passkeys', (t) => {
    t.uuid('id').primary();
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    // The credential ID as the authenticator gave it (base64url): unique across every account.
    t.text('credential_id').notNullable().unique();
    // COSE public key (RFC 8152) from the attested credential data.
    t.binary('public_key').notNullable();
    // The signature counter (WebAuthn §6.1.1); 0 for authenticators that do not count (passkeys).
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    t.text('aaguid').notNullable();
    // singleDevice | multiDevice (backup eligible), and whether it is backed up now (BS flag).
    t.text('device_type').notNullable();
    t.boolean('backed_up').notNullable().defaultTo(false);
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.index(['account_id']);
  });

  // A challenge is used once: the ceremony that consumes it deletes the row.
  await knex.schema.createTable('webauthn_challenges', (t) => {
    t.text('challenge').primary();
    t.text('purpose').notNullable(); // registration | authentication
    t.uuid('account_id').nullable(); // registration, and a second-factor authentication
    t.text('binding').notNullable(); // interaction uid or session uid the challenge belongs to
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
  });

  await knex.schema.createTable('account_certificates', (t) => {
    t.uuid('account_id').notNullable().references('id').inTable('accounts').onDelete('CASCADE');
    // SHA-256 of the certificate's DER (hex): what the login compares.
    t.text('fingerprint').notNullable().primary();
    t.text('subject_dn').notNullable();
    t.text('issuer_dn').notNullable();
    t.text('serial').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['account_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('account_certificates');
  await knex.schema.dropTable('webauthn_challenges');
  await knex.schema.dropTable('passkeys');
}
