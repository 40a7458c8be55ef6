/**
 * Which errors count as "the database is unavailable" (503, retry) and which are faults (500):
 * real errors from the real drivers, not hand-made objects. A mistake either way matters: a bug
 * reported as 503 hides itself behind retries, an outage reported as 500 pages someone for nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import knexFactory from 'knex';
import pg from 'pg';
import { isDatabaseUnavailable } from '../../../src/errors/dependency-unavailable.js';
import { openDatabase, DatabaseUnavailableError } from '../../../src/storage/db.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';

// Reason: pools, acquire and query bounds exist only for PostgreSQL (the embedded database is one in-process connection).
if (!usingPostgres()) process.stderr.write('skipping the PostgreSQL pool and query-bound errors: set DATABASE_URL to run them\n');
const quiet = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

const caught = async (work: () => Promise<unknown>): Promise<unknown> => {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
};

describe(`database errors: unavailable or a fault (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('a server that refuses connections, through pg and through knex and openDatabase: unavailable', async () => {
    // Port 9 (discard) has no listener on loopback here.
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:9/x', connectionTimeoutMillis: 2_000 });
    expect(isDatabaseUnavailable(await caught(() => client.connect()))).toBe(true);
    const knex = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:9/x', pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2_000, log: quiet });
    try {
      expect(isDatabaseUnavailable(await caught(() => knex.raw('select 1')))).toBe(true);
    } finally {
      await knex.destroy();
    }
    const opened = await caught(() => openDatabase({ kind: 'postgres', url: 'postgres://postgres@127.0.0.1:9/x', acquireTimeoutMs: 1_000 }));
    expect(opened).toBeInstanceOf(DatabaseUnavailableError);
    expect(isDatabaseUnavailable(opened)).toBe(true);
  });

  (usingPostgres() ? it : it.skip)('PostgreSQL: a database that does not exist (dropped, not yet restored) is unavailable', async () => {
    const url = new URL((database.target as { url: string }).url);
    url.pathname = `/tinnhiem_missing_${process.pid}`;
    const knex = knexFactory({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2_000, log: quiet });
    try {
      const err = await caught(() => knex.raw('select 1'));
      expect((err as { code?: string }).code).toBe('3D000');
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await knex.destroy();
    }
  });

  it('SQL errors of our own are faults, not unavailability', async () => {
    const knex = database.db.knex;
    expect(isDatabaseUnavailable(await caught(() => knex.raw('select * from no_such_table')))).toBe(false);
    expect(isDatabaseUnavailable(await caught(() => knex.raw('selec 1')))).toBe(false);
    expect(isDatabaseUnavailable(await caught(() => knex.raw("select 'x'::int")))).toBe(false);
    await knex.raw('create temporary table once (id int primary key)');
    await knex.raw('insert into once values (1)');
    expect(isDatabaseUnavailable(await caught(() => knex.raw('insert into once values (1)')))).toBe(false);
  });

  (usingPostgres() ? it : it.skip)('PostgreSQL: a pool that cannot hand out a connection in time, and a query past its bound, are unavailable', async () => {
    const url = (database.target as { url: string }).url;
    const knex = knexFactory({ client: 'pg', connection: { connectionString: url, query_timeout: 600 }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 200, log: quiet });
    try {
      const holding = knex.raw('select pg_sleep(1)');
      const [slow, starved] = await Promise.all([caught(() => holding), caught(() => knex.raw('select 1'))]);
      // The sleeping query outlives query_timeout; the second waits for the only connection.
      expect(isDatabaseUnavailable(slow)).toBe(true);
      expect(isDatabaseUnavailable(starved)).toBe(true);
    } finally {
      await knex.destroy();
    }
  });
});
