import type { Knex } from 'knex';

/**
 * The identity provider's state: accounts, login throttling, the client registry, token signing
 * keys (sealed), oidc-provider's models (sessions, codes, tokens, grants…) and sealed settings.
 * All of it in the database, so any node serves any session.
 */
export async function up(knex: Knex): Promise<void> {
  await createAccounts(knex);
  await createProviderTables(knex);
}

/** Settings, accounts and login throttling. */
async function createAccounts(knex: Knex): Promise<void> {
  // Small named values, some sealed with the master key (cookie keys, the key-check value).
  await knex.schema.createTable('settings', (t) => {
    t.text('name').primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('accounts', (t) => {
    t.uuid('id').primary();
    t.text('kind').notNullable(); // citizen | official | enterprise | organisation
    t.text('username').nullable().unique();
    // One national ID is one person (CCCD, 12 digits). Citizens from federation and officials.
    t.text('national_id').nullable().unique();
    t.text('full_name').notNullable();
    t.text('given_name').nullable();
    t.text('family_name').nullable();
    t.text('email').nullable();
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('phone').nullable();
    t.text('agency').nullable();
    t.text('unit').nullable();
    t.text('position').nullable();
    t.specificType('roles', 'text[]').notNullable().defaultTo('{}');
    t.text('status').notNullable().defaultTo('active'); // active | disabled
    t.text('password_hash').nullable();
    t.timestamp('password_changed_at', { useTz: true }).nullable();
    t.jsonb('attributes').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['kind', 'status']);
  });

  // Failed-login counters per account and per client address, shared by every node.
  await knex.schema.createTable('login_throttle', (t) => {
    t.text('key').primary(); // account:<id> | ip:<address>
    t.integer('failures').notNullable();
    t.timestamp('window_started_at', { useTz: true }).notNullable();
    t.timestamp('locked_until', { useTz: true }).nullable();
  });
}

/** The provider's clients, signing keys and payloads. */
async function createProviderTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_clients', (t) => {
    t.text('client_id').primary();
    // oidc-provider client metadata, without the secret.
    t.jsonb('metadata').notNullable();
    // The secret sealed with the master key (AES-256-GCM); null for public and private_key_jwt clients.
    t.binary('secret_sealed').nullable();
    t.boolean('first_party').notNullable().defaultTo(false);
    t.text('description').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('oidc_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable(); // ES256 | RS256 (also used for PS256)
    // next: published, not yet used · active: signs · retired: published until its tokens expire
    t.text('state').notNullable();
    t.binary('private_jwk_sealed').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('activated_at', { useTz: true }).nullable();
    t.timestamp('retired_at', { useTz: true }).nullable();
    t.timestamp('remove_after', { useTz: true }).nullable();
  });

  await knex.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id').nullable();
    t.text('user_code').nullable();
    t.text('uid').nullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.timestamp('consumed_at', { useTz: true }).nullable();
    t.primary(['model', 'id']);
    t.index(['grant_id']);
    t.index(['uid']);
    t.index(['user_code']);
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['oidc_payloads', 'oidc_keys', 'oidc_clients', 'login_throttle', 'accounts', 'settings']) {
    await knex.schema.dropTableIfExists(table);
  }
}
