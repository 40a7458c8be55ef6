/**
 * `npm run bench:service`: the token endpoint, logins, issuance and memory of one service process
 * (bench/support/service-process.ts, TRUST_PROXY=1, BENCH_ACCOUNTS officials with passwords and
 * passkeys). References started or measured in the same run (docs/performance.md, "Method"):
 * - token rows (bench/support/token-rows.ts), driven by native load generators in their own
 *   processes — client credentials with `wrk` over 16 keep-alive connections and with `ab` opening
 *   a connection per request, refresh grants with rotation (`wrk` with a Lua pool) — each against a
 *   bare oidc-provider (bench/support/bare-provider.ts: in-memory adapter, the same ES256 JWT
 *   access tokens, client_secret_basic, the same rotation) driven the same way;
 * - login rows (bench/support/login-rows.ts), whole code + PKCE flows from a driver process with
 *   many accounts and addresses: password logins against the scrypt bound (the service's hash
 *   parameters and concurrency), passkey logins against the same flow at the bare provider;
 * - issuance from CSRs (POST /api/v1/certificate-requests, TLS profile) against raw ECDSA P-256
 *   `crypto.sign` in this process;
 * - RSS of the service process: idle after start, and the peak under each load.
 * BENCH_SERVICE_SECONDS=10 per row, BENCH_DATABASE_URL=postgres://… (default: embedded database),
 * BENCH_SERVICE_PARTS=token,login,issuance (default: all; BENCH_LOGIN_ROWS=passkey: of the login rows, the passkey row alone), BENCH_SERVICE_PROFILE=<dir> (a CPU
 * profile of the service process). Writes bench/results/service-<date>.json and .md
 * (service-<parts>-<date>.* for a partial run).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { csrFor } from '../src/dev/seed-registry.js';
import { closedLoop, expectOk, machine, rawSignRate, round, rssMiB, rssSampler, scratchDatabase, startServiceProcess, type LoadResult } from './support/bench-kit.js';
import { startBareProvider } from './support/bare-process.js';
import { basic, cpuMs, spreadText, tokenRows, tokenSummary } from './support/token-rows.js';
import { loginRows, loginSummary } from './support/login-rows.js';
import { num, ratioText, type SummaryRow } from './support/summary-rows.js';
import { hostedEnv, hostsCompiled } from './support/hosted.js';

const SECONDS = Number(process.env.BENCH_SERVICE_SECONDS ?? 10);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const parts = new Set((process.env.BENCH_SERVICE_PARTS ?? 'token,login,issuance').split(','));
const HASH_CONCURRENCY = 2; // LOGIN_HASH_CONCURRENCY's default, which the service process keeps

const cores = cpus().length;
// How both servers run (bench/support/hosted.ts): as shipped (dist/) or from the sources through tsx.
const hosting = hostsCompiled() ? 'compiled (dist/)' : 'sources through tsx';
// The environment they run in besides (bench/support/hosted.ts): docs/deployment.md's, huge pages included.
const runtime = hostedEnv().GLIBC_TUNABLES ? `with GLIBC_TUNABLES=${hostedEnv().GLIBC_TUNABLES}` : 'without huge pages (BENCH_HUGE_PAGES=0)';
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'service') : undefined;
// LOGIN_HASH_WAIT_MS: on a machine loaded by others a hash can take seconds, and the login row
// measures throughput, not the shedding of waiters (1.5 s by default, docs/security.md).
const svc = await startServiceProcess({ TRUST_PROXY: '1', LOGIN_HASH_WAIT_MS: '30000', BENCH_ACCOUNTS: parts.has('login') ? '16' : '0', ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
const bare = await startBareProvider();
const { ready } = svc;
const tokenUrl = `${ready.url}/oidc/token`;

async function tokenRequest(auth: string, form: Record<string, string>): Promise<Record<string, string>> {
  const res = await expectOk(await fetch(tokenUrl, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) }), 'token');
  return (await res.json()) as Record<string, string>;
}

interface Row {
  name: string;
  load: LoadResult;
  concurrency: number;
  rssPeakMiB: number;
}
const rows: Row[] = [];
/** The rows driven by other processes report their own loads; theirs here is only RSS. */
const emptyLoad: LoadResult = { operations: 0, errors: 0, seconds: 0, perSecond: 0, p50ms: 0, p99ms: 0, errorSamples: [] };

async function measure(name: string, concurrency: number, op: (worker: number, i: number) => Promise<void>): Promise<Row> {
  const sampler = rssSampler(ready.pid);
  const load = await closedLoop(op, { concurrency, seconds: SECONDS });
  const { peakMiB } = sampler.stop();
  const row = { name, load, concurrency, rssPeakMiB: peakMiB };
  rows.push(row);
  process.stdout.write(`  ${name.padEnd(48)} ${String(load.perSecond).padStart(8)}/s  p50 ${load.p50ms} ms  p99 ${load.p99ms} ms  errors ${load.errors}  RSS peak ${peakMiB} MiB\n`);
  if (load.errors) process.stdout.write(`    first errors: ${load.errorSamples.join(' | ')}\n`);
  return row;
}


/**
 * The CPU (ms) spent so far by the PostgreSQL server processes serving the database at `url`
 * (the service's connections: a server on this machine, as the bench's is), as a counter that
 * never goes back: each backend adds what it spent since it was last read (a new one, all it
 * spent). A connection that closed between two readings takes what it spent since the first with
 * it (the service's pool keeps its connections under load); summing the backends alive at each
 * reading instead made such a row's figure negative.
 */
function databaseCpu(url: string): () => Promise<number> {
  const name = new URL(url).pathname.slice(1);
  const seen = new Map<number, number>();
  let counted = 0;
  return async () => {
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rows: backends } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
      for (const { pid } of backends) {
        try {
          const spent = cpuMs(pid);
          counted += spent - (seen.get(pid) ?? 0);
          seen.set(pid, spent);
        } catch {
          // gone meanwhile
        }
      }
      return counted;
    } finally {
      await admin.end();
    }
  };
}

try {
  const env = await machine(scratch?.url);
  process.stdout.write(`service process ${ready.pid} on ${env.database}, ${hosting}; ${SECONDS} s per row\n`);
  // Idle: after start and one request of each kind (lazy initialisation), then a pause.
  const machineAuth = basic(ready.machine.clientId, ready.machine.secret);
  await tokenRequest(machineAuth, { grant_type: 'client_credentials', scope: 'certs:read' });
  await new Promise((r) => setTimeout(r, 3000));
  const idleMiB = rssMiB(ready.pid);
  process.stdout.write(`  RSS idle ${idleMiB} MiB\n`);

  // ── token endpoint: native load generators, against the bare provider in the same run ────
  const tokenSampler = rssSampler(ready.pid);
  const tokenTable = parts.has('token') ? await tokenRows(ready, bare.ready, SECONDS, (l) => process.stdout.write(`${l}\n`), scratch && databaseCpu(scratch.url)) : [];

  rows.push({ name: 'token rows (wrk, ab)', load: emptyLoad, concurrency: 16, rssPeakMiB: tokenSampler.stop().peakMiB });
  const loginSampler = rssSampler(ready.pid);
  const loginTable = parts.has('login') ? await loginRows(ready, bare.ready, SECONDS, HASH_CONCURRENCY, (l) => process.stdout.write(`${l}\n`), scratch && databaseCpu(scratch.url)) : [];
  rows.push({ name: 'login rows (driver process)', load: emptyLoad, concurrency: 8, rssPeakMiB: loginSampler.stop().peakMiB });

  // ── issuance ─────────────────────────────────────────────────────────────────────────────
  // CSRs are made beforehand (the holder's token makes them, not the CA): enough for the row,
  // with room (60/s measured on 2026-12-06 ran out of 60 per second of the row).
  const csrs: string[] = [];
  const csrCount = parts.has('issuance') ? Math.max(400, SECONDS * 200) : 0;
  for (let i = 0; i < csrCount; i++) csrs.push(await csrFor(false));
  const access = (await tokenRequest(machineAuth, { grant_type: 'client_credentials', scope: 'certs:request certs:read' })).access_token;
  let next = 0;
  const issuance = !parts.has('issuance') ? null : await measure('issuance from a CSR (TLS profile, HTTP)', 4, async () => {
    const csr = csrs[next++ % csrs.length];
    if (next > csrs.length) throw new Error('ran out of CSRs (raise the CSR count)');
    const host = `may-chu-${next}.bench.soctrang.gov.vn`;
    const res = await expectOk(
      await fetch(`${ready.url}/api/v1/certificate-requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access}`, 'content-type': 'application/json' },
        body: JSON.stringify({ csr, profile: 'tls-server', subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] }),
      }),
      'issuance',
    );
    const body = (await res.json()) as { certificate?: { serial?: string } };
    if (!body.certificate?.serial) throw new Error('the request was not issued at once');
  });
  const rawSign = issuance ? rawSignRate() : NaN;
  const afterMiB = rssMiB(ready.pid);

  const perCore = (r: Row) => r.load.perSecond / cores;
  const date = new Date().toISOString().slice(0, 10);
  const token = tokenTable.map((t) => ({ grant: t.grant, generator: t.generator, perSecond: t.ours.perSecond, bareProviderPerSecond: t.bare.perSecond, ratio: t.ratio, ratioSpread: t.ratioSpread, cpuRatio: t.cpuRatio, aim: t.aim, p50ms: t.ours.p50ms, p99ms: t.ours.p99ms, errors: t.ours.errors, bareErrors: t.bare.errors, ours: t.ours, bare: t.bare, pairs: t.pairs }));
  const login = loginTable.map((l) => ({ login: l.login, perSecond: l.ours.perSecond, reference: l.reference.name, referencePerSecond: l.reference.perSecond, ratio: l.ratio, aim: l.aim, p50ms: l.ours.p50ms, p99ms: l.ours.p99ms, errors: l.ours.errors, referenceErrors: l.reference.load?.errors ?? 0, cpuMsPerFlow: l.cpuMsPerFlow }));
  const measured = rows.filter((r) => Number.isFinite(r.rssPeakMiB));
  const peakMiB = Math.max(...measured.map((r) => r.rssPeakMiB));
  const otherRows: SummaryRow[] = [
    ...(issuance
      ? [{ measure: 'Issuance from a CSR, one per request (HTTP, TLS profile, 4 in flight)', result: `${num(issuance.load.perSecond, 1)}/s (p50 ${issuance.load.p50ms} ms)`, reference: `raw P-256 \`crypto.sign\`: ${num(rawSign)}/s`, ratio: ratioText(issuance.load.perSecond / rawSign), aim: '', met: null }]
      : []),
    { measure: 'RSS of the service process', result: `idle ${idleMiB} MiB, peak under load ${peakMiB} MiB`, reference: 'idle', ratio: ratioText(peakMiB / idleMiB), aim: '', met: null },
  ];
  const report = {
    benchmark: 'service',
    date: new Date().toISOString(),
    machine: env,
    secondsPerRow: SECONDS,
    hosting,
    runtime,
    token,
    login,
    summary: [...tokenSummary(tokenTable), ...loginSummary(loginTable), ...otherRows],
    issuance: issuance && { perSecond: issuance.load.perSecond, perCore: round(perCore(issuance), 1), rawEcdsaSignPerSecond: Math.round(rawSign), ratioToRawSign: round(issuance.load.perSecond / rawSign, 4), p50ms: issuance.load.p50ms, p99ms: issuance.load.p99ms, errors: issuance.load.errors },
    memory: { idleMiB, peakUnderLoadMiB: peakMiB, afterLoadMiB: afterMiB, perRow: measured.map((r) => ({ name: r.name, peakMiB: r.rssPeakMiB })) },
    rows: rows.filter((r) => r.load !== emptyLoad).map((r) => ({ name: r.name, concurrency: r.concurrency, ...r.load })),
  };
  const md = [
    `Service benchmark ${date}: ${env.cores} × ${env.cpu}, ${env.ramGiB} GiB, Node ${env.node}, ${env.database}; the service, the bare provider and the scrypt bound run ${hosting}, ${runtime}; loopback HTTP, ${SECONDS} s per row; load generators (wrk, ab, the login driver) in their own processes on the same cores; load average at the start ${env.load} (the machine is shared).`,
    '',
    `Token rows: ${token[0]?.pairs.length ?? 0} pairs of turns per row (service and bare provider back to back, the order alternated), ${token[0]?.ours.connections ?? 16} connections; the ratio is the median of the pairs' rate ratios, in brackets the least and greatest pair's; "by CPU" the same for bare ÷ ours CPU per request; the rates are totals over the turns.`,
    '',
    '| Token endpoint | load generator | ours /s | bare oidc-provider /s | ratio, median (range) | by CPU, median (range) | aim | p50 ms | p99 ms | CPU ms/request, ours / bare | PostgreSQL CPU ms/request | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...token.map((t) => `| ${t.grant} | ${t.generator} | ${t.perSecond} | ${t.bareProviderPerSecond} | **${t.ratio}** (${t.ratioSpread.min}–${t.ratioSpread.max}) | ${spreadText(t.cpuRatio)} | ≥ ${t.aim} | ${t.p50ms} | ${t.p99ms} | ${t.ours.cpuMsPerRequest} / ${t.bare.cpuMsPerRequest} | ${t.ours.databaseCpuMsPerRequest ?? '–'} | ${t.errors + t.bareErrors} |`),
    '',
    '| Login (whole code + PKCE flow) | ours /s | reference | reference /s | ratio | aim | p50 ms | p99 ms | CPU ms/flow, server: ours / reference | CPU ms/flow, driver: ours / reference | errors |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...login.map((l) => `| ${l.login} | ${l.perSecond} | ${l.reference} | ${l.referencePerSecond} | **${l.ratio}** | ${l.aim === null ? '—' : `≥ ${l.aim}`} | ${l.p50ms} | ${l.p99ms} | ${l.cpuMsPerFlow.server} (main thread ${l.cpuMsPerFlow.serverMain}) / ${l.cpuMsPerFlow.reference}${l.cpuMsPerFlow.referenceDriver === undefined ? ' (one hash)' : ''} | ${l.cpuMsPerFlow.driver} / ${l.cpuMsPerFlow.referenceDriver ?? '—'} | ${l.errors + l.referenceErrors} |`),
    '',
    ...(report.issuance ? [`Issuance from CSRs: ${report.issuance.perSecond}/s (p50 ${report.issuance.p50ms} ms) against raw P-256 crypto.sign ${report.issuance.rawEcdsaSignPerSecond}/s: ratio ${report.issuance.ratioToRawSign}.`] : []),
    `RSS of the service process: idle ${idleMiB} MiB, peak under load ${report.memory.peakUnderLoadMiB} MiB, after the load ${afterMiB} MiB.`,
  ].join('\n');
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  // A partial run (BENCH_SERVICE_PARTS) is named by its parts: service-<date>.json is the whole one (bench/run.ts).
  const name = parts.size === 3 ? `service-${date}` : `service-${[...parts].join('-')}-${date}`;
  writeFileSync(new URL(`./results/${name}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL(`./results/${name}.md`, import.meta.url), `${md}\n`);
  process.stdout.write(`\n${md}\n`);
  const errors = rows.reduce((a, r) => a + r.load.errors, 0) + token.reduce((a, t) => a + t.errors + t.bareErrors, 0) + login.reduce((a, l) => a + l.errors + l.referenceErrors, 0);
  if (errors) {
    process.stdout.write(`${errors} errors: the figures are not valid\n`);
    process.exitCode = 1;
  }
} finally {
  await bare.stop();
  await svc.stop();
  await scratch?.drop();
}
