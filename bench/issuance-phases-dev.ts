/**
 * Development aid (not a benchmark row; docs/performance.md, "Issuance in bulk"): the batch path's
 * phases (submit, approve, by batch of 1,000) measured in CPU time of this process and of the
 * PostgreSQL backends serving the scratch database (/proc), with the SQL statements counted per
 * phase (knex's query events), and optionally the seed. BENCH_DATABASE_URL as bench/issuance.ts;
 * PHASES_COUNT (2000), PHASES_SEED (0), PHASES_SQL=1 (the 40 slowest statements), PHASES_KEEP=1
 * (the scratch database kept for EXPLAIN). Each phase prints its window in the process's
 * monotonic clock (µs), to cut a --cpu-prof profile by phase.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';
import { csrFor, seedRegistry } from '../src/dev/seed-registry.js';
import { scratchDatabase } from './support/bench-kit.js';

const COUNT = Number(process.env.PHASES_COUNT ?? 2000);
const SEED = Number(process.env.PHASES_SEED ?? 0);
const BATCH = 1000;
const DATABASE_URL = process.env.BENCH_DATABASE_URL;

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-phases-'));
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'phases') : undefined;
const config = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', ...(scratch ? { DATABASE_URL: scratch.url } : {}) } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-issuance-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });
let queries = 0;
service.db.knex.on('query', () => queries++);
const started = new Map<string, { sql: string; t: number }>();
const slow: Array<[number, string]> = [];
service.db.knex.on('query', (q: { __knexQueryUid: string; sql: string }) => started.set(q.__knexQueryUid, { sql: q.sql, t: performance.now() }));
service.db.knex.on('query-response', (_r: unknown, q: { __knexQueryUid: string }) => {
  const s = started.get(q.__knexQueryUid);
  if (s && process.env.PHASES_SQL) slow.push([performance.now() - s.t, s.sql.slice(0, 160)]);
});
process.on('exit', () => { for (const [ms, sql] of slow.sort((a, b) => b[0] - a[0]).slice(0, 40)) console.log(`${ms.toFixed(1).padStart(8)} ms  ${sql}`); });
const holder = (i: number) => {
  const cccd = `0941${String(i).padStart(8, '0')}`;
  return { subject: { C: 'VN', L: 'Sóc Trăng', O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', OU: ['Phòng Quản lý ngân sách'], CN: `Nguyễn Văn Bench ${i}`, UID: [`CCCD:${cccd}`] }, emails: [`bench.${i}@soctrang.gov.vn`] };
};
import { readdirSync, readFileSync } from 'node:fs';
/** CPU ms of the PostgreSQL backends serving the scratch databases (their command lines name them). */
const pgCpu = (): number => {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(`tinnhiem_bench_phases`)) continue;
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks * 10;
};
const phase = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const q0 = queries;
  const p0 = pgCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const h0 = process.hrtime.bigint();
  const out = await work();
  const c = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  console.log(`${label}: window ${Number(h0 / 1000n)}-${Number(process.hrtime.bigint() / 1000n)} µs`);
  console.log(`${label}: wall ${wall.toFixed(0)} ms, cpu ${((c.user + c.system) / 1000).toFixed(0)} ms, statements ${queries - q0}, postgres cpu ${pgCpu() - p0} ms`);
  return out;
};
try {
  const csrs = await Promise.all(Array.from({ length: COUNT }, () => csrFor(false)));
  const { requests } = service.certificates.batch;
  const ids: string[] = [];
  for (let from = 0; from < COUNT; from += BATCH) {
    const outcomes = await phase(`submit ${from}`, () => requests.submitMany('client:bench-portal', csrs.slice(from, from + BATCH).map((csr, k) => ({ csr, profileId: 'official-signing', holder: holder(from + k) }))));
    for (const o of outcomes) {
      if (!o.ok) throw o.error;
      ids.push(o.value.request.id);
    }
  }
  for (let from = 0; from < COUNT; from += BATCH) {
    const outcomes = await phase(`approve ${from}`, () => requests.approveMany('client:bench-officer', ids.slice(from, from + BATCH).map((id) => ({ id }))));
    for (const o of outcomes) if (!o.ok) throw o.error;
  }
} finally {
  await service.close();
  if (process.env.PHASES_KEEP) console.log(`kept ${scratch?.url}`);
  else await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
}
if (SEED) {
  const dir2 = mkdtempSync(join(tmpdir(), 'tinnhiem-phases-'));
  const scratch2 = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'phases_seed') : undefined;
  const config2 = loadConfig({ env: { DATA_DIR: dir2, LOG_LEVEL: 'warn', ...(scratch2 ? { DATABASE_URL: scratch2.url } : {}) } });
  const s2 = await createService(config2, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-issuance-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });
  try {
    s2.db.knex.on('query', () => queries++);
    const r = await phase('seed', () => seedRegistry(s2, SEED));
    console.log(JSON.stringify(r));
  } finally {
    await s2.close();
    await scratch2?.drop();
    rmSync(dir2, { recursive: true, force: true });
  }
}
