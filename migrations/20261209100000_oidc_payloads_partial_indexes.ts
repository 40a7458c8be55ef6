import type { Knex } from 'knex';

/**
 * The provider's rows (oidc_payloads) are written several times in every login and token request:
 * an interaction, its session, grant and code, an access token, a rotated refresh token. Each
 * version of a row was entered in every index, its nulls included, though most models carry no
 * grant id (interactions, sessions, grants), no uid (all but sessions), no user code (all but the
 * device flow's), no account (interactions). The indexes now hold only the rows a lookup can find:
 * each is partial on its column being set, which every query on it implies (`col = value` is never
 * true for a null). A session's uid is indexed with its model: a lookup of a session by uid (the
 * code grant's session check, the logout) was planned as the uid index ANDed with every session's
 * primary-key entry (docs/performance.md, "Passkey login, fourteenth pass").
 */
const PARTIAL: Array<{ name: string; columns: string; where: string; before: string }> = [
  { name: 'oidc_payloads_grant_id_index', columns: 'grant_id', where: 'grant_id IS NOT NULL', before: 'grant_id' },
  { name: 'oidc_payloads_uid_index', columns: 'model, uid', where: 'uid IS NOT NULL', before: 'uid' },
  { name: 'oidc_payloads_user_code_index', columns: 'user_code', where: 'user_code IS NOT NULL', before: 'user_code' },
  { name: 'oidc_payloads_account_id_index', columns: 'account_id', where: 'account_id IS NOT NULL', before: 'account_id' },
];

// Each index keeps its name (earlier migrations' `down` drop them by name).
export async function up(knex: Knex): Promise<void> {
  for (const i of PARTIAL) {
    await knex.raw(`DROP INDEX IF EXISTS ${i.name}`);
    await knex.raw(`CREATE INDEX ${i.name} ON oidc_payloads (${i.columns}) WHERE ${i.where}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const i of PARTIAL) {
    await knex.raw(`DROP INDEX IF EXISTS ${i.name}`);
    await knex.raw(`CREATE INDEX ${i.name} ON oidc_payloads (${i.before})`);
  }
}
