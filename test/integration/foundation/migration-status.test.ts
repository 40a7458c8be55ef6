/**
 * `db.migrationStatus()` answers in one query what `knex.migrate.list` answers in four, and writes
 * nothing (every CLI command on PostgreSQL and every readiness probe asks; docs/cli.md, "Start-up
 * time"). Compared here with knex's own answer on the same database, on the database the run
 * uses (PostgreSQL with DATABASE_URL, else the embedded one).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrationSource } from '../../../migrations/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
}, 120_000);
afterAll(async () => {
  await database?.destroy();
});

const knexList = async () => {
  const [completed, pending] = (await database.db.knex.migrate.list({ migrationSource, tableName: 'knex_migrations' })) as [Array<{ name: string }>, Array<{ name: string }>];
  return { applied: completed.map((m) => m.name), pending: pending.map((m) => m.name) };
};

describe('migration status', () => {
  it('a migrated database: every migration applied, in order, none pending, as knex says', async () => {
    const status = await database.db.migrationStatus();
    expect(status.pending).toEqual([]);
    expect(status.applied).toHaveLength((await migrationSource.getMigrations([])).length);
    expect(status).toEqual(await knexList());
  });

  it('a migration missing from the table is pending, as knex says', async () => {
    const knex = database.db.knex;
    const [last] = (await knex('knex_migrations').orderBy('id', 'desc').limit(1).select('*')) as Array<Record<string, unknown>>;
    await knex('knex_migrations').where({ id: last.id }).delete();
    try {
      const status = await database.db.migrationStatus();
      expect(status.pending).toEqual([last.name]);
      expect(status).toEqual(await knexList());
    } finally {
      await knex('knex_migrations').insert(last);
    }
  });

  it('no migration table (an empty database): every migration pending, and no table created', async () => {
    const knex = database.db.knex;
    await knex.raw('alter table knex_migrations rename to knex_migrations_aside');
    try {
      const status = await database.db.migrationStatus();
      expect(status.applied).toEqual([]);
      expect(status.pending).toEqual((await migrationSource.getMigrations([])).map((m) => m.name));
      expect(await knex.schema.hasTable('knex_migrations')).toBe(false);
    } finally {
      await knex.raw('alter table knex_migrations_aside rename to knex_migrations');
    }
  });
});
