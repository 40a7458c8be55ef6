import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { migrationSource } from '../../../migrations/index.js';
import { OidcPayloadRepository } from '../../../src/storage/oidc-payload-repository.js';

/**
 * Issue 17: the migration that hashes bearer values converts the rows an existing installation
 * has (refresh tokens and codes keyed by their value, `jti` in the payload), and the adapter's
 * store finds them afterwards by the value a client presents.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let database: TestDatabase;
const config = { migrationSource, tableName: 'knex_migrations' };
const HASHING = '20261203120000_hash_oidc_bearer_values';
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

beforeAll(async () => {
  database = await createTestDatabase();
  await database.db.migrateLatest();
});

afterAll(async () => {
  await database?.destroy();
});

describe(`migration ${HASHING} (${db})`, () => {
  it('hashes the ids and user codes of existing rows, strips jti, fills account_id; the values still find their rows', async () => {
    const { knex } = database.db;
    await knex.migrate.down({ ...config, name: '20261203120100_create_token_revocations' });
    await knex.migrate.down({ ...config, name: HASHING });
    const refresh = 'r3fr3sh-t0k3n-value-from-before-the-migration-000000';
    const device = 'd3v1c3-c0d3-value-from-before-the-migration-0000000';
    const expires = new Date(Date.now() + 3_600_000);
    await knex('oidc_payloads').insert([
      { model: 'RefreshToken', id: refresh, payload: JSON.stringify({ jti: refresh, kind: 'RefreshToken', accountId: 'acc-1', grantId: 'grant-1', clientId: 'cong' }), grant_id: 'grant-1', expires_at: expires },
      { model: 'DeviceCode', id: device, payload: JSON.stringify({ jti: device, kind: 'DeviceCode', userCode: 'ABCD-EFGH', clientId: 'cong' }), user_code: 'ABCD-EFGH', expires_at: expires },
    ]);

    await knex.migrate.up({ ...config, name: HASHING });
    await knex.migrate.up({ ...config, name: '20261203120100_create_token_revocations' });

    const rows = (await knex('oidc_payloads').whereIn('model', ['RefreshToken', 'DeviceCode']).orderBy('model').select('model', 'id', 'payload', 'user_code', 'account_id')) as Array<Record<string, unknown>>;
    const text = JSON.stringify(rows);
    expect(text).not.toContain(refresh);
    expect(text).not.toContain(device);
    expect(text).not.toContain('ABCD-EFGH');
    expect(rows.map((r) => r.id)).toEqual([sha256(device), sha256(refresh)]);
    expect(rows.find((r) => r.model === 'RefreshToken')?.account_id).toBe('acc-1');

    const store = new OidcPayloadRepository(knex);
    const now = new Date();
    expect(await store.find('RefreshToken', refresh, now)).toMatchObject({ jti: refresh, accountId: 'acc-1', grantId: 'grant-1' });
    expect(await store.findBy('DeviceCode', 'user_code', 'ABCD-EFGH', now)).toMatchObject({ userCode: 'ABCD-EFGH', clientId: 'cong' });
    // And the account's rows can be ended at once.
    expect(await store.destroyForAccount(null, 'acc-1')).toBe(1);
    expect(await store.find('RefreshToken', refresh, now)).toBeUndefined();
  });
});
