/**
 * `npm run bench:ocsp`: the OCSP responder against two references measured in the same run on the
 * same machine with one load generator (wrk), loopback only (method in docs/performance.md):
 * - `openssl ocsp` as a responder over an index of the same size (it signs every response live
 *   and closes each connection);
 * - a bare node:http server returning the same bytes (the ceiling of any Node service).
 * Certificates are seeded in bulk with SQL (synthetic rows: the responder reads only serial and
 * status), then every response is pre-signed by the service's own job. Results go to
 * bench/results/ocsp-<date>.json and .md.
 *
 * Every scenario runs once per round and the rounds interleave (A B C … C B A …), so a load that
 * comes and goes on the machine, and what one row leaves behind, touch every scenario alike; each
 * figure is the median over the rounds, and each ratio the median of the per-round ratios.
 *
 * Latency: the throughput rows saturate the server (32 connections), so their p99 is queueing.
 * The size comparison uses one connection in a closed loop ("latency" row), where p99 is the cost
 * of a lookup, and the cold read of a response not in memory (from the database) is timed apart.
 *
 * BENCH_OCSP_SIZES=2339,1000000 (default 2339), BENCH_OCSP_SECONDS=5 per row, BENCH_OCSP_ROUNDS=3,
 * BENCH_DATABASE_URL=postgres://… (default: the embedded database) change the run.
 */
import 'reflect-metadata';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService, type Service } from '../src/service/service.js';
import { certIdDer, nonceExtension, requestDer } from '../test/unit/ca/ocsp/request-builder.js';
import { median, percentile, scratchDatabase } from './support/bench-kit.js';
import { meets, num, ratioText, type SummaryRow } from './support/summary-rows.js';
import { killGroup, opensslCa, startOpensslResponder } from './support/openssl-ocsp.js';

const SIZES = (process.env.BENCH_OCSP_SIZES ?? '2339').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_OCSP_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_OCSP_ROUNDS ?? 3);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
/** Only the rows whose name matches (a regular expression), for a quick look at a few of them. */
const ONLY = process.env.BENCH_OCSP_ONLY ? new RegExp(process.env.BENCH_OCSP_ONLY) : undefined;
const CONNECTIONS = 32;
const SAMPLE = 1000; // distinct requests each load script cycles through

interface Run {
  name: string;
  size: number;
  round?: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /**
   * CPU time of this process (both Node servers live in it) per answered request, in µs: unlike
   * req/s it barely moves when other work shares the machine. Null for the OpenSSL rows.
   */
  cpuUsPerRequest: number | null;
}

const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** A wrk Lua script POSTing one of `bodies` at random (optionally closing every connection). */
function luaScript(dir: string, name: string, bodies: Buffer[], close: boolean): string {
  const entries = bodies.map((b) => `"${[...b].map((x) => `\\${x}`).join('')}"`).join(',\n');
  const path = join(dir, `${name}.lua`);
  writeFileSync(
    path,
    `local bodies = {${entries}}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/ocsp-request"
${close ? 'wrk.headers["Connection"] = "close"' : ''}
request = function() return wrk.format(nil, "/ocsp", nil, bodies[math.random(#bodies)]) end
`,
  );
  return path;
}

function parseLatency(text: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(name: string, size: number, url: string, script: string, connections = CONNECTIONS, inProcess = true): Promise<Run> {
  const cpuBefore = process.cpuUsage();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${SECONDS}s`, '--latency', '-s', script, url]);
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  if (!rps) process.stdout.write(`  wrk printed:\n${out}\n`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const cpu = process.cpuUsage(cpuBefore);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const cpuUsPerRequest = inProcess && requests > 0 ? Math.round(((cpu.user + cpu.system) / requests) * 10) / 10 : null;
  const run = { name, size, rps, p50ms: parseLatency(out, '50'), p99ms: parseLatency(out, '99'), errors, cpuUsPerRequest };
  process.stdout.write(`  ${name.padEnd(44)} ${rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50ms.toFixed(2)} ms  p99 ${run.p99ms.toFixed(2)} ms  errors ${errors}  cpu ${cpuUsPerRequest ?? '-'} µs/req\n`);
  return run;
}

/** Synthetic registry rows under our issuing CA, by SQL (the bulk path; the RA would take minutes). */
async function seed(service: Service, issuerId: string, count: number): Promise<string[]> {
  const knex = service.db.knex;
  const now = new Date();
  const notAfter = new Date(now.getTime() + 365 * 86_400_000);
  await knex.raw(
    `insert into certificates (issuer_id, serial, state, public_key_fingerprint, not_before, not_after, status, status_changed_at, source, status_source, created_at, revoked_at, revocation_reason)
     select ?, '7' || substr(md5(random()::text || i::text), 1, 31), 'issued', md5(i::text), ?, ?,
            case when i % 50 = 0 then 'revoked' else 'good' end, ?, 'issued', 'registry', ?,
            case when i % 50 = 0 then ?::timestamptz else null end, case when i % 50 = 0 then 'keyCompromise' else null end
     from generate_series(1, ?) as i on conflict do nothing`,
    [issuerId, now, notAfter, now, now, now, count],
  );
  const rows = (await knex('certificates').where({ issuer_id: issuerId, source: 'issued' }).whereNotNull('public_key_fingerprint').orderByRaw('random()').limit(SAMPLE).select('serial')) as Array<{ serial: string }>;
  return rows.map((r) => r.serial);
}

interface ColdReads {
  size: number;
  count: number;
  p50ms: number;
  p99ms: number;
}

interface Scenario {
  name: string;
  url: string;
  script: string;
  connections?: number;
  openssl?: boolean;
}

interface PreparedSize {
  size: number;
  scenarios: Scenario[];
  osslDir: string;
  probe: Uint8Array;
  cleanup(): Promise<void>;
}

/** The service under test, on a PostgreSQL database of its own per size (dropped afterwards) or the embedded one. */
async function startService(size: number, dir: string): Promise<{ service: Service; dropDatabase?: () => Promise<void> }> {
  const env: Record<string, string> = { LOG_LEVEL: 'warn', DATA_DIR: dir, OCSP_REFRESH_BATCH: '20000', OCSP_MAX_INFLIGHT_SIGNINGS: '512' };
  const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, `ocsp_${size}`) : undefined;
  if (scratch) env.DATABASE_URL = scratch.url;
  const database = scratch ? { kind: 'postgres' as const, url: scratch.url, poolMax: 10 } : undefined;
  const options = { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench', database };
  try {
    return { service: await createService(loadConfig({ env }), options), dropDatabase: scratch?.drop };
  } catch (err) {
    await scratch?.drop();
    throw err;
  }
}

/** The first request for each certificate is served from the database: timed one at a time. */
async function coldReads(size: number, bodies: Uint8Array[], fetchOne: (body: Uint8Array) => Promise<ArrayBuffer>): Promise<ColdReads> {
  const times: number[] = [];
  for (const body of bodies) {
    const started = process.hrtime.bigint();
    await fetchOne(body);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`  cold reads (from the database): p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms\n`);
  return { size, count: times.length, p50ms: percentile(times, 50), p99ms: percentile(times, 99) };
}

/** The same server settings as `tinnhiem serve` (src/service/serve.ts), for both servers. */
function asServe(srv: Server): Server {
  srv.keepAliveTimeout = 65_000;
  srv.headersTimeout = 66_000;
  srv.requestTimeout = 120_000;
  return srv;
}

/** The reference: node:http answering every request with `bytes`. */
const bareServer = (bytes: Buffer) =>
  asServe(
    createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': bytes.length });
        res.end(bytes);
      });
    }),
  );

/** A service with `size` certificates pre-signed, the bare server and the OpenSSL index: ready to run. */
async function prepareSize(size: number, cold: ColdReads[]): Promise<PreparedSize> {
  process.stdout.write(`\n${size.toLocaleString('en')} certificates\n`);
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-ocsp-'));
  const { service, dropDatabase } = await startService(size, dir);
  const servers: Server[] = [];
  try {
    const issuer = (await service.certificates.ca.issuers()).find((i) => i.role === 'issuing')!;
    let t0 = Date.now();
    const serials = await seed(service, issuer.id, size);
    process.stdout.write(`  seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s; `);
    t0 = Date.now();
    const signed = await service.ocsp.presignAll();
    process.stdout.write(`pre-signed ${signed} responses in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const ours = (serial: string, nonce?: boolean) => requestDer({ certIds: [certIdDer({ issuerDer: issuer.certificate!, serial: `00${serial}`.replace(/^00(?=[0-7])/, '') })], extensions: nonce ? [nonceExtension(randomBytes(16))] : undefined });
    const oursPresigned = serials.map((s) => ours(s));
    const oursNonce = serials.map((s) => ours(s, true));

    const server = asServe(createServer(service.handler));
    servers.push(server);
    const url = await listen(server);
    const fetchOne = (body: Uint8Array) => fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: body as BodyInit }).then((r) => r.arrayBuffer());
    cold.push(await coldReads(size, oursPresigned.slice(0, 200), fetchOne));
    // Warm the in-memory cache with the sample, as a running responder would be.
    await Promise.all(oursPresigned.map(fetchOne));
    const bare = bareServer(Buffer.from(await fetchOne(oursPresigned[0])));
    servers.push(bare);
    const bareUrl = await listen(bare);

    const osslDir = join(dir, 'openssl');
    mkdirSync(osslDir);
    const ossl = opensslCa(osslDir, serials.concat(Array.from({ length: Math.max(0, size - serials.length) }, () => '7' + randomBytes(15).toString('hex'))));
    const osslIssuerDer = execFileSync('openssl', ['x509', '-in', ossl.ca, '-outform', 'DER']);
    const theirs = serials.map((s) => requestDer({ certIds: [certIdDer({ issuerDer: osslIssuerDer, serial: s })] }));
    const scripts = join(dir, 'lua');
    mkdirSync(scripts);
    const scenarios: Scenario[] = [
      { name: 'tinnhiem pre-signed, keep-alive', url, script: luaScript(scripts, 'ka', oursPresigned, false) },
      { name: 'bare node:http same bytes, keep-alive', url: bareUrl, script: luaScript(scripts, 'bare-ka', oursPresigned, false) },
      { name: 'openssl ocsp -multi (live signing)', url: '', script: luaScript(scripts, 'ossl', theirs, false), openssl: true },
      { name: 'tinnhiem pre-signed, connection per request', url, script: luaScript(scripts, 'close', oursPresigned, true) },
      { name: 'bare node:http, connection per request', url: bareUrl, script: luaScript(scripts, 'bare-close', oursPresigned, true) },
      { name: 'tinnhiem nonce (live signing), keep-alive', url, script: luaScript(scripts, 'nonce', oursNonce, false) },
      { name: 'tinnhiem pre-signed, 1 connection (latency)', url, script: luaScript(scripts, 'latency', oursPresigned, false), connections: 1 },
    ];
    const cleanup = async () => {
      for (const srv of servers) {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
      await service.close();
      await dropDatabase?.();
      if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
      else process.stdout.write(`  kept ${dir}\n`);
    };
    return { size, scenarios, osslDir, probe: theirs[0], cleanup };
  } catch (err) {
    for (const srv of servers) srv.closeAllConnections();
    await service.close();
    await dropDatabase?.();
    throw err;
  }
}

/**
 * One row: wrk against the scenario. OpenSSL gets a fresh responder for each of its rows: when
 * wrk closes the connections still waiting in its backlog at the end of a run, `openssl ocsp
 * -multi` stops answering.
 */
async function runRow(p: PreparedSize, sc: Scenario, round: number): Promise<Run> {
  const started = sc.openssl ? await startOpensslResponder(p.osslDir, p.probe) : undefined;
  try {
    const run = { ...(await wrk(sc.name, p.size, started?.url ?? sc.url, sc.script, sc.connections, !sc.openssl)), round };
    if (sc.openssl && run.rps === 0) process.stdout.write(`  openssl ocsp answered nothing; its log:\n${readFileSync(join(p.osslDir, 'openssl.log'), 'utf8')}\n`);
    return run;
  } finally {
    killGroup(started?.child);
  }
}

const runs: Run[] = [];
const cold: ColdReads[] = [];
const prepared: PreparedSize[] = [];
try {
  for (const size of SIZES) prepared.push(await prepareSize(size, cold));
  // Every size is up at once and the rounds go through all of them, so the sizes are compared
  // under the same conditions. Odd rounds run the rows in order, even rounds in reverse, so that
  // what a row leaves behind (sockets in TIME_WAIT, a killed responder) falls on every row alike.
  const rows = prepared.flatMap((p) => p.scenarios.filter((sc) => !ONLY || ONLY.test(sc.name)).map((sc) => ({ p, sc })));
  for (let round = 1; round <= ROUNDS; round++) {
    process.stdout.write(`\nround ${round}/${ROUNDS}\n`);
    for (const { p, sc } of round % 2 ? rows : [...rows].reverse()) runs.push(await runRow(p, sc, round));
  }
} finally {
  for (const p of prepared) await p.cleanup();
}

/** One figure per size and scenario: the medians over the rounds. */
const scenarios = SIZES.flatMap((size) => {
  const names = [...new Set(runs.filter((r) => r.size === size).map((r) => r.name))];
  return names.map((name) => {
    const rows = runs.filter((r) => r.size === size && r.name === name);
    return { name, size, rps: median(rows.map((r) => r.rps)), p50ms: median(rows.map((r) => r.p50ms)), p99ms: median(rows.map((r) => r.p99ms)), errors: rows.reduce((a, r) => a + r.errors, 0), cpuUsPerRequest: rows[0].cpuUsPerRequest === null ? null : median(rows.map((r) => r.cpuUsPerRequest!)) };
  });
});
// A reference that answered nothing gives no ratio (null), never Infinity.
const over = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? a / b : null);
/** The median over rounds of a ÷ b, both measured in the same round. */
function ratio(size: number, a: string, b: string): number | null {
  const values: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const ra = runs.find((r) => r.size === size && r.round === round && r.name.startsWith(a));
    const rb = runs.find((r) => r.size === size && r.round === round && r.name.startsWith(b));
    const v = ra && rb ? over(ra.rps, rb.rps) : null;
    if (v !== null) values.push(v);
  }
  return values.length ? median(values) : null;
}
const latencyP99 = (size: number) => scenarios.find((r) => r.size === size && r.name.startsWith('tinnhiem pre-signed, 1 connection'))?.p99ms ?? NaN;
const ratios = SIZES.map((size) => ({
  size,
  presignedVsOpenssl: ratio(size, 'tinnhiem pre-signed, keep', 'openssl'),
  presignedVsBareNode: ratio(size, 'tinnhiem pre-signed, keep', 'bare node:http same bytes'),
  perRequestConnectionVsBareNode: ratio(size, 'tinnhiem pre-signed, conn', 'bare node:http, conn'),
  bareNodeNoKeepAliveVsOpenssl: ratio(size, 'bare node:http, conn', 'openssl'),
  nonceVsOpenssl: ratio(size, 'tinnhiem nonce', 'openssl'),
  latencyP99VsSmallest: over(latencyP99(size), latencyP99(SIZES[0])),
}));
const date = new Date().toISOString().slice(0, 10);
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, openssl: sh('openssl', ['version']).trim(), loadGenerator: (spawnSync('wrk', ['-v']).stdout?.toString() ?? '').split('\n')[0] || 'wrk', database: DATABASE_URL ? 'PostgreSQL' : 'embedded (PGlite)' };
const fmt = (x: number | null) => (x === null ? 'n/a (reference answered nothing)' : x.toFixed(2));
const md = [
  `OCSP benchmark ${date}: ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, ${machine.openssl}, ${machine.database}; wrk, 1 thread, ${CONNECTIONS} connections (latency row: 1), ${SECONDS} s per row, ${ROUNDS} interleaved rounds, medians; loopback.`,
  '',
  '| Certificates | Scenario | req/s | p50 ms | p99 ms | errors | CPU µs per request (bench process) |',
  '|---:|---|---:|---:|---:|---:|---:|',
  ...scenarios.map((r) => `| ${r.size.toLocaleString('en')} | ${r.name} | ${r.rps.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} | ${r.errors} | ${r.cpuUsPerRequest ?? ''} |`),
  ...cold.map((c) => `| ${c.size.toLocaleString('en')} | cold read from the database (${c.count} sequential) | | ${c.p50ms.toFixed(2)} | ${c.p99ms.toFixed(2)} | | |`),
  '',
  '| Certificates | pre-signed ÷ openssl (target ≥ 1.5) | pre-signed ÷ bare node, keep-alive (≥ 0.6) | per-request connection ÷ bare node (≥ 0.8) | bare node (no keep-alive) ÷ openssl | nonce ÷ openssl (≥ 0.5) | latency p99 ÷ p99 at the smallest size (≤ 1.5) |',
  '|---:|---:|---:|---:|---:|---:|---:|',
  ...ratios.map((r) => `| ${r.size.toLocaleString('en')} | ${[r.presignedVsOpenssl, r.presignedVsBareNode, r.perRequestConnectionVsBareNode, r.bareNodeNoKeepAliveVsOpenssl, r.nonceVsOpenssl, r.latencyP99VsSmallest].map(fmt).join(' | ')} |`),
].join('\n');
const scenario = (size: number, name: string) => scenarios.find((r) => r.size === size && r.name.startsWith(name));
const summary: SummaryRow[] = ratios.flatMap((r) => {
  const rps = (name: string) => num(scenario(r.size, name)?.rps ?? NaN);
  return [
    { measure: `OCSP throughput, ${num(r.size)} certificates, pre-signed, keep-alive`, result: `${rps('tinnhiem pre-signed, keep')} req/s`, reference: `\`openssl ocsp -multi\`: ${rps('openssl')} req/s`, ratio: ratioText(r.presignedVsOpenssl), aim: '≥ 1.5×', met: meets(r.presignedVsOpenssl, 1.5, 'atLeast') },
    { measure: `OCSP throughput, ${num(r.size)} certificates, pre-signed, keep-alive`, result: `${rps('tinnhiem pre-signed, keep')} req/s`, reference: `bare node:http, same bytes: ${rps('bare node:http same bytes')} req/s`, ratio: ratioText(r.presignedVsBareNode), aim: '≥ 0.6×', met: meets(r.presignedVsBareNode, 0.6, 'atLeast') },
    { measure: `OCSP throughput, ${num(r.size)} certificates, a connection per request`, result: `${rps('tinnhiem pre-signed, conn')} req/s`, reference: `bare node:http, a connection per request: ${rps('bare node:http, conn')} req/s`, ratio: ratioText(r.perRequestConnectionVsBareNode), aim: '≥ 0.8×', met: meets(r.perRequestConnectionVsBareNode, 0.8, 'atLeast') },
    { measure: `OCSP with a nonce (signed live), ${num(r.size)} certificates`, result: `${rps('tinnhiem nonce')} req/s`, reference: `\`openssl ocsp -multi\`: ${rps('openssl')} req/s`, ratio: ratioText(r.nonceVsOpenssl), aim: '≥ 0.5×', met: meets(r.nonceVsOpenssl, 0.5, 'atLeast') },
  ];
});
const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL(`ocsp-${date}.json`, resultsDir), JSON.stringify({ date, machine, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, scenarios, cold, ratios, summary, runs }, null, 2) + '\n');
writeFileSync(new URL(`ocsp-${date}.md`, resultsDir), md + '\n');
process.stdout.write(`\n${md}\n`);
process.exit(0);
