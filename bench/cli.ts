/**
 * CLI start-up (issue 20, item 6): `tinnhiem --help` and `tinnhiem cert list --json` on a registry
 * of BENCH_CLI_CERTIFICATES (2,339) certificates, median of BENCH_CLI_RUNS (10) runs with
 * hyperfine, beside `node -e 0` (the floor of any Node program) and `openssl version` measured
 * in the same run. `cert list` runs on PostgreSQL (BENCH_DATABASE_URL, a scratch database that
 * is emptied) and, for comparison, on the embedded database (PGlite starts in seconds: the
 * figure is PGlite's start, not the CLI's). Results: bench/results/cli-<date>.json and .md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { meets, ratioText, type SummaryRow } from './support/summary-rows.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.BENCH_CLI_RUNS ?? 10);
const certificates = Number(process.env.BENCH_CLI_CERTIFICATES ?? 2339);
const pgUrl = process.env.BENCH_DATABASE_URL;
/** The embedded figure is PGlite's start: a smaller registry by default keeps the run short. */
const embeddedCertificates = Number(process.env.BENCH_CLI_EMBEDDED_CERTIFICATES ?? certificates);
const bin = join(root, 'bin', 'tinnhiem.js');

function hyperfine(commands: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, { median: number; mean: number }> {
  const out = join(mkdtempSync(join(tmpdir(), 'tinnhiem-bench-cli-')), 'h.json');
  execFileSync('hyperfine', ['-N', '--warmup', '2', '--runs', String(runs), '--export-json', out, ...Object.entries(commands).flatMap(([name, cmd]) => ['-n', name, cmd])], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ command: string; median: number; mean: number }> }).results;
  return Object.fromEntries(results.map((r) => [r.command, { median: r.median, mean: r.mean }]));
}

function prepare(env: NodeJS.ProcessEnv, count: number): void {
  const cli = (args: string[]) => execFileSync(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  cli(['init']);
  const rootPassphrase = join(scratch, 'root-passphrase');
  writeFileSync(rootPassphrase, 'bench-cli-root-passphrase');
  cli(['ca', 'init', '--dev', '--root-passphrase-file', rootPassphrase]);
  cli(['seed', '--certificates', String(count)]);
}

const scratch = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-cli-data-'));
const base = { ...process.env, MASTER_PASSPHRASE: 'bench-cli-passphrase', LOG_LEVEL: 'warn', DATA_DIR: scratch };
/** `bound`: issue 20's ceiling for the median, in seconds (`--help` 0.3 s, `cert list --json` 0.6 s on PostgreSQL). */
const rows: Array<{ what: string; median: number; reference: string; referenceMedian: number; bound?: number }> = [];

const startup = hyperfine({ help: `${process.execPath} ${bin} --help`, node: `${process.execPath} -e 0`, openssl: 'openssl version' }, base);
rows.push({ what: '`tinnhiem --help`', median: startup.help.median, reference: '`node -e 0`', referenceMedian: startup.node.median, bound: 0.3 });
rows.push({ what: '`tinnhiem --help`', median: startup.help.median, reference: '`openssl version`', referenceMedian: startup.openssl.median });

for (const [kind, env] of [
  ...(pgUrl ? [['PostgreSQL', { ...base, DATABASE_URL: pgUrl }] as const] : []),
  ['embedded database', { ...base, DATA_DIR: mkdtempSync(join(tmpdir(), 'tinnhiem-bench-cli-pglite-')), DATABASE_URL: '' }] as const,
]) {
  if (pgUrl && kind === 'PostgreSQL') execFileSync('psql', [pgUrl, '-qc', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'], { stdio: 'ignore' });
  const e: NodeJS.ProcessEnv = { ...env };
  if (!e.DATABASE_URL) delete e.DATABASE_URL;
  const count = kind === 'PostgreSQL' ? certificates : embeddedCertificates;
  prepare(e, count);
  const r = hyperfine({ list: `${process.execPath} ${bin} cert list --json`, node: `${process.execPath} -e 0` }, e);
  rows.push({ what: `\`tinnhiem cert list --json\`, ${count} certificates, ${kind}`, median: r.list.median, reference: '`node -e 0`', referenceMedian: r.node.median, ...(kind === 'PostgreSQL' && { bound: 0.6 }) });
}

const date = new Date().toISOString().slice(0, 10);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const md = [
  `CLI start-up ${date}, Node ${process.version}, median of ${runs} runs (hyperfine), load average at the end ${load}.`,
  '',
  '| Command | Median | Reference in the same run | Ratio |',
  '|---|---:|---|---:|',
  ...rows.map((r) => `| ${r.what} | ${(r.median * 1000).toFixed(0)} ms | ${r.reference}: ${(r.referenceMedian * 1000).toFixed(0)} ms | ${(r.median / r.referenceMedian).toFixed(2)} |`),
].join('\n');
const summary: SummaryRow[] = rows.map((r) => ({
  measure: `CLI: ${r.what} (median of ${runs})`,
  result: `${(r.median * 1000).toFixed(0)} ms`,
  reference: `${r.reference}: ${(r.referenceMedian * 1000).toFixed(0)} ms`,
  ratio: ratioText(r.median / r.referenceMedian),
  aim: r.bound ? `≤ ${r.bound * 1000} ms` : '',
  met: r.bound ? meets(r.median, r.bound, 'atMost') : null,
}));
// BENCH_CLI_NAME=<suffix>: results under cli-<date>-<suffix> (a branch's run beside the day's whole run).
const stem = `cli-${date}${process.env.BENCH_CLI_NAME ? `-${process.env.BENCH_CLI_NAME}` : ''}`;
writeFileSync(join(root, 'bench', 'results', `${stem}.json`), `${JSON.stringify({ date, node: process.version, runs, certificates, load, rows, summary }, null, 2)}\n`);
writeFileSync(join(root, 'bench', 'results', `${stem}.md`), `${md}\n`);
process.stdout.write(`${md}\n`);
