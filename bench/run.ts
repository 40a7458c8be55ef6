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
 * The servers, and the validation bench's own process, run from the compiled build, as `tinnhiem serve` does (bench/support/hosted.ts): when
 * dist/ is not the build of the sources as they are now, this builds it first (`npm run build`);
 * TINNHIEM_FROM_SOURCES=1 runs them from the sources through tsx instead.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { machine } from './support/bench-kit.js';
import { buildIfStale, hostedEntry, hostedEnv, hostsCompiled } from './support/hosted.js';
import type { SummaryRow } from './support/summary-rows.js';

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
  /** Run compiled from dist/ as well (bench/support/hosted.ts): the measured code runs in the bench's own process. */
  hosted?: boolean;
}

const benches: Bench[] = [
  { name: 'service', file: 'bench/service.ts', result: `service-${date}.json` },
  { name: 'crl', file: 'bench/crl.ts', result: `crl-${date}.json` },
  { name: 'scale', file: 'bench/scale.ts', result: `scale-${date}.json` },
  { name: 'ocsp', file: 'bench/ocsp.ts', env: { BENCH_OCSP_SIZES: '2339', BENCH_OCSP_SECONDS: '4', BENCH_OCSP_ROUNDS: '2' }, result: `ocsp-${date}.json` },
  { name: 'validate', file: 'bench/validate.ts', env: { BENCH_VALIDATE_SECONDS: '3' }, result: `validate-${date}.json`, hosted: true },
  { name: 'ocsp-hsm', file: 'bench/ocsp-hsm.ts', env: { BENCH_OCSP_HSM_SECONDS: '3', BENCH_OCSP_HSM_ROUNDS: '2' }, result: `ocsp-hsm-${date}.json` },
  { name: 'cli', file: 'bench/cli.ts', env: { BENCH_CLI_EMBEDDED_CERTIFICATES: '200' }, result: `cli-${date}.json` },
  { name: 'issuance', file: 'bench/issuance.ts', result: `issuance-${date}.json` },
];
if (process.env.BENCH_SEED_CERTIFICATES) benches.push({ name: 'seed', file: 'bench/seed.ts', args: [process.env.BENCH_SEED_CERTIFICATES], result: `seed-${date}.json` });
const only = process.env.BENCH_ONLY?.split(',');

async function run(b: Bench): Promise<number | null> {
  const env: NodeJS.ProcessEnv = { ...b.env, ...process.env, ...(b.hosted ? hostedEnv() : {}) };
  // validate.ts takes DATABASE_URL as its own database (no scratch database): keep it embedded.
  if (b.name === 'validate') delete env.DATABASE_URL;
  const entry = b.hosted ? await hostedEntry(b.file) : ['--import', 'tsx', b.file];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...entry, ...(b.args ?? [])], { stdio: 'inherit', env });
    child.on('exit', (code) => resolve(code));
  });
}

await buildIfStale();

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

// Every benchmark's report carries its own table rows (bench/support/summary-rows.ts).
const isRow = (r: unknown): r is SummaryRow => typeof r === 'object' && r !== null && typeof (r as SummaryRow).measure === 'string';
const cell = (text: string) => text.replace(/\|/g, '\\|');
const rows = parts.flatMap((p) => {
  const summary = (p.report as { summary?: unknown } | null)?.summary;
  return Array.isArray(summary) ? summary.filter(isRow) : [];
}).map((r) => `| ${[r.measure, r.result, r.reference, `**${r.ratio}**`, r.aim, r.met === null ? '' : r.met ? 'met' : '**not met**'].map(cell).join(' | ')} |`);

const niceness = getPriority();
const failed = parts.filter((p) => p.exitCode !== 0).map((p) => p.name);
const method = [
  `Every figure is a ratio against a reference measured in the same run on the same machine.`,
  `Load over loopback HTTP from load generators on the same cores (token rows: wrk and ab in their own processes, beside a bare oidc-provider); latency rows send one request at a time.`,
  hostsCompiled() ? `The service, the bare provider and the validation bench ran from the compiled build (dist/), as shipped.` : `The service, the bare provider and the validation bench ran from the TypeScript sources through tsx (TINNHIEM_FROM_SOURCES=1), not as shipped.`,
  hostedEnv().GLIBC_TUNABLES ? `They and the scrypt bound ran with GLIBC_TUNABLES=${hostedEnv().GLIBC_TUNABLES}, as docs/deployment.md asks of a node.` : 'They and the scrypt bound ran without huge pages (BENCH_HUGE_PAGES=0).',
  `Process niceness ${niceness}${niceness < 0 ? ' (run as `nice -n ' + niceness + ' npm run bench`: the machine is shared)' : ''}; load average at the end ${env.load}.`,
].join(' ');
const md = [
  `Benchmark ${date}: ${env.cores} × ${env.cpu}, ${env.ramGiB} GiB RAM, Node ${env.node}, ${env.openssl}, ${env.database}; whole run ${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s${totalSeconds > LIMIT_SECONDS ? ' (over the 15-minute budget)' : ''}.`,
  '',
  '| Measure | Result | Reference in the same run | Ratio | Aim (issue 20) | |',
  '|---|---:|---|---:|---|---|',
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
