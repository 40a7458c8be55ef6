/**
 * `npm run bench:validate`: the signature validator against its ceiling, measured in the same run
 * on the same machine (docs/performance.md, "Method"):
 * - CMS validations per second over BENCH_VALIDATE_SIGNERS (1,000) distinct signers, each with its
 *   own certificate of our CA and its own document (`openssl cms -sign`, detached, with signed
 *   attributes; 1 in 10 RSA-2048, the rest ECDSA P-256): cold (the first validation of each, one
 *   pass, after the validator's code was warmed on BENCH_VALIDATE_WARMUP (200) other signers of the
 *   same CA, never counted, validated again and again with the per-signer caches emptied before
 *   each round until V8 stops compiling (three rounds in a row adding under 8 KB of optimised code;
 *   at least 10 rounds, at most BENCH_VALIDATE_WARMUP_ROUNDS (100)): the caches are cold, the code
 *   is compiled, as a running service meets a new signer) and warm (again, sequential and with 8 in flight); parse, signer look-up, messageDigest,
 *   signature, chain from the trust store, revocation from the registry, report; each as a wall
 *   rate and per core (per second of this process's CPU time). Cold means every signer new to the
 *   validator (certificate, key, chain); the statuses come from the registry as this node holds it
 *   (src/validation/registry-index.ts, read in the background from the first validation on, its
 *   reading counted in the pass when it falls there), or from a registry read when it does not.
 *   Before the cold pass the bench asks the validator's caches (certificates, keys, parsed
 *   signatures, chain links) for every counted signer and stops if any holds one, and brings the
 *   OCSP responder's pre-signing of the certificates it has just issued up to date (a running
 *   service did that long before; its backlog fell into the pass); it prints the statements sent
 *   during the pass. The warm-up pass
 *   (the first validations of the process: JIT warm-up and cold caches together, the row before
 *   2026-12-06's seventh pass) is reported on a line of its own, no aim;
 * - the same over HTTP (POST /api/v1/signatures/validate with a client-credentials token), driven
 *   by `wrk` in its own process with a Lua script rotating through the signatures, beside a bare
 *   Node HTTP server answering the same requests with a stored report (the HTTP reference);
 * - raw `crypto.verify` of exactly the same signatures (signed attributes, signature value, key),
 *   the ceiling of any validator;
 * - a PDF with 5 signatures made by poppler's `pdfsig` (incremental updates), whole validation;
 * - XML e-invoices signed by xmlsec1, beside `xmlsec1 --verify` of the same files (validate-xml.ts).
 * In process on the embedded database unless DATABASE_URL is set (then a scratch database on that
 * server). This process runs compiled, as the service ships (bench/hosted-run.ts: the validator and
 * the service from dist/, this file and its bench/test helpers transformed by esbuild without
 * keepNames), or from the sources through tsx with TINNHIEM_FROM_SOURCES=1. Results go to bench/results/validate-<date>.json (with its `summary` rows) and .md.
 * BENCH_VALIDATE_SECONDS=5 changes the run length; BENCH_VALIDATE_PROFILE=<dir> writes a V8 CPU
 * profile of each measured phase (first of the process, cold, warm, HTTP), not of the setup.
 */
import 'reflect-metadata';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, verify, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';
import { clearCaches } from '../ca/cache-registry.js';
import { coldCacheProbe, VALIDATOR_SIGNER_CACHES } from '../src/validation/cache-probe.js';
import { sha256Hex } from '../src/validation/cert.js';
import { compiledCode, warmUntilCompiled } from './support/compiled-warmup.js';
import { threadSplit, threadTicks } from './support/thread-ticks.js';
import { benchXml } from './validate-xml.js';
import { scratchDatabase } from './support/scratch-database.js';
import { backendSeconds, databaseBackendTicks } from './support/backend-ticks.js';
import { repoRootUrl } from './support/repo-root.js';
import { officialHolder } from '../test/support/ca-helpers.js';
import { cadesPdf, minimalPdf, nssDatabase, pdfsigSign, type Signer } from '../test/integration/validation/validation-support.js';

const SECONDS = Number(process.env.BENCH_VALIDATE_SECONDS ?? 5);
// BENCH_VALIDATE_PROFILE=<dir>: a V8 CPU profile of each measured phase (cold, warm, HTTP) only, not of the setup.
const PROFILE_DIR = process.env.BENCH_VALIDATE_PROFILE;
const inspector = PROFILE_DIR ? new Session() : null;
inspector?.connect();
const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => inspector!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!inspector) return run();
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync(PROFILE_DIR!, { recursive: true });
    writeFileSync(join(PROFILE_DIR!, `validate-${name}.cpuprofile`), JSON.stringify(profile));
  }
}
const SIGNATURES = Number(process.env.BENCH_VALIDATE_SIGNERS ?? 1_000);
// Signers of the warm-up pass (the 4 sanity checks among them): distinct from the SIGNATURES counted ones.
const WARMUP = Number(process.env.BENCH_VALIDATE_WARMUP ?? 200);
if (WARMUP < 4) throw new Error('BENCH_VALIDATE_WARMUP must be at least 4 (the sanity checks)');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-validate-'));
// A scratch database of its own on the server DATABASE_URL names (a second run must not find the first one's CA).
const scratch = process.env.DATABASE_URL ? await scratchDatabase(process.env.DATABASE_URL, 'validate') : undefined;
const config = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', VALIDATION_FETCH: 'false', ...(scratch ? { DATABASE_URL: scratch.url } : {}) } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-validate-passphrase', initialise: true, devCa: true, purpose: 'bench', keyKdfIterations: 10_000 });

async function signer(name: string, key: 'rsa' | 'ec', cccd: string): Promise<Signer> {
  const keyPath = join(dir, `${name}.key`);
  sh('openssl', key === 'rsa' ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath] : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
  const csr = sh('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=token']);
  const submitted = await service.certificates.ra.submit('bench:requester', { csr, profileId: 'official-signing', holder: officialHolder(cccd, `Bench ${name}`) });
  const approved = await service.certificates.ra.approve('bench:officer', submitted.request.id);
  const record = await service.certificates.ca.certificate(approved.issued!.serial, approved.issued!.issuerId);
  const pem = service.certificates.pem(record);
  const cert = join(dir, `${name}.pem`);
  writeFileSync(cert, pem);
  return { key: keyPath, cert, serial: record.serial, issuerId: record.issuerId, pem };
}

const rsa = await signer('rsa', 'rsa', '094185000091');
const ec = await signer('ec', 'ec', '094185000092');
const issuing = join(dir, 'issuing.pem');
const root = join(dir, 'root.pem');
const issuers = await service.certificates.ca.issuers();
writeFileSync(issuing, (await service.certificates.caCertificate(issuers.find((i) => i.role === 'issuing')!.id)).pem);
writeFileSync(root, (await service.certificates.caCertificate(issuers.find((i) => i.role === 'root')!.id)).pem);
const issuingSha = sha256Hex(new Uint8Array(new X509Certificate(readFileSync(issuing)).raw));

// Signatures: one per signer, each over its own 2 KB document; 1 in 10 RSA-2048 PKCS#1 v1.5, the rest ECDSA P-256.
interface Sample { sig: Buffer; data: Buffer; raw: { signed: Uint8Array; value: Uint8Array; key: ReturnType<typeof createPublicKey>; rsa: boolean } }
const all: Sample[] = [];
const certShas: string[] = [];
const spkis: Uint8Array[] = [];
let t0 = process.hrtime.bigint();
for (let i = 0; i < SIGNATURES + WARMUP; i++) {
  const isRsa = i % 10 === 0;
  const s = i === 0 ? rsa : i === 1 ? ec : await signer(`s${i}`, isRsa ? 'rsa' : 'ec', `0941${String(85_100_000 + i).padStart(8, '0')}`);
  const data = Buffer.from(`Văn bản số ${i}/UBND\n`.repeat(100));
  const input = join(dir, `d${i}.bin`);
  writeFileSync(input, data);
  sh('openssl', ['cms', '-sign', '-binary', '-in', input, '-signer', s.cert, '-inkey', s.key, '-outform', 'DER', '-out', join(dir, `s${i}.der`), '-md', 'sha256']);
  const sig = readFileSync(join(dir, `s${i}.der`));
  // Read apart from the validator (its caches must not see the signature before the cold pass).
  const info = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(sig).result }).content }).signerInfos[0];
  all.push({ sig, data, raw: { signed: new Uint8Array(info.signedAttrs!.encodedValue), value: info.signature.valueBlock.valueHexView, key: createPublicKey(readFileSync(s.cert)), rsa: s === rsa || isRsa } });
  // The signer certificate's SHA-256 and SubjectPublicKeyInfo, read apart from the validator: what its caches are asked for.
  const x509 = new X509Certificate(s.pem);
  certShas.push(sha256Hex(new Uint8Array(x509.raw)));
  spkis.push(new Uint8Array(x509.publicKey.export({ type: 'spki', format: 'der' })));
}
process.stdout.write(`${SIGNATURES + WARMUP} signers issued and signatures made in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s\n`);
// The first WARMUP signers warm the validator's code; the others are counted (cold once, then warm) and are the raw reference's.
const warmup = all.slice(0, WARMUP);
const samples = all.slice(WARMUP);

const validator = service.validation.validator;
// Sanity: every sample passes, or the figures mean nothing (warm-up signers: the counted ones stay unseen).
for (const s of warmup.slice(0, 4)) {
  const r = await validator.validateSignature({ signature: s.sig, document: s.data });
  if (r.indication !== 'TOTAL_PASSED') throw new Error(`sample does not validate: ${JSON.stringify(r.signatures[0]?.errors)}`);
}

/** Per second of wall time, and per second of this process's CPU time (user + system): "per core" on a shared machine. */
interface Rate { wall: number; perCore: number }
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};
async function timed(run: () => Promise<number>): Promise<Rate> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let n = 0;
  while (Number(process.hrtime.bigint() - start) / 1e9 < SECONDS) n += await run();
  return { wall: n / (Number(process.hrtime.bigint() - start) / 1e9), perCore: n / cpuSeconds(cpu) };
}
const show = (r: Rate) => `${r.wall.toFixed(0)}/s wall, ${r.perCore.toFixed(0)}/s per CPU-second`;

// PostgreSQL's share of the cold pass (the embedded database runs in this process and is counted in it already).
const backendTicks = () => (scratch ? databaseBackendTicks(scratch.url) : Promise.resolve(null));

let k = 0;
process.stdout.write(`validate: ${SIGNATURES} signatures (and ${WARMUP} for the warm-up), ${SECONDS} s per row\n`);
// The first validations of the process (after the sanity checks): the warm-up signers, each once.
// JIT warm-up and cold caches together (the cold row until the seventh pass); reported, no aim.
t0 = process.hrtime.bigint();
const firstCpu = process.cpuUsage();
await profiled('first', async () => {
  for (const s of warmup.slice(4)) {
    const r = await validator.validateSignature({ signature: s.sig, document: s.data });
    if (r.indication !== 'TOTAL_PASSED') throw new Error('a warm-up sample does not validate');
  }
});
const first: Rate = { wall: (WARMUP - 4) / (Number(process.hrtime.bigint() - t0) / 1e9), perCore: (WARMUP - 4) / cpuSeconds(firstCpu) };
process.stdout.write(`  CMS validations, first of the process   ${show(first)} (${WARMUP - 4}, JIT warm-up included)\n`);
// A running service holds its registry already (registry-index.ts): the first whole read, started
// by the sanity checks, is awaited before the counted pass (in this process on the embedded
// database, it is otherwise counted in whichever pass it falls; later refreshes are counted where they fall).
await service.validation.registryIndex?.settled();
// The same for the OCSP responder's pre-signing (ocsp-presigner.ts): a running service signed its
// certificates' responses long before a validation meets them, but this process issued 1,200 of them
// minutes ago, and its 30-second job signed them in chunks of 256 (with their writes) in whichever pass
// it fell: the statements counted below showed four such chunks inside the cold pass, a
// backlog of the setup charged to the validator (2026-12-06, eleventh pass). The backlog is signed
// before the warm-up rounds, so that the compiler's work on the code the two share (DER, caches) is
// over before the counted pass too (signed just before it, the pass still compiled 62 KB of code,
// 2026-12-07); the job's later runs (a sweep that finds nothing due, housekeeping) are counted where they fall.
// (A run goes on from where the last sweep stopped: two runs that sign nothing have seen every row.)
async function drainPresigning(): Promise<number> {
  let signed = 0;
  for (let idle = 0; idle < 2; ) {
    const now = await service.ocsp.refreshDue();
    signed += now;
    idle = now ? 0 : idle + 1;
  }
  return signed;
}
const presigned = await drainPresigning();
// The code's warm-up goes on over the same signers, cold again each round: the validator's
// per-signer caches (cache-probe.ts) are emptied before each round, so every round runs the cold
// path. It goes on until V8's optimising compiler is done with that path, which a running service
// is long before it meets a new signer. One round was not enough (`--trace-opt`: 56 of the
// validator's functions optimised for the first time inside the counted pass, on threads of their
// own whose CPU the pass counts; 2026-12-06, eleventh pass), and neither were ten: after ten, 16
// functions were still compiled (or compiled again after a deoptimisation) inside the pass, and
// the optimised code kept growing up to the twentieth round or so (2026-12-07, seventeenth pass).
// The compiler's output is what tells (bench/support/compiled-warmup.ts): the warm-up ends after
// three rounds in a row that each add under 8 KB of optimised code, at least 10 rounds, at most
// BENCH_VALIDATE_WARMUP_ROUNDS (100). The round before the loop is the first-of-process pass above.
const warmedUp = await warmUntilCompiled(async () => {
  clearCaches(VALIDATOR_SIGNER_CACHES);
  const stillHeld = warmup.map((_, i) => coldCacheProbe({ certSha256: certShas[i], spki: spkis[i], signature: warmup[i].sig, issuerSha256: issuingSha })).filter((held) => held.length);
  if (stillHeld.length) throw new Error(`the warm-up's signers are still in the validator's caches after they were emptied (${stillHeld[0].join(', ')})`);
  for (const s of warmup) {
    const r = await validator.validateSignature({ signature: s.sig, document: s.data });
    if (r.indication !== 'TOTAL_PASSED') throw new Error('a warm-up sample does not validate');
  }
}, { maxRounds: Number(process.env.BENCH_VALIDATE_WARMUP_ROUNDS ?? 100) });
const rounds = warmedUp.rounds + 1;
process.stdout.write(`  the cold path's code warmed over ${rounds} round(s) of the ${WARMUP} warm-up signers, caches emptied before each: ${warmedUp.compiled ? `the last ${warmedUp.quietRounds} added under ${warmedUp.quietCodeBytes / 1024} KB of optimised code each` : `the optimised code still grew at the limit of ${rounds} rounds`}\n`);
// Signed again just before the counted pass: what the job's runs during the warm-up left (nothing, as a rule).
const presignedLate = await drainPresigning();
process.stdout.write(`  OCSP pre-signing brought up to date: ${presigned} responses signed before the warm-up rounds, ${presignedLate} before the cold pass\n`);
// The counted pass must be cold: none of its signers' certificates, keys, signatures or chain links in the validator's caches.
const probes = samples.map((s, i) => ({ certSha256: certShas[WARMUP + i], spki: spkis[WARMUP + i], signature: s.sig, issuerSha256: issuingSha }));
const warmBefore = probes.map(coldCacheProbe).filter((held) => held.length);
if (warmBefore.length) throw new Error(`${warmBefore.length} counted signers are in the validator's caches before the cold pass (${warmBefore[0].join(', ')})`);
// Cold: the first validation of every counted signature (certificate, parse, key, chain link unseen; code compiled).
const backend0 = await backendTicks();
// Every statement the process sends during the cold pass, by its first words: what the validator
// asks of the registry, and any background work of the service that falls into the pass.
const coldStatements = new Map<string, number>();
const tally = (q: { sql?: string }) => {
  const words = (q.sql ?? '').replace(/\s+/g, ' ').trim().slice(0, 48);
  coldStatements.set(words, (coldStatements.get(words) ?? 0) + 1);
};
service.db.knex.on('query', tally);
// Read before the pass's clocks start: a reading walks V8's heap (about 40 ms).
const coldCodeBefore = compiledCode();
const coldThreads0 = threadTicks();
t0 = process.hrtime.bigint();
const coldCpu = process.cpuUsage();
await profiled('cold', async () => {
  for (const s of samples) await validator.validateSignature({ signature: s.sig, document: s.data });
});
const coldProcessSeconds = cpuSeconds(coldCpu);
const coldWallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const coldThreads = threadSplit(coldThreads0);
// What V8 compiled during the counted pass (a few KB: the code was compiled before it), read after the clocks.
const coldCompiledBytes = compiledCode() - coldCodeBefore;
service.db.knex.off('query', tally);
const statementCount = [...coldStatements.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`  the cold pass's CPU by thread: main ${coldThreads.main} ms, V8's others (compiler, collector) ${coldThreads.others} ms; optimised code added during it: ${(coldCompiledBytes / 1024).toFixed(1)} KB\n`);
process.stdout.write(`  statements during the cold pass: ${statementCount}${statementCount ? ` (${[...coldStatements].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([sql, n]) => `${n}× ${sql}`).join('; ')})` : ''}\n`);
const cold: Rate = { wall: samples.length / coldWallSeconds, perCore: samples.length / coldProcessSeconds };
// And the probe sees them now (it can tell): certificate, key and chain link of every counted signer held after the pass.
const unseen = probes.filter((p) => !['certificate', 'key', 'chain link'].every((c) => coldCacheProbe(p).includes(c as 'certificate')));
if (unseen.length) throw new Error(`the cache probe does not see ${unseen.length} counted signers after the cold pass: it cannot tell a cold pass`);
const backend1 = await backendTicks();
const backendUsed = backendSeconds(backend0, backend1);
// The database server's CPU during the cold pass (PostgreSQL only; null on the embedded database, which is in the process).
const coldDatabaseCpu = backendUsed !== null ? { seconds: backendUsed, perCoreWithServer: samples.length / (coldProcessSeconds + backendUsed) } : null;
process.stdout.write(`  CMS validations, cold (new signers)     ${show(cold)}${coldDatabaseCpu ? `; PostgreSQL backends ${coldDatabaseCpu.seconds.toFixed(2)} CPU-s, ${coldDatabaseCpu.perCoreWithServer.toFixed(0)}/s per CPU-second counting them` : ''}\n`);
const sequential = await profiled('warm', () => timed(async () => {
  const s = samples[k++ % samples.length];
  await validator.validateSignature({ signature: s.sig, document: s.data });
  return 1;
}));
process.stdout.write(`  CMS validations, warm, sequential      ${show(sequential)}\n`);
const concurrent = await timed(async () => {
  await Promise.all(Array.from({ length: 8 }, () => {
    const s = samples[k++ % samples.length];
    return validator.validateSignature({ signature: s.sig, document: s.data });
  }));
  return 8;
});
process.stdout.write(`  CMS validations, warm, 8 in flight     ${show(concurrent)}\n`);
// Over HTTP: wrk in its own process, 8 connections, a Lua script rotating through the signatures.
const server = createServer(service.handler);
const base = await new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
const { secret } = await service.clients.add('bench', { clientId: 'bench-validate', name: 'bench-validate', grantTypes: ['client_credentials'], authMethod: 'client_secret_basic', scopes: ['signatures:validate'] });
const tokenRes = await fetch(`${base}/oidc/token`, {
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from(`bench-validate:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'signatures:validate' }),
});
const token = ((await tokenRes.json()) as { access_token?: string }).access_token;
if (!token) throw new Error(`no access token (HTTP ${tokenRes.status})`);
const lua = join(dir, 'validate.lua');
writeFileSync(
  lua,
  `local bodies = {${samples.map((x) => `[[${JSON.stringify({ signature: x.sig.toString('base64'), document: x.data.toString('base64') })}]]`).join(',\n')}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${token}"
request = function() i = i % #bodies + 1; return wrk.format(nil, nil, nil, bodies[i]) end
`,
);
const runWrk = (url: string) => new Promise<string>((resolve, reject) => {
  const child = spawn('wrk', ['-t1', '-c8', `-d${SECONDS}s`, '-s', lua, url]);
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text += c.toString()));
  child.on('error', reject);
  child.on('close', () => resolve(text));
});
const wrkOut = await profiled('http', () => runWrk(`${base}/api/v1/signatures/validate`));
const http = Number(/Requests\/sec:\s+([\d.]+)/.exec(wrkOut)?.[1] ?? 0);
const httpErrors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(wrkOut)?.[1] ?? 0);
if (!http || httpErrors) process.stdout.write(`  wrk printed:\n${wrkOut}\n`);
await new Promise((resolve) => server.close(resolve));
process.stdout.write(`  CMS validations/s over HTTP (wrk -c8)   ${http.toFixed(0)}${httpErrors ? ` (${httpErrors} non-2xx)` : ''}\n`);
// The HTTP reference: a bare Node server that reads each request body and answers with a stored
// report of the same kind (the ceiling of any Node service for this exchange), same wrk load.
const cannedReport = JSON.stringify(await validator.validateSignature({ signature: samples[0].sig, document: samples[0].data }));
const bare = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(cannedReport));
});
const bareBase = await new Promise<string>((resolve) => bare.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(bare.address() as AddressInfo).port}`)));
const bareHttp = Number(/Requests\/sec:\s+([\d.]+)/.exec(await runWrk(`${bareBase}/`))?.[1] ?? 0);
await new Promise((resolve) => bare.close(resolve));
process.stdout.write(`  bare Node HTTP server, same requests     ${bareHttp.toFixed(0)}/s (a stored report of ${cannedReport.length} bytes)\n`);

const raw = await timed(async () => {
  for (let j = 0; j < 50; j++) {
    const { raw: r } = samples[k++ % samples.length];
    if (!verify('sha256', r.signed, r.rsa ? { key: r.key, padding: constants.RSA_PKCS1_PADDING } : { key: r.key, dsaEncoding: 'der' }, r.value)) throw new Error('raw verify failed');
  }
  return 50;
});
process.stdout.write(`  raw crypto.verify (same signatures)    ${show(raw)}\n`);

// A PDF with 5 signatures: PAdES (openssl -cades) first, then four pdfsig signatures.
const nssRsa = nssDatabase(rsa, 'rsa', { root, issuing });
let pdf = cadesPdf(minimalPdf(), ec, 'sig1');
for (let i = 2; i <= 5; i++) pdf = pdfsigSign(pdf, nssRsa, 'rsa', `sig${i}`);
const times: number[] = [];
for (let i = 0; i < 20; i++) {
  const start = process.hrtime.bigint();
  const report = await validator.validateSignature({ kind: 'pdf', document: pdf });
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (report.summary.total !== 5 || report.summary.passed !== 5) throw new Error(`the 5-signature PDF does not validate: ${JSON.stringify(report.summary)}`);
}
times.sort((a, b) => a - b);
const pdfMs = { median: times[Math.floor(times.length / 2)], max: times[times.length - 1], bytes: pdf.length };
process.stdout.write(`  PDF with 5 signatures (${(pdf.length / 1e6).toFixed(1)} MB)       median ${pdfMs.median.toFixed(1)} ms, max ${pdfMs.max.toFixed(1)} ms\n`);

const xml = await benchXml({ validator, rsa, ec, root, issuing, dir, seconds: SECONDS });
process.stdout.write(`  XML e-invoice validations/s            ${xml.validationsPerSecond.toFixed(0)} (xmlsec1 --verify ${xml.xmlsecVerifiesPerSecond.toFixed(0)}/s)\n`);

const date = new Date().toISOString().slice(0, 10);
const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, openssl: sh('openssl', ['version']).trim(), database: process.env.DATABASE_URL ? 'postgresql' : 'embedded (PGlite)' };
const ratio = (r: Rate) => r.perCore / raw.perCore;
const ratios = { coldVsRawVerify: ratio(cold), firstOfProcessVsRawVerify: ratio(first), coldWithServerVsRawVerify: coldDatabaseCpu ? coldDatabaseCpu.perCoreWithServer / raw.perCore : null, sequentialVsRawVerify: ratio(sequential), concurrentVsRawVerify: ratio(concurrent), httpVsRawVerify: http / raw.wall, httpVsBareNode: http / bareHttp };
const rawRef = `raw crypto.verify of the same signatures in this process: ${raw.perCore.toFixed(0)}/s per CPU-second`;
const cmsRow = (measure: string, r: Rate) => ({
  measure,
  result: `${r.perCore.toFixed(0)}/s per core (CPU-second), ${r.wall.toFixed(0)}/s wall`,
  reference: rawRef,
  ratio: `${ratio(r).toFixed(3)}×`,
  aim: '≥ 1,000/s per core and ≥ 0.10× raw crypto.verify',
  met: r.perCore >= 1000 && ratio(r) >= 0.1,
});
const summary = [
  cmsRow(`CMS validation, cold: each of ${SIGNATURES} new signers (our CA) and documents validated once, caches cold (checked), after the code's warm-up: ${rounds} rounds over ${WARMUP} other signers, caches emptied before each, ${warmedUp.compiled ? `until ${warmedUp.quietRounds} rounds in a row added under ${warmedUp.quietCodeBytes / 1024} KB of optimised code` : `the optimised code still growing at the limit`}${coldDatabaseCpu ? ` (PostgreSQL's backends used ${coldDatabaseCpu.seconds.toFixed(2)} CPU-s besides: ${coldDatabaseCpu.perCoreWithServer.toFixed(0)}/s per CPU-second counting them, ${ratios.coldWithServerVsRawVerify!.toFixed(3)}×)` : ''}`, cold),
  { ...cmsRow(`CMS validation, the first ${WARMUP - 4} of the process (after 4 sanity checks): each signer new, the validator's code not yet compiled (JIT warm-up included; the cold row until 2026-12-06)`, first), aim: 'reported (no aim)', met: null },
  cmsRow(`CMS validation, warm, sequential, ${SIGNATURES} signers and documents`, sequential),
  cmsRow(`CMS validation, warm, 8 in flight, ${SIGNATURES} signers and documents`, concurrent),
  { measure: 'CMS validation over HTTP (POST /api/v1/signatures/validate, bearer token, JSON), wrk -c8 in its own process', result: `${http.toFixed(0)}/s${httpErrors ? ` (${httpErrors} errors)` : ''}`, reference: `bare Node HTTP server, same wrk load, a stored report: ${bareHttp.toFixed(0)}/s`, ratio: `${ratios.httpVsBareNode.toFixed(3)}× (${ratios.httpVsRawVerify.toFixed(3)}× raw crypto.verify)`, aim: 'reported (no aim in issue 20)', met: null },
  { measure: `PDF with 5 signatures (${(pdf.length / 1e6).toFixed(1)} MB), whole validation, median of ${times.length}`, result: `${pdfMs.median.toFixed(1)} ms (max ${pdfMs.max.toFixed(1)} ms)`, reference: 'target 200 ms', ratio: `${(pdfMs.median / 200).toFixed(2)}× the target`, aim: '< 200 ms median', met: pdfMs.median < 200 },
];
const md = [
  `Validation benchmark ${date}: ${machine.cpus} × ${machine.cpu}, Node ${machine.node}, ${machine.openssl}, ${machine.database}; in process, ${SECONDS} s per row, ${SIGNATURES} distinct signers and documents counted, ${WARMUP} others for the code's warm-up (1 in 10 RSA-2048, the rest ECDSA P-256). "Per core": validations per second of this process's CPU time (user + system; the embedded database runs in it, PostgreSQL does not). The machine is shared: only the ratios carry over.`,
  '',
  '| Measure | Result | Reference | Ratio | Aim | Met |',
  '|---|---|---|---|---|---|',
  ...summary.map((r) => `| ${r.measure} | ${r.result} | ${r.reference} | ${r.ratio} | ${r.aim} | ${r.met === null ? '—' : r.met ? 'yes' : 'no'} |`),
  `| XML e-invoice validations/s (${xml.files} files of ${(xml.bytes / 1e3).toFixed(1)} kB, xmlsec1-signed) | ${xml.validationsPerSecond.toFixed(0)} | xmlsec1 --verify of the same files (signature and chain, no revocation; ${xml.files} per process): ${xml.xmlsecVerifiesPerSecond.toFixed(0)}/s | ${(xml.validationsPerSecond / xml.xmlsecVerifiesPerSecond).toFixed(3)}× | reported | — |`,
].join('\n');
// From the repository's root: this file runs compiled from dist/bench/ (bench/hosted-run.ts).
const resultsDir = new URL('bench/results/', repoRootUrl);
// BENCH_VALIDATE_NAME=<suffix>: results under validate-<date>-<suffix> (runs on two databases side by side).
const stem = `validate-${date}${process.env.BENCH_VALIDATE_NAME ? `-${process.env.BENCH_VALIDATE_NAME}` : ''}`;
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL(`${stem}.json`, resultsDir), JSON.stringify({ date, machine, seconds: SECONDS, signatures: SIGNATURES, warmupSignatures: WARMUP, summary, firstOfProcess: first, warmup: { ...warmedUp, rounds }, cold, coldCompiledBytes, coldThreads, coldDatabaseCpu, sequential, concurrent, http, httpErrors, bareHttp, rawVerify: raw, ratios, pdf5: pdfMs, xml }, null, 2) + '\n');
writeFileSync(new URL(`${stem}.md`, resultsDir), md + '\n');
process.stdout.write(`\n${md}\n`);
await service.close();
await scratch?.drop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
