/**
 * `npm run bench:ocsp`: the OCSP responder against two references measured in the same run on the
 * same machine with one load generator (wrk), loopback only (DESIGN.md, performance method):
 * - `openssl ocsp` as a responder over an index of the same size (it signs every response live
 *   and closes each connection);
 * - a bare node:http server returning the same bytes (the ceiling of any Node service).
 * Certificates are seeded in bulk with SQL (synthetic rows: the responder reads only serial and
 * status), then every response is pre-signed by the service's own job. Results go to
 * bench/results/ocsp-<date>.json and .md.
 *
 * BENCH_OCSP_SIZES=2339,100000 (default 2339) and BENCH_OCSP_SECONDS=8 change the run.
 */
import 'reflect-metadata';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService, type Service } from '../src/main.js';
import { certIdDer, nonceExtension, requestDer } from '../test/unit/ca/ocsp/request-builder.js';

const SIZES = (process.env.BENCH_OCSP_SIZES ?? '2339').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_OCSP_SECONDS ?? 8);
const CONNECTIONS = 32;
const SAMPLE = 1000; // distinct requests each load script cycles through

interface Run {
  name: string;
  size: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
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

async function wrk(name: string, size: number, url: string, script: string): Promise<Run> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', '-s', script, url]);
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const run = { name, size, rps, p50ms: parseLatency(out, '50'), p99ms: parseLatency(out, '99'), errors };
  process.stdout.write(`  ${name.padEnd(44)} ${rps.toFixed(0).padStart(7)} req/s  p50 ${run.p50ms.toFixed(2)} ms  p99 ${run.p99ms.toFixed(2)} ms  errors ${errors}\n`);
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

/** An OpenSSL CA with a delegated signer and an index.txt of `serials`: the reference responder. */
function opensslCa(dir: string, serials: string[]) {
  const c = (...args: string[]) => sh('openssl', args, dir);
  c('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=VN/O=Bench/CN=Bench CA', '-days', '30');
  writeFileSync(join(dir, 'signer.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nnoCheck=ignored\n');
  c('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'signer.key', '-out', 'signer.csr', '-subj', '/C=VN/O=Bench/CN=Bench OCSP');
  c('x509', '-req', '-in', 'signer.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'signer.pem', '-days', '30', '-extfile', 'signer.ext');
  const expiry = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  writeFileSync(join(dir, 'index.txt'), serials.map((s) => `V\t${expiry}\t\t${s.toUpperCase()}\tunknown\t/CN=holder`).join('\n') + '\n');
  return { ca: join(dir, 'ca.pem') };
}

async function startOpensslResponder(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // OpenSSL 3.0's -port takes a number and binds every interface; the bench only connects over
  // loopback. One process per core (-multi), and -timeout 1 drops wrk's idle probe connection,
  // which would otherwise hold a single-process responder for the whole run.
  const child = spawn('openssl', ['ocsp', '-index', 'index.txt', '-port', String(port), '-rsigner', 'signer.pem', '-rkey', 'signer.key', '-CA', 'ca.pem', '-nmin', '60', '-multi', String(cpus().length), '-timeout', '1'], { cwd: dir, stdio: 'ignore', detached: true });
  // Probe with a bare TCP connect closed at once: it serves one connection at a time, and an idle
  // keep-alive socket left by an HTTP client would block it for the whole run.
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, child };
}

async function benchSize(size: number, runs: Run[]) {
  process.stdout.write(`\n${size.toLocaleString('en')} certificates\n`);
  const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-ocsp-'));
  const config = loadConfig({ env: { LOG_LEVEL: 'warn', DATA_DIR: dir, OCSP_CACHE_ENTRIES: String(Math.max(size * 2, 1000)), OCSP_REFRESH_BATCH: '5000', OCSP_MAX_INFLIGHT_SIGNINGS: '512' } });
  const log = createLogger({ level: 'warn' });
  const service = await createService(config, { log, masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });
  const servers: Server[] = [];
  let responder: ChildProcess | undefined;
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

    const server = createServer(service.app.callback());
    server.keepAliveTimeout = 65_000;
    servers.push(server);
    const url = await listen(server);
    // Warm the in-memory cache with the sample, as a running responder would be.
    await Promise.all(oursPresigned.map((b) => fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: b as BodyInit }).then((r) => r.arrayBuffer())));
    const sampleBytes = Buffer.from(await (await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: oursPresigned[0] as BodyInit })).arrayBuffer());
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': sampleBytes.length });
        res.end(sampleBytes);
      });
    });
    servers.push(bare);
    const bareUrl = await listen(bare);

    const osslDir = join(dir, 'openssl');
    mkdirSync(osslDir);
    const ossl = opensslCa(osslDir, serials.concat(Array.from({ length: Math.max(0, size - serials.length) }, () => '7' + randomBytes(15).toString('hex'))));
    const osslIssuerDer = execFileSync('openssl', ['x509', '-in', ossl.ca, '-outform', 'DER']);
    const theirs = serials.map((s) => requestDer({ certIds: [certIdDer({ issuerDer: osslIssuerDer, serial: s })] }));
    const started = await startOpensslResponder(osslDir);
    started.child.on('exit', (code) => process.stdout.write(`  (openssl ocsp exited with ${code})\n`));
    responder = started.child;

    const scripts = join(dir, 'lua');
    mkdirSync(scripts);
    runs.push(await wrk('tinnhiem pre-signed, keep-alive', size, url, luaScript(scripts, 'ka', oursPresigned, false)));
    runs.push(await wrk('bare node:http same bytes, keep-alive', size, bareUrl, luaScript(scripts, 'bare-ka', oursPresigned, false)));
    runs.push(await wrk('openssl ocsp -multi (live signing)', size, started.url, luaScript(scripts, 'ossl', theirs, false)));
    runs.push(await wrk('tinnhiem pre-signed, connection per request', size, url, luaScript(scripts, 'close', oursPresigned, true)));
    runs.push(await wrk('bare node:http, connection per request', size, bareUrl, luaScript(scripts, 'bare-close', oursPresigned, true)));
    runs.push(await wrk('tinnhiem nonce (live signing), keep-alive', size, url, luaScript(scripts, 'nonce', oursNonce, false)));
  } finally {
    // -multi forks workers: stop the whole process group.
    try {
      if (responder?.pid) process.kill(-responder.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs: Run[] = [];
for (const size of SIZES) await benchSize(size, runs);

const get = (size: number, prefix: string) => runs.find((r) => r.size === size && r.name.startsWith(prefix))!;
const ratios = SIZES.map((size) => {
  const ka = get(size, 'tinnhiem pre-signed, keep');
  const ossl = get(size, 'openssl');
  const bareKa = get(size, 'bare node:http same bytes');
  const close = get(size, 'tinnhiem pre-signed, conn');
  const bareClose = get(size, 'bare node:http, conn');
  const nonce = get(size, 'tinnhiem nonce');
  // A reference that answered nothing gives no ratio (null), never Infinity.
  const over = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    size,
    presignedVsOpenssl: over(ka.rps, ossl.rps),
    presignedVsBareNode: over(ka.rps, bareKa.rps),
    perRequestConnectionVsBareNode: over(close.rps, bareClose.rps),
    bareNodeNoKeepAliveVsOpenssl: over(bareClose.rps, ossl.rps),
    nonceVsOpenssl: over(nonce.rps, ossl.rps),
  };
});
const date = new Date().toISOString().slice(0, 10);
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, openssl: sh('openssl', ['version']).trim(), loadGenerator: (spawnSync('wrk', ['-v']).stdout?.toString() ?? '').split('\n')[0] || 'wrk' };
const md = [
  `OCSP benchmark ${date}: ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, ${machine.openssl}; wrk, 1 thread, ${CONNECTIONS} connections, ${SECONDS} s per row, loopback.`,
  '',
  '| Certificates | Scenario | req/s | p50 ms | p99 ms | errors |',
  '|---:|---|---:|---:|---:|---:|',
  ...runs.map((r) => `| ${r.size.toLocaleString('en')} | ${r.name} | ${r.rps.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} | ${r.errors} |`),
  '',
  '| Certificates | pre-signed ÷ openssl | pre-signed ÷ bare node (keep-alive) | per-request connection ÷ bare node | bare node (no keep-alive) ÷ openssl | nonce ÷ openssl |',
  '|---:|---:|---:|---:|---:|---:|',
  ...ratios.map((r) => `| ${r.size.toLocaleString('en')} | ${[r.presignedVsOpenssl, r.presignedVsBareNode, r.perRequestConnectionVsBareNode, r.bareNodeNoKeepAliveVsOpenssl, r.nonceVsOpenssl].map((x) => (x === null ? 'n/a (reference answered nothing)' : x.toFixed(2))).join(' | ')} |`),
].join('\n');
const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL(`ocsp-${date}.json`, resultsDir), JSON.stringify({ date, machine, seconds: SECONDS, connections: CONNECTIONS, runs, ratios }, null, 2) + '\n');
writeFileSync(new URL(`ocsp-${date}.md`, resultsDir), md + '\n');
process.stdout.write(`\n${md}\n`);
process.exit(0);
