/**
 * `npm run bench:service`: the token endpoint, issuance and memory of one service process
 * (bench/support/service-process.ts), driven over loopback HTTP from this process. References,
 * measured or stated in the same run (docs/performance.md, "Method"):
 * - token endpoint, per CPU core, against Keycloak's published sizing (1 vCPU per 15 password
 *   logins/s, per 120 client-credentials grants/s, per 120 refresh grants/s; keycloak.org, "Concepts
 *   for sizing CPU and memory resources"): client credentials, refresh (rotating refresh tokens),
 *   and a whole authorization-code login with PKCE through the real pages (authorize → login form →
 *   password → resume → callback → code redeemed by openid-client, ID token checked);
 * - issuance from CSRs (POST /api/v1/certificate-requests, TLS profile: no approval step) against
 *   raw ECDSA P-256 `crypto.sign` in this process, the ceiling of any issuance;
 * - RSS of the service process: idle after start, and the peak under each load.
 * Per core = rate ÷ cores of the machine; the load generator runs on the same cores, so that is a
 * lower bound of the service's own per-core rate.
 * BENCH_SERVICE_SECONDS=10 per row, BENCH_DATABASE_URL=postgres://… (default: embedded database).
 * Writes bench/results/service-<date>.json and .md.
 */
import 'reflect-metadata';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as client from 'openid-client';
import { csrFor } from '../src/dev/seed-registry.js';
import { Browser, codeLogin } from '../test/support/oidc-rp.js';
import { closedLoop, expectOk, machine, round, rssMiB, rssSampler, scratchDatabase, startServiceProcess, type LoadResult } from './support/bench-kit.js';

const SECONDS = Number(process.env.BENCH_SERVICE_SECONDS ?? 10);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const KEYCLOAK = { login: 15, clientCredentials: 120, refresh: 120 } as const;

const cores = cpus().length;
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'service') : undefined;
const svc = await startServiceProcess(scratch ? { DATABASE_URL: scratch.url } : {});
const { ready } = svc;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
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

function rawSignRate(ms = 2000): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.alloc(600, 7); // about a TBSCertificate
  let n = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    sign('sha256', data, privateKey);
    n++;
  }
  return n / (ms / 1000);
}

try {
  const env = await machine(scratch?.url);
  process.stdout.write(`service process ${ready.pid} on ${env.database}; ${SECONDS} s per row\n`);
  // Idle: after start and one request of each kind (lazy initialisation), then a pause.
  const machineAuth = basic(ready.machine.clientId, ready.machine.secret);
  const portalAuth = basic(ready.portal.clientId, ready.portal.secret);
  await tokenRequest(machineAuth, { grant_type: 'client_credentials', scope: 'certs:read' });
  await new Promise((r) => setTimeout(r, 3000));
  const idleMiB = rssMiB(ready.pid);
  process.stdout.write(`  RSS idle ${idleMiB} MiB\n`);

  // ── token endpoint ───────────────────────────────────────────────────────────────────────
  const cc = await measure('client credentials grant', 16, async () => {
    const t = await tokenRequest(machineAuth, { grant_type: 'client_credentials', scope: 'certs:read signatures:validate' });
    if (!t.access_token) throw new Error('no access token');
  });

  const config = await client.discovery(new URL(`${ready.url}/oidc`), ready.portal.clientId, {}, client.ClientSecretBasic(ready.portal.secret), { execute: [client.allowInsecureRequests] });
  const login = () => codeLogin(config, new Browser(), ready.portal.redirectUri, ready.official, { prompt: 'consent' });
  // prompt=consent: OpenID Connect Core §11 issues a refresh token for offline_access only then.
  const logins = await measure('authorization-code login (PKCE, password)', 4, async () => {
    const r = await login();
    if (!r.tokens.refresh_token || !r.tokens.id_token) throw new Error('login gave no refresh or ID token');
  });

  // One login per worker gives it a refresh token; each refresh rotates it (the old one is spent).
  const refreshTokens: string[] = [];
  for (let w = 0; w < 16; w++) refreshTokens.push((await login()).tokens.refresh_token!);
  const refresh = await measure('refresh grant (rotating)', 16, async (worker) => {
    const t = await tokenRequest(portalAuth, { grant_type: 'refresh_token', refresh_token: refreshTokens[worker] });
    if (!t.refresh_token || !t.access_token) throw new Error('refresh gave no tokens');
    refreshTokens[worker] = t.refresh_token;
  });

  // ── issuance ─────────────────────────────────────────────────────────────────────────────
  // CSRs are made beforehand (the holder's token makes them, not the CA): enough for the row.
  const csrs: string[] = [];
  const csrCount = Math.max(400, SECONDS * 60);
  for (let i = 0; i < csrCount; i++) csrs.push(await csrFor(false));
  const access = (await tokenRequest(machineAuth, { grant_type: 'client_credentials', scope: 'certs:request certs:read' })).access_token;
  let next = 0;
  const issuance = await measure('issuance from a CSR (TLS profile, HTTP)', 4, async () => {
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
  const rawSign = rawSignRate();
  const afterMiB = rssMiB(ready.pid);

  const perCore = (r: Row) => r.load.perSecond / cores;
  const date = new Date().toISOString().slice(0, 10);
  const token = [
    { grant: 'client credentials', row: cc, keycloakPerVcpu: KEYCLOAK.clientCredentials },
    { grant: 'refresh', row: refresh, keycloakPerVcpu: KEYCLOAK.refresh },
    { grant: 'authorization-code login with password', row: logins, keycloakPerVcpu: KEYCLOAK.login },
  ].map((t) => ({ grant: t.grant, perSecond: t.row.load.perSecond, perCore: round(perCore(t.row), 1), keycloakPerVcpu: t.keycloakPerVcpu, ratio: round(perCore(t.row) / t.keycloakPerVcpu), p50ms: t.row.load.p50ms, p99ms: t.row.load.p99ms, errors: t.row.load.errors }));
  const report = {
    benchmark: 'service',
    date: new Date().toISOString(),
    machine: env,
    secondsPerRow: SECONDS,
    token,
    issuance: { perSecond: issuance.load.perSecond, perCore: round(perCore(issuance), 1), rawEcdsaSignPerSecond: Math.round(rawSign), ratioToRawSign: round(issuance.load.perSecond / rawSign, 4), p50ms: issuance.load.p50ms, p99ms: issuance.load.p99ms, errors: issuance.load.errors },
    memory: { idleMiB, peakUnderLoadMiB: Math.max(...rows.map((r) => r.rssPeakMiB)), afterLoadMiB: afterMiB, perRow: rows.map((r) => ({ name: r.name, peakMiB: r.rssPeakMiB })) },
    rows: rows.map((r) => ({ name: r.name, concurrency: r.concurrency, ...r.load })),
  };
  const md = [
    `Service benchmark ${date}: ${env.cores} × ${env.cpu}, ${env.ramGiB} GiB, Node ${env.node}, ${env.database}; loopback HTTP, closed loop, ${SECONDS} s per row; load generator on the same cores.`,
    '',
    '| Token endpoint | /s | per core | Keycloak per vCPU | ratio (aim 10) | p50 ms | p99 ms | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...token.map((t) => `| ${t.grant} | ${t.perSecond} | ${t.perCore} | ${t.keycloakPerVcpu} | ${t.ratio} | ${t.p50ms} | ${t.p99ms} | ${t.errors} |`),
    '',
    `Issuance from CSRs: ${report.issuance.perSecond}/s (p50 ${report.issuance.p50ms} ms) against raw P-256 crypto.sign ${report.issuance.rawEcdsaSignPerSecond}/s: ratio ${report.issuance.ratioToRawSign}.`,
    `RSS of the service process: idle ${idleMiB} MiB, peak under load ${report.memory.peakUnderLoadMiB} MiB, after the load ${afterMiB} MiB.`,
  ].join('\n');
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/service-${date}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL(`./results/service-${date}.md`, import.meta.url), `${md}\n`);
  process.stdout.write(`\n${md}\n`);
  const errors = rows.reduce((a, r) => a + r.load.errors, 0);
  if (errors) {
    process.stdout.write(`${errors} errors: the figures are not valid\n`);
    process.exitCode = 1;
  }
} finally {
  await svc.stop();
  await scratch?.drop();
}
