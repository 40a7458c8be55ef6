/**
 * `npm run bench:scale`: OCSP and certificate-search latency with a large registry against the same
 * with the province's 2,339 certificates, measured in the same run on the same machine (the ratio
 * of the latencies is the figure: how much a thousand-fold registry costs a caller).
 *
 * For each size, a service process (bench/support/service-process.ts) writes the synthetic
 * registry by SQL (INSERT … SELECT generate_series: the bulk path) and serves it; this process asks
 * one request at a time over loopback HTTP (a closed loop with one connection: the latency of a
 * lookup, not of a queue):
 * - OCSP, first request for a certificate: registry lookup, live signing, storing the response;
 * - OCSP, response stored in the database but not in memory (the node keeps OCSP_CACHE_ENTRIES=100
 *   responses in memory here, so a registry larger than the cache is read from the table);
 * - OCSP, response in memory;
 * - search (GET /api/v1/certificates, the first page of 50 with its total, as the console asks):
 *   by national ID (indexed), by one holder's whole name, and issue 20's set: "nguyễn" and
 *   "nguyen" (one holder in ten), "ngoc han" (a few hundred per 100,000), agency "Sở Y tế" +
 *   status revoked, expiring within 30 days. Text is matched folded (pg_trgm on the folded
 *   column, docs/ca.md "Registry search"); totals are exact up to 1,000.
 * The services of every size stay up together and the searches go to each size in turn, request by
 * request, so that the load of a shared machine, which drifts over minutes, weighs on every size
 * alike (the ratios compare like with like). After seeding, the table is vacuumed and analysed (a
 * registry in service has been, by autovacuum; index-only counts need it).
 * The background pre-signing job is held back (OCSP_REFRESH_BATCH=1, interval 1 h) so that every
 * "first request" really is one.
 *
 * BENCH_SCALE_SIZES=2339,1000000 (default: 2339 and 1,000,000 on PostgreSQL; 2339 and 200,000 on
 * the embedded database, whose single-process WASM engine seeds and scans a million rows too
 * slowly for the 15-minute `npm run bench`), BENCH_SCALE_REQUESTS=200 per OCSP row, BENCH_SCALE_SEARCHES=500 per row of the query set,
 * BENCH_DATABASE_URL=postgres://… Writes bench/results/scale-<date>.json and .md (BENCH_SCALE_NAME=x:
 * scale-<date>-x.*).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { certIdDer, requestDer } from '../test/unit/ca/ocsp/request-builder.js';
import { expectOk, machine, percentile, round, rssMiB, scratchDatabase, sequential, startServiceProcess, type ServiceReady } from './support/bench-kit.js';
import { cpuMs } from './support/token-rows.js';
import { PREPARED_MAX_DAYS, PREPARED_TABLE, preparedKey, preparedName } from './support/prepared-registry.js';

const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const SIZES = (process.env.BENCH_SCALE_SIZES ?? (DATABASE_URL ? '2339,1000000' : '2339,200000')).split(',').map(Number);
const REQUESTS = Number(process.env.BENCH_SCALE_REQUESTS ?? 200);
const CACHE = 100;
/** Uncounted requests to each size before each search row (BENCH_SCALE_WARMUP). */
const WARMUP = Number(process.env.BENCH_SCALE_WARMUP ?? 5);
/**
 * Counted searches per row of issue 20's query set (BENCH_SCALE_SEARCHES): its aim is a p99, and
 * the p99 of 100 searches is the second-slowest, which one stall of a shared machine decides
 * (docs/performance.md, "The whole run after the thirteenth pass"); of 500 it is the sixth-slowest.
 * The national ID and name rows search the sample's values, 100 at most.
 */
const SEARCHES = Number(process.env.BENCH_SCALE_SEARCHES ?? 500);
/** reuse (default on PostgreSQL): copy a prepared registry with the same key, else build one; rebuild: build it again; off: seed a scratch database every run. */
const PREPARED = DATABASE_URL ? (process.env.BENCH_SCALE_PREPARED ?? 'reuse') : 'off';
if (!['reuse', 'rebuild', 'off'].includes(PREPARED)) throw new Error(`BENCH_SCALE_PREPARED=${PREPARED}: reuse, rebuild or off`);

/** RFC 6960 §4.2.1: OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, … }; 0 is successful. */
function ocspStatus(der: Uint8Array): number {
  const lengthOctets = der[1] & 0x80 ? 1 + (der[1] & 0x7f) : 1;
  const i = 1 + lengthOctets;
  if (der[0] !== 0x30 || der[i] !== 0x0a || der[i + 1] !== 1) throw new Error('not an OCSPResponse');
  return der[i + 2];
}

interface Latency {
  p50ms: number;
  p99ms: number;
  count: number;
  /** Search rows: CPU ms per request of the service process and of its database's server processes (null: not measurable, e.g. a remote server). */
  cpu?: { serviceMs: number; databaseMs: number | null };
}

/** CPU ms so far of a size's service process and of each server process of its database. */
async function cpuNow(run: Running): Promise<{ service: number; database: Map<number, number> | null }> {
  let database: Map<number, number> | null = null;
  if (run.scratch) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: run.scratch.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
      database = new Map();
      for (const { pid } of rows) database.set(pid, cpuMs(pid));
    } catch {
      database = null; // another machine's server
    } finally {
      await c.end();
    }
  }
  return { service: cpuMs(run.r.pid), database };
}
interface SizeResult {
  size: number;
  database: string;
  seedSeconds: number;
  /** Copied from a prepared registry (bench/support/prepared-registry.ts): its key. */
  preparedKey?: string;
  rssMiB: number;
  ocsp: { first: Latency; stored: Latency; memory: Latency };
  search: { nationalId: Latency; name: Latency; agencyStatus: Latency; nguyenDiacritics: Latency; nguyen: Latency; ngocHan: Latency; expiring30: Latency };
  /** The totals the searches answered (capped at the API's count limit: "more than"). */
  totals: Record<string, number>;
}

interface Running {
  size: number;
  scratch?: { url: string; drop(): Promise<void> };
  svc: Awaited<ReturnType<typeof startServiceProcess>>;
  r: ServiceReady;
  token: string;
  ocsp: SizeResult['ocsp'];
}

const serviceEnv = (size: number) => ({
  BENCH_SYNTHETIC: String(size),
  OCSP_REFRESH_BATCH: '1',
  OCSP_REFRESH_INTERVAL_SECONDS: '3600',
  OCSP_CACHE_ENTRIES: String(CACHE),
  // Seeding a million rows and building their indexes is one statement each, longer than the default bound.
  DATABASE_QUERY_TIMEOUT_MS: '0',
});

/**
 * The prepared registry of this size (bench/support/prepared-registry.ts): the name of a database
 * that holds it under the current key, built first when there is none, it is older than
 * PREPARED_MAX_DAYS or BENCH_SCALE_PREPARED=rebuild. Never connected to while it is copied.
 */
async function preparedTemplate(size: number): Promise<{ name: string; key: string; built: boolean } | undefined> {
  if (PREPARED === 'off' || !DATABASE_URL) return undefined;
  const { key } = preparedKey(size);
  const name = preparedName(DATABASE_URL, size, key);
  const pg = (await import('pg')).default;
  const query = async <T extends object>(database: string | null, sql: string, params: unknown[] = []): Promise<T[]> => {
    const url = new URL(DATABASE_URL);
    if (database) url.pathname = `/${database}`;
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const exists = (await query<{ n: number }>(null, 'select count(*)::int as n from pg_database where datname = $1', [name]))[0].n > 0;
  if (exists && PREPARED === 'reuse') {
    const [record] = await query<{ key: string; age: number }>(name, `select key, extract(epoch from now() - prepared_at) / 86400 as age from ${PREPARED_TABLE}`).catch(() => []);
    if (record?.key === key && record.age < PREPARED_MAX_DAYS) return { name, key, built: false };
    process.stdout.write(`  prepared registry ${name}: ${record ? (record.key === key ? `${Math.floor(record.age)} days old` : 'another key') : 'incomplete'}: built again\n`);
  }
  await query(null, `drop database if exists ${name} with (force)`);
  await query(null, `create database ${name}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  const t0 = Date.now();
  try {
    // The service process seeds it and records the key; stopped at once (nothing is asked of it).
    const svc = await startServiceProcess({ DATABASE_URL: url.toString(), ...serviceEnv(size), BENCH_PREPARED_KEY: key });
    await svc.stop();
  } catch (e) {
    await query(null, `drop database if exists ${name} with (force)`);
    throw e;
  }
  process.stdout.write(`  prepared registry ${name} built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  return { name, key, built: true };
}

/** Seeds (or copies a prepared registry) and starts one size's service and measures its OCSP rows; the service stays up for the searches. */
async function startSize(size: number): Promise<Running> {
  process.stdout.write(`\n${size.toLocaleString('en')} certificates\n`);
  const template = await preparedTemplate(size);
  const t0 = Date.now();
  const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, `scale_${size}`, template?.name) : undefined;
  const copySeconds = (Date.now() - t0) / 1000;
  const svc = await startServiceProcess({
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    ...serviceEnv(size),
    ...(template ? { BENCH_PREPARED_KEY: template.key } : {}),
  });
  try {
    const r: ServiceReady = svc.ready;
    if (template && !r.synthetic.prepared) throw new Error(`the copy of ${template.name} was seeded again: not a prepared registry`);
    process.stdout.write(`  service ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${r.synthetic.prepared ? `a copy of ${template!.name} in ${copySeconds.toFixed(1)} s, checked and analysed in ${r.synthetic.prepared.seconds.toFixed(1)} s; seeded by SQL in ${r.synthetic.seconds.toFixed(1)} s when prepared` : `seeded by SQL in ${r.synthetic.seconds.toFixed(1)} s`})\n`);
    const issuerDer = Buffer.from(r.issuerDer, 'base64');
    const sample = r.synthetic.sample;
    if (sample.length < REQUESTS) throw new Error(`only ${sample.length} sample certificates for ${REQUESTS} requests`);
    const bodies = sample.slice(0, REQUESTS).map((c) => requestDer({ certIds: [certIdDer({ issuerDer, serial: c.serial })] }));
    const ocsp = async (body: Uint8Array) => {
      const res = await expectOk(await fetch(`${r.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: body as BodyInit }), 'OCSP');
      const status = ocspStatus(new Uint8Array(await res.arrayBuffer()));
      if (status !== 0) throw new Error(`OCSP responseStatus ${status}`);
    };
    const first = await sequential(bodies.length, (i) => ocsp(bodies[i]));
    // The cache holds the last CACHE responses: going through them all again reads from the table.
    const stored = await sequential(bodies.length, (i) => ocsp(bodies[i]));
    const hot = bodies.slice(0, CACHE / 2);
    for (const b of hot) await ocsp(b);
    const memory = await sequential(2000, (i) => ocsp(hot[i % hot.length]));
    process.stdout.write(`  OCSP p50/p99 ms: first ${first.p50ms}/${first.p99ms}, stored ${stored.p50ms}/${stored.p99ms}, memory ${memory.p50ms}/${memory.p99ms}\n`);

    const basic = `Basic ${Buffer.from(`${r.machine.clientId}:${r.machine.secret}`).toString('base64')}`;
    const tokenRes = await expectOk(await fetch(`${r.url}/oidc/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'certs:read certs:read:pii' }) }), 'token');
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    return { size, scratch, svc, r, token, ocsp: { first, stored, memory } };
  } catch (e) {
    await svc.stop();
    await scratch?.drop();
    throw e;
  }
}

/**
 * The searches of every size, interleaved request by request (one to each size in turn, one at a
 * time): on a shared machine the load drifts over minutes, and interleaving gives every size the
 * same drift, so the ratios compare like with like.
 */
async function interleaved(running: Running[], count: number, op: (run: Running, i: number) => Promise<void>, maxSeconds: number): Promise<Latency[]> {
  const latencies: number[][] = running.map(() => []);
  // Not counted: WARMUP requests to each size first (other sample items than the counted ones), as
  // the token rows' warm-up turn: a row measures the service in its steady state, not the first
  // plan of a statement on a connection or the first read of its pages after the last row's.
  for (let w = 0; w < WARMUP; w++) for (const run of running) await op(run, count + w);
  // CPU per request, a steadier figure than latency on a shared machine: the service's, and its
  // database's server processes' (a process new since the first reading counts whole).
  const before = await Promise.all(running.map(cpuNow));
  const end = Date.now() + maxSeconds * 1000;
  for (let i = 0; i < count && (i < 5 || Date.now() < end); i++) {
    for (const [k, run] of running.entries()) {
      const t0 = process.hrtime.bigint();
      await op(run, i);
      latencies[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const after = await Promise.all(running.map(cpuNow));
  return latencies.map((l, k) => {
    l.sort((a, b) => a - b);
    const [b, a] = [before[k], after[k]];
    const databaseMs = b.database && a.database ? [...a.database].reduce((sum, [pid, t]) => sum + t - (b.database!.get(pid) ?? 0), 0) : null;
    const cpu = { serviceMs: round((a.service - b.service) / l.length), databaseMs: databaseMs === null ? null : round(databaseMs / l.length) };
    return { count: l.length, p50ms: round(percentile(l, 50)), p99ms: round(percentile(l, 99)), cpu };
  });
}

async function searchAll(running: Running[]): Promise<SizeResult[]> {
  // Every search asks for the first page of 50 with its total, as the console does.
  const search = async (run: Running, query: Record<string, string>, expectAtLeast: number) => {
    const res = await expectOk(await fetch(`${run.r.url}/api/v1/certificates?${new URLSearchParams({ limit: '50', ...query })}`, { headers: { authorization: `Bearer ${run.token}` } }), 'search');
    const body = (await res.json()) as { total: number; items: unknown[] };
    if (body.total < expectAtLeast || body.items.length < Math.min(50, expectAtLeast)) throw new Error(`search ${JSON.stringify(query)} found ${body.total}`);
    return body.total;
  };
  const n = Math.min(100, ...running.map((run) => run.r.synthetic.sample.length - WARMUP));
  const sample = (run: Running, i: number) => run.r.synthetic.sample[i];
  const nationalId = await interleaved(running, n, (run, i) => search(run, { nationalId: sample(run, i).nationalId }, 1).then(() => undefined), 60);
  // Bounded in time (at least 5 requests, 60 s): before the folded columns a substring search scanned the table.
  const name = await interleaved(running, n, (run, i) => search(run, { q: sample(run, i).holderName }, 1).then(() => undefined), 60);
  // The acceptance set of issue 20: name substrings (with and without diacritics, two words), agency + status, expiring soon.
  const totals: Array<Record<string, number>> = running.map(() => ({}));
  const folded: Record<string, Latency[]> = {};
  const set: Array<[string, Record<string, string>, (size: number) => number]> = [
    ['nguyễn', { q: 'nguyễn' }, (size) => Math.min(50, size / 20)],
    ['nguyen', { q: 'nguyen' }, (size) => Math.min(50, size / 20)],
    ['ngoc han', { q: 'ngoc han' }, () => 1],
    ['agencyStatus', { agency: 'Sở Y tế', status: 'revoked' }, () => 1],
    ['expiring30', { expiresWithinDays: '30' }, (size) => Math.min(50, size / 50)],
  ];
  for (const [key, query, atLeast] of set) {
    folded[key] = await interleaved(running, SEARCHES, async (run) => {
      totals[running.indexOf(run)][key] = await search(run, query, atLeast(run.size));
    }, 60);
  }
  const results: SizeResult[] = [];
  for (const [k, run] of running.entries()) {
    process.stdout.write(`  ${run.size.toLocaleString('en')}: search p50/p99 ms: national ID ${nationalId[k].p50ms}/${nationalId[k].p99ms}, name ${name[k].p50ms}/${name[k].p99ms}, ${set.map(([key]) => `${key} ${folded[key][k].p50ms}/${folded[key][k].p99ms} (total ${totals[k][key]})`).join(', ')}\n`);
    const env = await machine(run.scratch?.url);
    results.push({ size: run.size, database: env.database, seedSeconds: round(run.r.synthetic.seconds, 1), ...(run.r.synthetic.prepared ? { preparedKey: run.r.synthetic.prepared.key } : {}), rssMiB: rssMiB(run.r.pid), ocsp: run.ocsp, search: { nationalId: nationalId[k], name: name[k], agencyStatus: folded.agencyStatus[k], nguyenDiacritics: folded['nguyễn'][k], nguyen: folded.nguyen[k], ngocHan: folded['ngoc han'][k], expiring30: folded.expiring30[k] }, totals: totals[k] });
  }
  return results;
}

const running: Running[] = [];
let results: SizeResult[];
try {
  for (const size of SIZES) running.push(await startSize(size));
  process.stdout.write('\nsearches, every size in turn\n');
  results = await searchAll(running);
} finally {
  for (const run of running) {
    await run.svc.stop();
    await run.scratch?.drop();
  }
}

const env = await machine(DATABASE_URL);
const base = results[0];
const rows: Array<[string, (s: SizeResult) => Latency]> = [
  ['OCSP, first request (registry lookup + signing + store)', (s) => s.ocsp.first],
  [`OCSP, stored response read from the database (cache of ${CACHE})`, (s) => s.ocsp.stored],
  ['OCSP, response in memory', (s) => s.ocsp.memory],
  ['search by national ID (indexed)', (s) => s.search.nationalId],
  ['search by one holder\'s whole name (q, folded substring: pg_trgm)', (s) => s.search.name],
  ['search "nguyễn" (q: one holder in ten; first page of 50 + total)', (s) => s.search.nguyenDiacritics],
  ['search "nguyen" (the same, typed without diacritics)', (s) => s.search.nguyen],
  ['search "ngoc han" (q: two words, few holders)', (s) => s.search.ngocHan],
  ['search by agency "Sở Y tế" (folded prefix) + status revoked', (s) => s.search.agencyStatus],
  ['certificates expiring within 30 days (soonest first)', (s) => s.search.expiring30],
];
const ratios = results.slice(1).map((s) => ({
  size: s.size,
  rows: rows.map(([name, pick]) => ({ name, p50Ratio: round(pick(s).p50ms / pick(base).p50ms), p99Ratio: round(pick(s).p99ms / pick(base).p99ms) })),
}));
// Issue 20, acceptance 4: the query set at the largest size, p99 ≤ 50 ms and within 2× of the same at the first size.
const largest = results[results.length - 1];
const summary = results.length < 2 ? [] : rows.slice(5).map(([name, pick]) => {
  const big = pick(largest);
  const ref = pick(base);
  const p50 = round(big.p50ms / ref.p50ms);
  const p99 = round(big.p99ms / ref.p99ms);
  return {
    measure: `${name}, ${largest.size.toLocaleString('en')} certificates (p50 / p99)`,
    result: `${big.p50ms} / ${big.p99ms} ms`,
    reference: `same at ${base.size.toLocaleString('en')}: ${ref.p50ms} / ${ref.p99ms} ms`,
    ratio: `${p50}× / ${p99}×`,
    aim: 'p99 ≤ 50 ms, ≤ 2× (p50 and p99)',
    // Over 2× is not met; within 2× and over 50 ms cannot be judged when the reference's own p99 is
    // over 25 ms (the machine's load, not the registry's size): null.
    met: p50 > 2 || p99 > 2 ? false : big.p99ms <= 50 ? true : ref.p99ms > 25 ? null : false,
  };
});
const date = new Date().toISOString().slice(0, 10);
const sizeNames = results.map((s) => s.size.toLocaleString('en'));
const md = [
  `Scale benchmark ${date}: ${env.cores} × ${env.cpu}, Node ${env.node}, ${env.database}; one request at a time over loopback HTTP; ${REQUESTS} OCSP requests per row, ${SEARCHES} searches per row of issue 20's query set and 100 per national ID and name row, after ${WARMUP} uncounted ones to each size (each search: the first page of 50 with its total, exact up to 1,000, else "more than 1,000"); the machine is shared with other work (figures are ratios within this run); registry seeded by SQL (${results.map((s) => `${s.size.toLocaleString('en')} in ${s.seedSeconds} s${s.preparedKey ? `, a copy of the registry prepared under key ${s.preparedKey.slice(0, 10)}` : ''}`).join('; ')}).`,
  '',
  `| Operation | ${sizeNames.map((n) => `${n}: p50 / p99 ms`).join(' | ')} | ${ratios.map((r) => `p50 ratio ${r.size.toLocaleString('en')} ÷ ${base.size.toLocaleString('en')}`).join(' | ')} | ${ratios.map(() => `p99 ratio`).join(' | ')} |`,
  `|---|${results.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|${ratios.map(() => '---:').join('|')}|`,
  ...rows.map(([name, pick], i) => `| ${name} | ${results.map((s) => `${pick(s).p50ms} / ${pick(s).p99ms}`).join(' | ')} | ${ratios.map((r) => r.rows[i].p50Ratio).join(' | ')} | ${ratios.map((r) => r.rows[i].p99Ratio).join(' | ')} |`),
  '',
  'CPU per search, ms (the service process / its database\'s server processes), over the counted requests:',
  '',
  `| Search | ${sizeNames.join(' | ')} |`,
  `|---|${results.map(() => '---:').join('|')}|`,
  ...rows.slice(3).map(([name, pick]) => `| ${name} | ${results.map((s) => (pick(s).cpu ? `${pick(s).cpu!.serviceMs} / ${pick(s).cpu!.databaseMs ?? 'n/a'}` : 'n/a')).join(' | ')} |`),
].join('\n');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
// BENCH_SCALE_NAME=<suffix>: results under scale-<date>-<suffix> (a branch's run beside the day's whole run).
const stem = `scale-${date}${process.env.BENCH_SCALE_NAME ? `-${process.env.BENCH_SCALE_NAME}` : ''}`;
writeFileSync(new URL(`./results/${stem}.json`, import.meta.url), `${JSON.stringify({ benchmark: 'scale', date: new Date().toISOString(), machine: env, requests: REQUESTS, searchWarmup: WARMUP, cacheEntries: CACHE, results, ratios, summary }, null, 2)}\n`);
writeFileSync(new URL(`./results/${stem}.md`, import.meta.url), `${md}\n`);
process.stdout.write(`\n${md}\n`);
