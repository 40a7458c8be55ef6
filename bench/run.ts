/**
 * `npm run bench`: every benchmark in turn, each reporting ratios against a reference measured in
 * the same run (docs/performance.md, "Method"), then one summary: bench/results/<date>.json
 * (every sub-report, the machine, the method, how long each part took) and <date>.md, which also
 * replaces the README's table between `<!-- bench:start -->` and `<!-- bench:end -->`.
 *
 * Defaults fit a 2-core machine in under 15 minutes; longer runs through the benchmarks' own
 * variables (BENCH_SERVICE_SECONDS, BENCH_SCALE_SIZES, BENCH_CRL_REVOKED, BENCH_OCSP_SIZES,
 * BENCH_OCSP_SECONDS, BENCH_OCSP_ROUNDS, BENCH_VALIDATE_SECONDS, BENCH_OCSP_HSM_SECONDS, …).
 * BENCH_DATABASE_URL=postgres://… runs the service, CRL, scale and OCSP benchmarks on PostgreSQL
 * (a scratch database each, dropped afterwards); without it, on the embedded database.
 * BENCH_SEED_CERTIFICATES=N adds `bench/seed.ts` (issuance through the RA with CRLs, minutes).
 * BENCH_ONLY=service,crl runs only those (the summary then has only them).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { machine } from './support/bench-kit.js';

const LIMIT_SECONDS = 15 * 60;
const date = new Date().toISOString().slice(0, 10);
const results = new URL('./results/', import.meta.url);
const started = Date.now();

interface Bench {
  name: string;
  file: string;
  args?: string[];
  /** Defaults for this run; a variable set by the caller wins. */
  env?: Record<string, string>;
  result?: string;
}

const benches: Bench[] = [
  { name: 'service', file: 'bench/service.ts', result: `service-${date}.json` },
  { name: 'crl', file: 'bench/crl.ts', result: `crl-${date}.json` },
  { name: 'scale', file: 'bench/scale.ts', result: `scale-${date}.json` },
  { name: 'ocsp', file: 'bench/ocsp.ts', env: { BENCH_OCSP_SIZES: '2339', BENCH_OCSP_SECONDS: '4', BENCH_OCSP_ROUNDS: '2' }, result: `ocsp-${date}.json` },
  { name: 'validate', file: 'bench/validate.ts', env: { BENCH_VALIDATE_SECONDS: '3' }, result: `validate-${date}.json` },
  { name: 'ocsp-hsm', file: 'bench/ocsp-hsm.ts', env: { BENCH_OCSP_HSM_SECONDS: '3', BENCH_OCSP_HSM_ROUNDS: '2' }, result: `ocsp-hsm-${date}.json` },
  { name: 'issuance', file: 'bench/issuance.ts', result: `issuance-${date}.json` },
];
if (process.env.BENCH_SEED_CERTIFICATES) benches.push({ name: 'seed', file: 'bench/seed.ts', args: [process.env.BENCH_SEED_CERTIFICATES], result: `seed-${date}.json` });
const only = process.env.BENCH_ONLY?.split(',');

function run(b: Bench): Promise<number | null> {
  const env: NodeJS.ProcessEnv = { ...b.env, ...process.env };
  // validate.ts takes DATABASE_URL as its own database (no scratch database): keep it embedded.
  if (b.name === 'validate') delete env.DATABASE_URL;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', b.file, ...(b.args ?? [])], { stdio: 'inherit', env });
    child.on('exit', (code) => resolve(code));
  });
}

const parts: Array<{ name: string; seconds: number; exitCode: number | null; report: unknown }> = [];
for (const b of benches.filter((x) => existsSync(x.file) && (!only || only.includes(x.name)))) {
  console.log(`\n## ${b.file}`);
  const t0 = Date.now();
  const code = await run(b);
  const file = b.result ? new URL(b.result, results) : undefined;
  const report = code === 0 && file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : null;
  parts.push({ name: b.name, seconds: Math.round((Date.now() - t0) / 1000), exitCode: code, report });
}
const totalSeconds = Math.round((Date.now() - started) / 1000);
const env = await machine(process.env.BENCH_DATABASE_URL);

/* eslint-disable @typescript-eslint/no-explicit-any -- the sub-reports are plain JSON of the scripts above */
const get = (name: string): any => parts.find((p) => p.name === name)?.report ?? null;
const service = get('service');
const crl = get('crl');
const scale = get('scale');
const ocsp = get('ocsp');
const validate = get('validate');
const hsm = get('ocsp-hsm');
const n = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: digits }) : 'n/a');

const rows: string[] = [];
for (const t of service?.token ?? []) {
  rows.push(`| Token endpoint: ${t.grant} (${t.generator}) | ${n(t.perSecond, 1)}/s (p50 ${t.p50ms} ms) | bare oidc-provider, same grant and token: ${n(t.bareProviderPerSecond, 1)}/s | **${t.ratio}** (aim ≥ ${t.aim}) |`);
}
for (const l of service?.login ?? []) rows.push(`| ${l.login} | ${n(l.perSecond, 1)}/s (p50 ${l.p50ms} ms) | ${l.reference}: ${n(l.referencePerSecond, 1)}/s | **${l.ratio}** (aim ≥ ${l.aim}) |`);
if (service?.issuance) {
  rows.push(`| Issuance from CSRs (HTTP, TLS profile) | ${n(service.issuance.perSecond, 1)}/s (p50 ${service.issuance.p50ms} ms) | raw P-256 \`crypto.sign\`: ${n(service.issuance.rawEcdsaSignPerSecond)}/s | ${service.issuance.ratioToRawSign} |`);
  rows.push(`| RSS of the service process | idle ${service.memory.idleMiB} MiB, peak under load ${service.memory.peakUnderLoadMiB} MiB | idle | ${(service.memory.peakUnderLoadMiB / service.memory.idleMiB).toFixed(2)} |`);
}
if (crl) {
  rows.push(`| Full CRL, ${n(crl.revoked)} revoked | ${crl.oursSeconds} s (${n(crl.oursBytes / 1024)} KiB) | \`openssl ca -gencrl\`, same list: ${crl.opensslSeconds} s | ${crl.ratio} (lower is better) |`);
  if (crl.revocationWithListSeconds !== null) rows.push(`| One revocation with ${n(crl.revoked)} revoked (CRLs regenerated before it returns) | ${crl.revocationWithListSeconds} s | — | — |`);
}
if (scale) {
  const big = scale.results.at(-1);
  const small = scale.results[0];
  const ratios = scale.ratios.at(-1)?.rows ?? [];
  // In bench/scale.ts's row order; the search rows answer the first page of 50 with its total.
  const label = ['OCSP, first request', 'OCSP, stored response', 'OCSP, in memory', 'search by national ID', 'search by a holder\'s name (folded substring)', 'search "nguyễn"', 'search "nguyen"', 'search "ngoc han"', 'search by agency + status', 'search: expiring within 30 days'];
  const picks = [(s: any) => s.ocsp.first, (s: any) => s.ocsp.stored, (s: any) => s.ocsp.memory, (s: any) => s.search.nationalId, (s: any) => s.search.name, (s: any) => s.search.nguyenDiacritics, (s: any) => s.search.nguyen, (s: any) => s.search.ngocHan, (s: any) => s.search.agencyStatus, (s: any) => s.search.expiring30];
  picks.forEach((pick, i) => {
    rows.push(`| ${label[i]}, ${n(big.size)} certificates | p50 ${pick(big).p50ms} ms, p99 ${pick(big).p99ms} ms | the same at ${n(small.size)}: p50 ${pick(small).p50ms}, p99 ${pick(small).p99ms} ms | p50 ${ratios[i]?.p50Ratio} ×, p99 ${ratios[i]?.p99Ratio} × |`);
  });
}
if (ocsp) {
  for (const r of ocsp.ratios ?? []) {
    const row = (name: string) => ocsp.summary.find((s: any) => s.size === r.size && s.name.startsWith(name));
    rows.push(`| OCSP throughput, ${n(r.size)} certificates, pre-signed | ${n(row('tinnhiem pre-signed, keep')?.rps)} req/s | \`openssl ocsp -multi\`: ${n(row('openssl')?.rps)} req/s; bare node:http: ${n(row('bare node:http same bytes')?.rps)} | ${r.presignedVsOpenssl?.toFixed(2)} × openssl, ${r.presignedVsBareNode?.toFixed(2)} × bare Node |`);
  }
}
if (validate) rows.push(`| CMS signature validations | ${n(validate.sequential, 1)}/s | raw \`crypto.verify\`: ${n(validate.rawVerify)}/s | ${validate.ratios.sequentialVsRawVerify.toFixed(4)} |`);
if (hsm) {
  for (const r of hsm.rows ?? []) rows.push(`| OCSP signing with SoftHSM2 (${r.metric}) | ${n(r.hsmKeyPerSecond)}/s | file key: ${n(r.fileKeyPerSecond)}/s | ${r.hsmOverFile} |`);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

const niceness = getPriority();
const failed = parts.filter((p) => p.exitCode !== 0).map((p) => p.name);
const method = [
  `Every figure is a ratio against a reference measured in the same run on the same machine.`,
  `Load over loopback HTTP from load generators on the same cores (token rows: wrk and ab in their own processes, beside a bare oidc-provider); latency rows send one request at a time.`,
  `Process niceness ${niceness}${niceness < 0 ? ' (run as `nice -n ' + niceness + ' npm run bench`: the machine is shared)' : ''}; load average at the end ${env.load}.`,
].join(' ');
const md = [
  `Benchmark ${date}: ${env.cores} × ${env.cpu}, ${env.ramGiB} GiB RAM, Node ${env.node}, ${env.openssl}, ${env.database}; whole run ${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s${totalSeconds > LIMIT_SECONDS ? ' (over the 15-minute budget)' : ''}.`,
  '',
  '| Measure | Result | Reference in the same run | Ratio |',
  '|---|---:|---|---:|',
  ...rows,
  '',
  method,
  ...(failed.length ? ['', `Failed or missing: ${failed.join(', ')}.`] : []),
  '',
  `Details: \`bench/results/${date}.json\` and each benchmark's own file; method: [docs/performance.md](docs/performance.md).`,
].join('\n');

mkdirSync(results, { recursive: true });
writeFileSync(new URL(`${date}.json`, results), `${JSON.stringify({ date, machine: env, niceness, totalSeconds, withinBudget: totalSeconds <= LIMIT_SECONDS, method, parts }, null, 2)}\n`);
writeFileSync(new URL(`${date}.md`, results), `${md}\n`);
const readme = new URL('../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const marked = /<!-- bench:start -->[\s\S]*?<!-- bench:end -->/;
if (marked.test(text) && !only) writeFileSync(readme, text.replace(marked, `<!-- bench:start -->\n${md}\n<!-- bench:end -->`));
console.log(`\n${md}\n\nwhole run: ${totalSeconds} s`);
process.exit(failed.length ? 1 : 0);
