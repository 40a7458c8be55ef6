/**
 * The hot statements' runner (src/storage/pooled-statement.ts): the same answer as knex's raw
 * query for the same text and bindings, knex's `query` event emitted (what the query-count tests
 * count), a statement the server refuses answered with its SQLSTATE and the pool still usable, on
 * PostgreSQL straight on a pooled connection and on the embedded database through knex.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runPooledStatement } from '../../../src/storage/pooled-statement.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';

let database: TestDatabase;
const SQL = `SELECT ?::text AS word, ?::int + 1 AS next, ?::timestamptz AS at, ?::text[] AS words, ?::jsonb AS doc, ?::text IS NULL AS missing`;
const AT = new Date('2026-12-07T03:04:05.678Z');
const BINDINGS = ['Ngọc Hân', 41, AT, ['một', 'hai'], JSON.stringify({ k: 'giá trị' }), null];

describe(`pooled named statements (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.knex.raw('CREATE TABLE pooled_probe (id int PRIMARY KEY, note text NOT NULL)');
  });
  afterAll(async () => database?.destroy());

  it('answers as knex.raw answers the same text and bindings', async () => {
    const knex = database.db.knex;
    const viaKnex = (await knex.raw(SQL, BINDINGS).options({ name: 'probe_via_knex' })) as { rows: unknown[] };
    const pooled = await runPooledStatement(knex, 'probe_pooled', SQL, BINDINGS);
    expect(pooled.rows).toEqual(viaKnex.rows);
    expect(pooled.rows[0]).toMatchObject({ word: 'Ngọc Hân', next: 42, words: ['một', 'hai'], doc: { k: 'giá trị' }, missing: true });
    expect(new Date((pooled.rows[0] as { at: Date | string }).at).getTime()).toBe(AT.getTime());
    // Again under the same name: the statement PostgreSQL prepared on the connection is reused.
    expect((await runPooledStatement(knex, 'probe_pooled', SQL, ['khác', 1, AT, [], '{}', 'x'])).rows[0]).toMatchObject({ word: 'khác', next: 2, words: [], missing: false });
  });

  it('writes, with rowCount, and emits knex’s query event once per statement', async () => {
    const knex = database.db.knex;
    const seen: Array<{ sql: string }> = [];
    const listen = (q: { sql: string }) => seen.push(q);
    knex.on('query', listen);
    try {
      const insert = await runPooledStatement(knex, 'probe_insert', 'INSERT INTO pooled_probe (id, note) VALUES (?, ?), (?, ?)', [1, 'một', 2, 'hai']);
      expect(insert.rowCount).toBe(2);
    } finally {
      knex.off('query', listen);
    }
    // As knex reports a raw query on PostgreSQL: its text with numbered placeholders.
    expect(seen.map((q) => q.sql)).toEqual(['INSERT INTO pooled_probe (id, note) VALUES ($1, $2), ($3, $4)']);
    expect(await knex('pooled_probe').orderBy('id').select('id', 'note')).toEqual([{ id: 1, note: 'một' }, { id: 2, note: 'hai' }]);
  });

  it('a statement the server refuses: its SQLSTATE, nothing written, and the pool serves the next one', async () => {
    const knex = database.db.knex;
    await expect(runPooledStatement(knex, 'probe_insert', 'INSERT INTO pooled_probe (id, note) VALUES (?, ?), (?, ?)', [3, 'ba', 1, 'trùng'])).rejects.toMatchObject({ code: '23505' });
    expect(await knex('pooled_probe').where({ id: 3 }).first()).toBeUndefined();
    // Many in parallel, more than the pool's connections: each gets its own answer.
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => runPooledStatement<{ word: string; next: number }>(knex, 'probe_pooled', SQL, [`w${i}`, i, AT, [], '{}', null])));
    expect(answers.map((a) => a.rows[0].next)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('refuses a text whose placeholders it cannot number, and another text under a name in use', async () => {
    await expect(runPooledStatement(database.db.knex, 'probe_identifier', 'SELECT ?? FROM pooled_probe', ['id'])).rejects.toThrow(/only plain \? placeholders/);
    await expect(runPooledStatement(database.db.knex, 'probe_pooled', 'SELECT ?::text AS other', ['x'])).rejects.toThrow(/another text under the same name/);
  });
});
