/**
 * `node --import tsx bench/explain-search.ts <database url> [runs]`: issue 20's search set as the
 * service asks it (src/storage/certificate-search-repository.ts, the API's page of 50 with its
 * total exact up to 1,000), each statement captured from knex and run again under
 * `EXPLAIN (ANALYZE, BUFFERS, SETTINGS)`. Prints each statement's plan once, then the execution
 * and planning times of `runs` more rounds (all statements in turn, warm): where a search's time
 * goes, in the database alone (docs/performance.md, "Registry search at a million").
 */
import knexFactory from 'knex';
import pg from 'pg';
import { CertificateSearchRepository } from '../src/storage/certificate-search-repository.js';
import { REGISTRY_COUNT_LIMIT } from '../src/certificates/certificate-service.js';
import type { CertificateSearch } from '../ca/records.js';

const url = process.argv[2];
const runs = Number(process.argv[3] ?? 20);
if (!url) throw new Error('usage: explain-search.ts <database url> [runs]');
const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
const repo = new CertificateSearchRepository(knex);
const set: Array<[string, Partial<CertificateSearch>]> = [
  ['nguyễn', { text: 'nguyễn' }],
  ['nguyen', { text: 'nguyen' }],
  ['ngoc han', { text: 'ngoc han' }],
  ['agency + status', { agency: 'Sở Y tế', status: 'revoked' }],
  ['expiring 30', { expiresWithinDays: 30 }],
];
const now = new Date();
const statements: Array<{ name: string; sql: string; bindings: unknown[] }> = [];
for (const [name, s] of set) {
  const captured: Array<{ sql: string; bindings: unknown[] }> = [];
  const listen = (q: { sql: string; bindings: unknown[] }) => captured.push({ sql: q.sql, bindings: q.bindings });
  knex.on('query', listen);
  await repo.search(null, { limit: 50, offset: 0, countLimit: REGISTRY_COUNT_LIMIT, ...s } as CertificateSearch, now);
  knex.off('query', listen);
  captured.forEach((c, i) => statements.push({ name: `${name} #${i + 1}`, ...c }));
}
await knex.destroy();

const client = new pg.Client({ connectionString: url });
await client.connect();
const explain = async (st: (typeof statements)[number], format: 'text' | 'json') =>
  (await client.query(`explain (analyze, buffers, settings${format === 'json' ? ', format json' : ''}) ${st.sql}`, st.bindings)).rows;
for (const st of statements) {
  process.stdout.write(`\n=== ${st.name}\n${st.sql}\n${JSON.stringify(st.bindings)}\n`);
  for (const row of await explain(st, 'text')) process.stdout.write(`${(row as Record<string, string>)['QUERY PLAN']}\n`);
}
const times: Record<string, { exec: number[]; plan: number[] }> = {};
for (let r = 0; r < runs; r++) {
  for (const st of statements) {
    const [row] = await explain(st, 'json');
    const [plan] = (row as { 'QUERY PLAN': Array<{ 'Execution Time': number; 'Planning Time': number }> })['QUERY PLAN'];
    (times[st.name] ??= { exec: [], plan: [] }).exec.push(plan['Execution Time']);
    times[st.name].plan.push(plan['Planning Time']);
  }
}
const q = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))].toFixed(2);
process.stdout.write(`\n${runs} rounds, ms (execution p50 / max; planning p50 / max)\n`);
for (const [name, t] of Object.entries(times)) process.stdout.write(`${name.padEnd(22)} exec ${q(t.exec, 50)} / ${q(t.exec, 100)}   plan ${q(t.plan, 50)} / ${q(t.plan, 100)}\n`);
await client.end();
