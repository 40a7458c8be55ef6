/**
 * Issuance in bulk (docs/performance.md, "Issuance"): the RA officers' batch path — a portal
 * submits N official-signing requests in batches of 1,000, an officer approves them in batches of
 * 1,000, each approval completing the request so the batch is issued together — timed from the
 * first submission to the last certificate recorded, on PostgreSQL (BENCH_DATABASE_URL, a scratch
 * database dropped afterwards; the embedded database without it). The reference, measured in the
 * same run: raw ECDSA P-256 `crypto.sign` of a TBS-sized buffer (the ceiling of issuance). Then
 * `seedRegistry` for 2,339 certificates on a second scratch database, as `tinnhiem seed` does.
 * The keys and CSRs of the timed part are made before the clock starts (a holder's token makes
 * them, not the CA). The audit chain is verified afterwards, outside the timing.
 *
 * BENCH_ISSUANCE_COUNT (default 3,000), BENCH_ISSUANCE_SEED (default 2,339).
 * Writes bench/results/issuance-<date>.json with a `summary`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService, type Service } from '../src/service/service.js';
import { csrFor, seedRegistry } from '../src/dev/seed-registry.js';
import { verifyChain } from '../src/audit/audit-chain.js';
import { machine, rawSignRate, round, scratchDatabase } from './support/bench-kit.js';

const COUNT = Number(process.env.BENCH_ISSUANCE_COUNT ?? 3000);
const SEED = Number(process.env.BENCH_ISSUANCE_SEED ?? 2339);
const BATCH = 1000;
const DATABASE_URL = process.env.BENCH_DATABASE_URL;


async function withService<T>(label: string, work: (service: Service) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `tinnhiem-bench-${label}-`));
  const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, label) : undefined;
  const config = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', ...(scratch ? { DATABASE_URL: scratch.url } : {}) } });
  const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-issuance-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });
  try {
    return await work(service);
  } finally {
    await service.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const holder = (i: number) => {
  const cccd = `0941${String(i).padStart(8, '0')}`;
  return { subject: { C: 'VN', L: 'Sóc Trăng', O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', OU: ['Phòng Quản lý ngân sách'], CN: `Nguyễn Văn Bench ${i}`, UID: [`CCCD:${cccd}`] }, emails: [`bench.${i}@soctrang.gov.vn`] };
};

/** The officers' batch path: submit in batches, approve in batches; returns the seconds and the phases. */
async function batchPath(service: Service) {
  const csrs = await Promise.all(Array.from({ length: COUNT }, () => csrFor(false)));
  const { requests } = service.certificates.batch;
  const t0 = process.hrtime.bigint();
  const ids: string[] = [];
  for (let from = 0; from < COUNT; from += BATCH) {
    const outcomes = await requests.submitMany('client:bench-portal', csrs.slice(from, from + BATCH).map((csr, k) => ({ csr, profileId: 'official-signing', holder: holder(from + k) })));
    for (const o of outcomes) {
      if (!o.ok) throw o.error;
      ids.push(o.value.request.id);
    }
  }
  const t1 = process.hrtime.bigint();
  let issued = 0;
  for (let from = 0; from < COUNT; from += BATCH) {
    for (const o of await requests.approveMany('client:bench-officer', ids.slice(from, from + BATCH).map((id) => ({ id })))) {
      if (!o.ok) throw o.error;
      if (o.value.issued) issued++;
    }
  }
  const t2 = process.hrtime.bigint();
  const chain = await verifyChain(service.audit.all());
  if (!chain.ok) throw new Error('the audit chain does not verify after the batch');
  const events = (await service.db.knex('audit_events').where({ action: 'certificate.issue' }).count('* as n').first()) as { n: string | number };
  return { issued, submitSeconds: Number(t1 - t0) / 1e9, approveSeconds: Number(t2 - t1) / 1e9, totalSeconds: Number(t2 - t0) / 1e9, issueEvents: Number(events.n), auditChainOk: chain.ok };
}

const env = await machine(DATABASE_URL);
const rawBefore = rawSignRate();
const batch = await withService('issuance', batchPath);
console.log(`batch path: ${JSON.stringify(batch)}`);
const rawAfter = rawSignRate();
const rawPerSecond = (rawBefore + rawAfter) / 2;
const seed = SEED > 0 ? await withService('issuance_seed', (service) => seedRegistry(service, SEED)) : { seconds: NaN, issued: 0, revoked: 0, held: 0, importedExpired: 0 };
const perSecond = batch.issued / batch.totalSeconds;
const approvePerSecond = batch.issued / batch.approveSeconds;
const database = DATABASE_URL ? 'PostgreSQL' : 'embedded (PGlite)';
const report = {
  benchmark: 'issuance',
  date: new Date().toISOString(),
  machine: env,
  database,
  certificates: COUNT,
  batchSize: BATCH,
  batch: { ...batch, perSecond: round(perSecond, 1), approveAndIssuePerSecond: round(approvePerSecond, 1) },
  rawEcdsaSignPerSecond: Math.round(rawPerSecond),
  seed,
  summary: [
    { measure: `batch issuance, RA officers' path (submit + approve, ${COUNT} official-signing, batches of ${BATCH}), ${database}`, result: `${round(perSecond, 0)} certificates/s`, reference: `raw P-256 crypto.sign ${Math.round(rawPerSecond)}/s`, ratio: `${round(perSecond / rawPerSecond, 4)}×`, aim: '≥ 500 certificates/s', met: DATABASE_URL ? perSecond >= 500 : null },
    { measure: `batch approval and issuance alone (${COUNT}), ${database}`, result: `${round(approvePerSecond, 0)} certificates/s`, reference: `raw P-256 crypto.sign ${Math.round(rawPerSecond)}/s`, ratio: `${round(approvePerSecond / rawPerSecond, 4)}×`, aim: '—', met: null },
    { measure: `seed --certificates ${SEED}, ${database}`, result: `${round(seed.seconds, 1)} s`, reference: '—', ratio: '—', aim: '≤ 15 s', met: DATABASE_URL && SEED === 2339 ? seed.seconds <= 15 : null },
  ],
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/issuance-${report.date.slice(0, 10)}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
for (const row of report.summary) console.log(`| ${row.measure} | ${row.result} | ${row.reference} | ${row.ratio} | ${row.aim} | ${row.met === null ? '—' : row.met ? 'met' : 'not met'} |`);
