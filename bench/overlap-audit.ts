/**
 * `node --import tsx bench/overlap-audit.ts <database url> [rounds]`: a search of issue 20's set with
 * the `certificate.read_pii` audit event written after the page and the count (as before
 * 2026-12-06) and while the count runs (now), in alternation on the same registry, timed from the
 * client with the audit's commit (docs/performance.md, "Registry search at a million: the tail").
 * Writes audit events into that database: run it on a scratch copy.
 */
import knexFactory from 'knex';
import { AuditRepository } from '../src/storage/audit-repository.js';
import { CertificateSearchRepository } from '../src/storage/certificate-search-repository.js';
import type { CertificateRecord, CertificateSearch } from '../ca/records.js';

const url = process.argv[2];
const rounds = Number(process.argv[3] ?? 40);
const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 10 } });
const repo = new CertificateSearchRepository(knex);
const audit = new AuditRepository(knex, { now: () => new Date() });
const record = (items: CertificateRecord[]) => knex.transaction((trx) => audit.append(trx, { actor: 'bench', action: 'certificate.read_pii', target: null, details: { serials: items.map((c) => c.serial) } })).then(() => undefined);
const now = new Date();
const set: Array<[string, Partial<CertificateSearch>]> = [['nguyen', { text: 'nguyen' }], ['ngoc han', { text: 'ngoc han' }], ['agency + status', { agency: 'Sở Y tế', status: 'revoked' }]];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
for (const [name, s] of set) {
  const filter = { limit: 50, offset: 0, countLimit: 1000, ...s } as CertificateSearch;
  const after: number[] = [];
  const beside: number[] = [];
  for (let i = 0; i < 5; i++) await repo.search(null, filter, now, record);
  for (let i = 0; i < rounds; i++) {
    let t0 = process.hrtime.bigint();
    const page = await repo.search(null, filter, now);
    await record(page.items);
    after.push(ms(t0));
    t0 = process.hrtime.bigint();
    await repo.search(null, filter, now, record);
    beside.push(ms(t0));
  }
  const q = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor((p / 100) * v.length))].toFixed(2);
  process.stdout.write(`${name.padEnd(16)} audit after: p50 ${q(after, 50)} p90 ${q(after, 90)} max ${q(after, 100)} ms; beside the count: p50 ${q(beside, 50)} p90 ${q(beside, 90)} max ${q(beside, 100)} ms\n`);
}
await knex.destroy();
