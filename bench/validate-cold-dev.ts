/**
 * Development harness for the cold CMS validation row (not part of `npm run bench`):
 *   FIX=<dir> [DATABASE_URL=…] N=400 node --import tsx bench/hosted-run.ts bench/validate-cold-dev.ts setup
 *   FIX=<dir> [DATABASE_URL=…] [PROFILE=<file> [PROFILE_INTERVAL=<µs>]] node --import tsx bench/hosted-run.ts bench/validate-cold-dev.ts run
 * `setup` issues N signers and signatures once into a persistent data directory (and database);
 * `run` opens it in a fresh process (every cache empty), validates each signature once, and
 * compares with raw crypto.verify of the same signatures in the same process.
 * WARMUP=<w> (default 0): the first w signers (after the 4 sanity checks) are validated first,
 * uncounted, so the validator's code is compiled before the counted pass; the counted pass is over
 * the others, never seen before, and its two halves are reported apart (JIT warm-up shows as a
 * first half dearer than the second). SETTLE=1: the registry index's first read is awaited after
 * the sanity checks (else it runs in the background into the first pass). IDLE=<ms>: a wait after the
 * service's start, before the first validation (its start-up work in the background done first).
 * WARMUP_ROUNDS=compiled: rounds until V8 stops compiling, as bench/validate.ts does. MARK=1 prints
 * markers around the counted pass (to cut a `--trace-opt --trace-deopt` log). The counted pass's
 * CPU is printed by thread (main, and V8's others: compiler and collector), and PROFILE covers it alone.
 */
import 'reflect-metadata';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';
import { clearCaches } from '../ca/cache-registry.js';
import { VALIDATOR_SIGNER_CACHES } from '../src/validation/cache-probe.js';
import { officialHolder } from '../test/support/ca-helpers.js';
import { databaseBackendTicks } from './support/backend-ticks.js';
import { compiledCode, warmUntilCompiled } from './support/compiled-warmup.js';
import { threadSplit, threadTicks } from './support/thread-ticks.js';

const FIX = process.env.FIX!;
const mode = process.argv[2];
const N = Number(process.env.N ?? 400);
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
mkdirSync(join(FIX, 'data'), { recursive: true });
const config = loadConfig({ env: { DATA_DIR: join(FIX, 'data'), LOG_LEVEL: 'warn', VALIDATION_FETCH: 'false', ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-validate-passphrase', initialise: mode === 'setup', devCa: true, purpose: 'bench', keyKdfIterations: 10_000 });

if (mode === 'setup') {
  for (let i = 0; i < N; i++) {
    const isRsa = i % 10 === 0;
    const keyPath = join(FIX, `k${i}.key`);
    sh('openssl', isRsa ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath] : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
    const csr = sh('openssl', ['req', '-new', '-key', keyPath, '-subj', '/CN=token']);
    const submitted = await service.certificates.ra.submit('bench:requester', { csr, profileId: 'official-signing', holder: officialHolder(`0941${String(85_100_000 + i).padStart(8, '0')}`, `Bench s${i}`) });
    const approved = await service.certificates.ra.approve('bench:officer', submitted.request.id);
    const record = await service.certificates.ca.certificate(approved.issued!.serial, approved.issued!.issuerId);
    writeFileSync(join(FIX, `c${i}.pem`), service.certificates.pem(record));
    writeFileSync(join(FIX, `d${i}.bin`), Buffer.from(`Văn bản số ${i}/UBND\n`.repeat(100)));
    sh('openssl', ['cms', '-sign', '-binary', '-in', join(FIX, `d${i}.bin`), '-signer', join(FIX, `c${i}.pem`), '-inkey', keyPath, '-outform', 'DER', '-out', join(FIX, `s${i}.der`), '-md', 'sha256']);
  }
  writeFileSync(join(FIX, 'n'), String(N));
  await service.close();
  process.exit(0);
}

const n = Number(readFileSync(join(FIX, 'n'), 'utf8'));
const samples: Array<{ sig: Buffer; data: Buffer; raw: { signed: Uint8Array; value: Uint8Array; key: ReturnType<typeof createPublicKey>; rsa: boolean } }> = [];
for (let i = 0; i < n; i++) {
  const sig = readFileSync(join(FIX, `s${i}.der`));
  const info = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(sig).result }).content }).signerInfos[0];
  samples.push({ sig, data: readFileSync(join(FIX, `d${i}.bin`)), raw: { signed: new Uint8Array(info.signedAttrs!.encodedValue), value: info.signature.valueBlock.valueHexView, key: createPublicKey(readFileSync(join(FIX, `c${i}.pem`))), rsa: i % 10 === 0 } });
}
const validator = service.validation.validator;
// IDLE=<ms>: wait before the first validation, so the service's start-up work in the background (the
// OCSP responder's first sweep and its reading of the pre-signed responses: `DEBUG=knex:query`) is
// over before the passes; else it falls into them (seen: a sixth of a profiled counted pass in PGlite).
if (process.env.IDLE) await new Promise((resolve) => setTimeout(resolve, Number(process.env.IDLE)));
for (const s of samples.slice(0, 4)) {
  const r = await validator.validateSignature({ signature: s.sig, document: s.data });
  if (r.indication !== 'TOTAL_PASSED') throw new Error(`sample does not validate: ${JSON.stringify(r.signatures[0]?.errors)}`);
}
// PostgreSQL backends' CPU for the database named in DATABASE_URL (none on the embedded database).
const backendTicks = async () => (process.env.DATABASE_URL ? await databaseBackendTicks(process.env.DATABASE_URL) : null) ?? new Map<number, number>();
const inspector = process.env.PROFILE ? new Session() : null;
inspector?.connect();
const post = (method: string) => new Promise<unknown>((resolve, reject) => inspector!.post(method, {}, (err, result) => (err ? reject(err) : resolve(result))));
const WARMUP = Number(process.env.WARMUP ?? 0);
const pass = async (list: typeof samples) => {
  const c0 = process.cpuUsage();
  for (const s of list) {
    const r = await validator.validateSignature({ signature: s.sig, document: s.data });
    if (r.indication !== 'TOTAL_PASSED') throw new Error('cold sample does not validate');
  }
  const u = process.cpuUsage(c0);
  return list.length / ((u.user + u.system) / 1e6);
};
// SETTLE=1: the registry index's first read (started by the first validation, in this process on the
// embedded database) is awaited after the sanity checks, so that the passes after it do not count it.
if (process.env.SETTLE === '1') await service.validation.registryIndex?.settled();
const warmupRate = WARMUP ? await pass(samples.slice(4, 4 + WARMUP)) : null;
// WARMUP_ROUNDS=<r>: the warm-up signers validated r times, the validator's per-signer caches emptied before each round
// (each round cold again, so the cold path's code is run r × WARMUP times before the counted pass).
if (process.env.WARMUP_ROUNDS === 'compiled') {
  // As bench/validate.ts: rounds until V8 stops compiling (bench/support/compiled-warmup.ts).
  const w = await warmUntilCompiled(async () => {
    clearCaches(VALIDATOR_SIGNER_CACHES);
    await pass(samples.slice(4, 4 + WARMUP));
  });
  process.stdout.write(`warm-up: ${w.rounds + 1} rounds, ${w.compiled ? 'compiled' : 'still compiling'}\n`);
} else {
  for (let r = 1; r < Number(process.env.WARMUP_ROUNDS ?? 1); r++) {
    clearCaches(VALIDATOR_SIGNER_CACHES);
    await pass(samples.slice(4, 4 + WARMUP));
  }
}
// After the warm-up, the read is awaited in any case (as bench/validate.ts does): a running service holds its registry already.
if (WARMUP) await service.validation.registryIndex?.settled();
const ticks0 = await backendTicks();
// Read before the pass's clocks and the profile start: a reading walks V8's heap (about 40 ms).
const tt0 = threadTicks();
const code0 = compiledCode();
if (inspector) {
  await post('Profiler.enable');
  // PROFILE_INTERVAL (µs): a finer sampling than the default millisecond for short passes.
  if (process.env.PROFILE_INTERVAL) await new Promise<void>((resolve, reject) => inspector.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROFILE_INTERVAL) }, (err) => (err ? reject(err) : resolve())));
  await post('Profiler.start');
}
const counted = samples.slice(4 + WARMUP);
if (process.env.MARK) process.stdout.write('<<COUNTED-START>>\n');
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const half = Math.floor(counted.length / 2);
const firstHalf = await pass(counted.slice(0, half));
const secondHalf = await pass(counted.slice(half));
const used = process.cpuUsage(cpu0);
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
if (process.env.MARK) process.stdout.write('<<COUNTED-END>>\n');
const threadMs = threadSplit(tt0);
process.stdout.write(`counted pass, CPU by thread: main ${threadMs.main} ms, V8's other threads ${threadMs.others} ms; optimised code added ${((compiledCode() - code0) / 1024).toFixed(1)} KB\n`);
if (inspector) {
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
}
const ticks1 = await backendTicks();
const cold = counted.length / ((used.user + used.system) / 1e6);
// Per backend: one that appeared since counts whole.
const pgSeconds = [...ticks1].reduce((sum, [pid, t]) => sum + t - (ticks0.get(pid) ?? 0), 0) / 100;
const start = process.hrtime.bigint();
const rcpu = process.cpuUsage();
let k = 0;
while (Number(process.hrtime.bigint() - start) / 1e9 < 2) {
  for (let j = 0; j < 50; j++) {
    const { raw: r } = samples[k++ % samples.length];
    if (!verify('sha256', r.signed, r.rsa ? { key: r.key, padding: constants.RSA_PKCS1_PADDING } : { key: r.key, dsaEncoding: 'der' }, r.value)) throw new Error('raw verify failed');
  }
}
const ru = process.cpuUsage(rcpu);
const raw = k / ((ru.user + ru.system) / 1e6);
const withPg = counted.length / ((used.user + used.system) / 1e6 + pgSeconds);
process.stdout.write(`${process.env.DATABASE_URL ? 'postgresql' : 'embedded'} cold ${counted.length} (after ${WARMUP} warm-up): ${cold.toFixed(0)}/s per CPU-second (${(counted.length / wall).toFixed(0)}/s wall), raw ${raw.toFixed(0)}/s, ratio ${(cold / raw).toFixed(3)}; halves ${firstHalf.toFixed(0)}/s then ${secondHalf.toFixed(0)}/s (${(firstHalf / raw).toFixed(3)}, ${(secondHalf / raw).toFixed(3)})${warmupRate !== null ? `; warm-up pass ${warmupRate.toFixed(0)}/s (${(warmupRate / raw).toFixed(3)})` : ''}; PostgreSQL backends ${pgSeconds.toFixed(2)} CPU-s, with them ${withPg.toFixed(0)}/s (${(withPg / raw).toFixed(3)})\n`);
await service.close();
process.exit(0);
