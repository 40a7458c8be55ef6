/**
 * `npm run soak`: mixed traffic against a running service process for a bounded time, with zero
 * errors and bounded memory growth required (exit 1 otherwise).
 *
 * The service (bench/support/service-process.ts, the whole service as `tinnhiem serve` runs it)
 * is its own process; this one drives it over loopback HTTP with SOAK_WORKERS (8) closed-loop
 * workers, each picking at random, by weight: OCSP POST and GET (RFC 6960 / RFC 5019 forms) for
 * 20 certificates issued before the mix (never revoked: they must stay good), client-credentials
 * and refresh grants, CMS signature validation (expects TOTAL_PASSED), issuance from a fresh CSR
 * (its OCSP answer must say good at once), and revocation of a certificate issued during the soak
 * (its OCSP answer must say revoked at once; revoked ones are asked about again later). Any
 * unexpected status or content is an error.
 *
 * Memory: after a warm-up (the first fifth of the run, at least 10 s), the soak sends the service
 * (started with --expose-gc) SIGUSR2 every twelfth of the rest of the run; it runs a full collection
 * and prints its V8 heap and external memory, then empties its bounded caches (ca/cache-registry.ts:
 * OCSP responses, the registry index, the issuance memos…), collects again and prints what is live
 * outside them, with each cache's entries. The lowest of the cache-free probes in the last third
 * must stay within SOAK_LIVE_GROWTH_PERCENT (10 %) of the lowest in the first third: a leak raises
 * what is live outside the caches, while the caches fill with every issuance for as long as the run
 * lasts (their bounds are 2,048 to 100,000 entries) and are no leak (docs/performance.md, "Soak").
 * The growth per operation completed between the two floors is reported beside it. The RSS,
 * sampled every second, is a coarse backstop: the median of the last tenth ≤ the median of the
 * first 10 s after the warm-up × (1 + SOAK_RSS_GROWTH_PERCENT/100, default 25 %).
 *
 * Duration: SOAK_SECONDS, else `--seconds N`, else 60 s when CI=true, else 600 s. On
 * BENCH_DATABASE_URL (a scratch database) or the embedded database. Writes
 * bench/results/soak-<date>.json and .md (soak-<date>-<N>s.* for a run shorter than 600 s).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certIdDer, requestDer } from '../test/unit/ca/ocsp/request-builder.js';
import { csrFor } from '../src/dev/seed-registry.js';
import { checkOcspResponse } from '../ca/status/ocsp/client.js';
import { expectOk, machine, median, percentile, round, rssMiB, scratchDatabase, startServiceProcess } from './support/bench-kit.js';

const arg = process.argv.indexOf('--seconds');
const SECONDS = Number(process.env.SOAK_SECONDS ?? (arg > 0 ? process.argv[arg + 1] : process.env.CI === 'true' ? 60 : 600));
const WORKERS = Number(process.env.SOAK_WORKERS ?? 8);
const GROWTH = Number(process.env.SOAK_RSS_GROWTH_PERCENT ?? 25);
const LIVE_GROWTH = Number(process.env.SOAK_LIVE_GROWTH_PERCENT ?? 10);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
if (!(SECONDS >= 20)) throw new Error('SOAK_SECONDS: at least 20');

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-soak-'));
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'soak') : undefined;
const svc = await startServiceProcess(scratch ? { DATABASE_URL: scratch.url } : {}, undefined, ['--expose-gc']);
/** What the service holds after a forced full collection (its SIGUSR2 probe): no garbage in it. */
const probes: Array<{ t: number; heapMiB: number; externalMiB: number; liveMiB: number; uncachedMiB: number; cachesMiB: number; operations: number; caches: Record<string, number> }> = [];
let probeBuffer = '';
svc.child.stdout!.on('data', (c: Buffer) => {
  const lines = (probeBuffer + c.toString()).split('\n');
  probeBuffer = lines.pop()!;
  for (const line of lines) {
    if (!line.startsWith('BENCH-HEAP ')) continue;
    const m = JSON.parse(line.slice('BENCH-HEAP '.length)) as { heapUsed: number; external: number; uncachedHeapUsed: number; uncachedExternal: number; caches: Record<string, number> };
    const mib = (n: number) => round(n / 2 ** 20, 1);
    const live = m.heapUsed + m.external;
    const uncached = m.uncachedHeapUsed + m.uncachedExternal;
    probes.push({ t: round((Date.now() - t0) / 1000, 1), heapMiB: mib(m.heapUsed), externalMiB: mib(m.external), liveMiB: mib(live), uncachedMiB: mib(uncached), cachesMiB: mib(live - uncached), operations: completed(), caches: m.caches });
  }
});
const r = svc.ready;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function token(auth: string, body: Record<string, string>): Promise<Record<string, string>> {
  const res = await expectOk(await fetch(`${r.url}/oidc/token`, { method: 'POST', headers: { authorization: auth, ...form }, body: new URLSearchParams(body) }), `token (${body.grant_type})`);
  return (await res.json()) as Record<string, string>;
}
const machineAuth = basic(r.machine.clientId, r.machine.secret);
const portalAuth = basic(r.portal.clientId, r.portal.secret);
const officerAuth = basic(r.officer.clientId, r.officer.secret);

/** A fresh API token every few minutes (they expire). */
let apiToken = '';
let apiTokenAt = 0;
async function api(): Promise<string> {
  if (Date.now() - apiTokenAt > 120_000) {
    apiToken = (await token(machineAuth, { grant_type: 'client_credentials', scope: 'certs:read certs:request certs:revoke signatures:validate' })).access_token;
    apiTokenAt = Date.now();
  }
  return apiToken;
}

const issuerDer = Buffer.from(r.issuerDer, 'base64');
interface Issued {
  serial: string;
  der: Uint8Array;
  post: Buffer;
  get: string;
}
/** Never revoked: the OCSP rows ask about these and expect `good`. */
const stable: Issued[] = [];
/** Issued during the soak; revocation takes from these (no other worker expects them good). */
const fresh: Issued[] = [];
const revoked: Issued[] = [];

async function issue(): Promise<Issued> {
  const host = `soak-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.soctrang.gov.vn`;
  const res = await expectOk(
    await fetch(`${r.url}/api/v1/certificate-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await api()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: await csrFor(false), profile: 'tls-server', subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] }),
    }),
    'issuance',
  );
  const serial = ((await res.json()) as { certificate?: { serial?: string } }).certificate?.serial;
  if (!serial) throw new Error('issuance: no certificate in the answer');
  const der = new Uint8Array(await (await expectOk(await fetch(`${r.url}/api/v1/certificates/${serial}.der`, { headers: { authorization: `Bearer ${await api()}` } }), 'certificate download')).arrayBuffer());
  // The registry keeps the magnitude; a CertID carries the INTEGER content octets (a leading 00 when the high bit is set).
  const post = requestDer({ certIds: [certIdDer({ issuerDer, serial: `00${serial}`.replace(/^00(?=[0-7])/, "") })] });
  return { serial, der, post, get: encodeURIComponent(post.toString('base64')) };
}

async function ocsp(cert: Issued, method: 'GET' | 'POST', expected: 'good' | 'revoked'): Promise<void> {
  const res = await expectOk(
    method === 'POST'
      ? await fetch(`${r.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: cert.post as BodyInit })
      : await fetch(`${r.url}/ocsp/${cert.get}`),
    `OCSP ${method}`,
  );
  // The whole answer checked as a relying party does: signature, responder, CertID, freshness.
  const outcome = checkOcspResponse(new Uint8Array(await res.arrayBuffer()), cert.der, issuerDer, new Date());
  if (outcome.status !== expected) throw new Error(`OCSP ${method}: ${cert.serial} is ${outcome.status}${outcome.status === 'invalid' ? ` (${outcome.problem})` : ''}, expected ${expected}`);
}

// ── preparation: certificates, a signer, refresh tokens ────────────────────────────────────
for (let i = 0; i < 20; i++) stable.push(await issue());
// A signer certificate of our own CA (official profile: one approval by another officer).
const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
sh('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'signer.key');
const signerCsr = sh('req', '-new', '-key', 'signer.key', '-subj', '/CN=token').toString();
const submitted = (await (
  await expectOk(
    await fetch(`${r.url}/api/v1/certificate-requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await api()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: signerCsr, profile: 'official-signing', subject: { C: 'VN', L: 'Sóc Trăng', O: 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', OU: ['Văn phòng'], CN: 'Nguyễn Văn Kiểm Thử', UID: ['CCCD:094185000777'] }, emails: ['kiemthu@soctrang.gov.vn'] }),
    }),
    'signer request',
  )
).json()) as { request: { id: string } };
const officerToken = (await token(officerAuth, { grant_type: 'client_credentials', scope: 'certs:approve certs:read' })).access_token;
const approved = (await (await expectOk(await fetch(`${r.url}/api/v1/certificate-requests/${submitted.request.id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${officerToken}` } }), 'approval')).json()) as { certificate: { serial: string } };
const pem = await (await expectOk(await fetch(`${r.url}/api/v1/certificates/${approved.certificate.serial}.pem`, { headers: { authorization: `Bearer ${await api()}` } }), 'signer certificate')).text();
writeFileSync(join(dir, 'signer.pem'), pem);
const signatures: Array<{ signature: string; document: string }> = [];
for (let i = 0; i < 10; i++) {
  writeFileSync(join(dir, `doc${i}.txt`), `Quyết định số ${i}/QĐ-UBND về việc kiểm thử tải.\n`.repeat(40));
  sh('cms', '-sign', '-binary', '-in', `doc${i}.txt`, '-signer', 'signer.pem', '-inkey', 'signer.key', '-outform', 'DER', '-out', `sig${i}.der`, '-md', 'sha256');
  signatures.push({ signature: readFileSync(join(dir, `sig${i}.der`)).toString('base64'), document: readFileSync(join(dir, `doc${i}.txt`)).toString('base64') });
}
// One login per worker gives it a refresh token (rotated at every refresh).
const { Browser, codeLogin } = await import('../test/support/oidc-rp.js');
const client = await import('openid-client');
const config = await client.discovery(new URL(`${r.url}/oidc`), r.portal.clientId, {}, client.ClientSecretBasic(r.portal.secret), { execute: [client.allowInsecureRequests] });
const refreshTokens: string[] = [];
for (let w = 0; w < WORKERS; w++) refreshTokens.push((await codeLogin(config, new Browser(), r.portal.redirectUri, r.official, { prompt: 'consent' })).tokens.refresh_token!);

// ── the mix ─────────────────────────────────────────────────────────────────────────────────
type Op = (worker: number) => Promise<void>;
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
const ops: Array<{ name: string; weight: number; run: Op }> = [
  { name: 'OCSP POST', weight: 30, run: () => ocsp(pick(stable), 'POST', 'good') },
  { name: 'OCSP GET', weight: 20, run: () => ocsp(pick(stable), 'GET', 'good') },
  { name: 'OCSP revoked', weight: 5, run: () => (revoked.length ? ocsp(pick(revoked), pick(['GET', 'POST'] as const), 'revoked') : ocsp(pick(stable), 'POST', 'good')) },
  { name: 'client credentials', weight: 12, run: async () => void (await token(machineAuth, { grant_type: 'client_credentials', scope: 'certs:read' })) },
  {
    name: 'refresh',
    weight: 10,
    run: async (w) => {
      const t = await token(portalAuth, { grant_type: 'refresh_token', refresh_token: refreshTokens[w] });
      if (!t.refresh_token) throw new Error('refresh: no new refresh token');
      refreshTokens[w] = t.refresh_token;
    },
  },
  {
    name: 'signature validation',
    weight: 10,
    run: async () => {
      const res = await expectOk(await fetch(`${r.url}/api/v1/signatures/validate`, { method: 'POST', headers: { authorization: `Bearer ${await api()}`, 'content-type': 'application/json' }, body: JSON.stringify(pick(signatures)) }), 'validation');
      const report = (await res.json()) as { indication?: string };
      if (report.indication !== 'TOTAL_PASSED') throw new Error(`validation: ${report.indication}`);
    },
  },
  {
    name: 'issuance',
    weight: 8,
    run: async () => {
      // A new certificate is good at once (answered from the registry, signed on demand).
      const cert = await issue();
      await ocsp(cert, 'POST', 'good');
      fresh.push(cert);
    },
  },
  {
    name: 'revocation',
    weight: 5,
    run: async () => {
      // One issued during the soak, taken out of the list first so no other worker picks it.
      const cert = fresh.length ? fresh.splice(Math.floor(Math.random() * fresh.length), 1)[0] : await issue();
      await expectOk(await fetch(`${r.url}/api/v1/certificates/${cert.serial}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${await api()}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'keyCompromise' }) }), 'revocation');
      // The answer must say revoked at once (the responder re-signs before the call returns).
      await ocsp(cert, 'POST', 'revoked');
      revoked.push(cert);
    },
  },
];
const totalWeight = ops.reduce((a, o) => a + o.weight, 0);
const choose = () => {
  let x = Math.random() * totalWeight;
  for (const o of ops) if ((x -= o.weight) < 0) return o;
  return ops[0];
};

/** Operations completed so far (each probe records it: growth per operation). */
const completed = () => [...stats.values()].reduce((a, x) => a + x.count, 0);
const stats = new Map(ops.map((o) => [o.name, { count: 0, errors: 0, latencies: [] as number[] }]));
const errors: Array<{ at: number; op: string; message: string }> = [];
const samples: Array<{ t: number; rssMiB: number }> = [];
const t0 = Date.now();
const sampler = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, rssMiB: rssMiB(r.pid) }), 1000);
// A probe every twelfth of the time after the warm-up (at least 5 s apart): each is one full
// collection, a pause of a few hundred milliseconds at most.
const warmup = Math.max(10, SECONDS / 5);
const probeEvery = Math.max(5, (SECONDS - warmup) / 12) * 1000;
let prober: NodeJS.Timeout | undefined;
const startProbes = setTimeout(() => {
  svc.child.kill('SIGUSR2');
  prober = setInterval(() => svc.child.kill('SIGUSR2'), probeEvery);
}, warmup * 1000);
const end = t0 + SECONDS * 1000;
let lastPrint = t0;
process.stdout.write(`soak: ${SECONDS} s, ${WORKERS} workers, service process ${r.pid} (${(await machine(scratch?.url)).database})\n`);
await Promise.all(
  Array.from({ length: WORKERS }, async (_, w) => {
    while (Date.now() < end) {
      const op = choose();
      const s = stats.get(op.name)!;
      const started = process.hrtime.bigint();
      try {
        await op.run(w);
        s.count++;
        s.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      } catch (err) {
        s.errors++;
        errors.push({ at: round((Date.now() - t0) / 1000, 1), op: op.name, message: err instanceof Error ? err.message : String(err) });
      }
      if (Date.now() - lastPrint > 30_000) {
        lastPrint = Date.now();
        const done = [...stats.values()].reduce((a, x) => a + x.count, 0);
        process.stdout.write(`  ${Math.round((Date.now() - t0) / 1000)} s: ${done} operations, ${errors.length} errors, RSS ${samples.at(-1)?.rssMiB} MiB\n`);
      }
    }
  }),
);
clearInterval(sampler);
clearTimeout(startProbes);
clearInterval(prober);
svc.child.kill('SIGUSR2');
await new Promise((r) => setTimeout(r, 1500));
const elapsed = (Date.now() - t0) / 1000;

// ── verdict ─────────────────────────────────────────────────────────────────────────────────
const warm = median(samples.filter((s) => s.t >= warmup && s.t < warmup + 10).map((s) => s.rssMiB));
const last = median(samples.filter((s) => s.t >= elapsed * 0.9).map((s) => s.rssMiB));
const limit = warm * (1 + GROWTH / 100);
const rssOk = Number.isFinite(warm) && Number.isFinite(last) && last <= limit;
// Live memory (V8 heap + external) after forced full collections: the lowest probe in the first third
// after the warm-up against the lowest in the last third. Unlike RSS it carries no garbage, so a leak
// raises that floor and a cache that fills raises it once, early. The floor, not the median: the
// external part jumps by tens of MiB with the buffers of requests in flight at the probe (13 to 53
// MiB within one ten-minute run), the V8 heap part moves by a few.
const third = (elapsed - warmup) / 3;
// The rule reads what is live outside the bounded caches (the probe empties them and collects
// again): they fill with every issuance for as long as the run lasts (the registry index and the
// OCSP responses hold 100,000 each), which is not a leak, and at the mix's rate on a fast machine
// raised the whole floor by a third in two minutes. What they hold is reported beside it.
const floorIn = (from: number, to: number) => probes.filter((p) => p.t >= from && p.t <= to).reduce<(typeof probes)[number] | undefined>((lo, p) => (!lo || p.uncachedMiB < lo.uncachedMiB ? p : lo), undefined);
const earlyFloor = floorIn(warmup, warmup + third);
const lateFloor = floorIn(elapsed - third, elapsed);
const liveEarly = earlyFloor?.uncachedMiB ?? NaN;
const liveLate = lateFloor?.uncachedMiB ?? NaN;
// What a leak would keep per operation (reported, not a bound: an operation is one to three requests).
const kibPerOp = earlyFloor && lateFloor && lateFloor.operations > earlyFloor.operations ? round(((liveLate - liveEarly) * 1024) / (lateFloor.operations - earlyFloor.operations), 2) : null;
const liveLimit = liveEarly * (1 + LIVE_GROWTH / 100);
const liveOk = Number.isFinite(liveEarly) && Number.isFinite(liveLate) && liveLate <= liveLimit;
const growthOk = rssOk && liveOk;
const totalOps = [...stats.values()].reduce((a, x) => a + x.count, 0);
const passed = errors.length === 0 && growthOk && totalOps > 0;
await svc.stop();
await scratch?.drop();
rmSync(dir, { recursive: true, force: true });

const env = await machine(DATABASE_URL);
const date = new Date().toISOString().slice(0, 10);
const perOp = ops.map((o) => {
  const s = stats.get(o.name)!;
  const sorted = s.latencies.sort((a, b) => a - b);
  return { op: o.name, weight: o.weight, count: s.count, errors: s.errors, perSecond: round(s.count / elapsed, 1), p50ms: round(percentile(sorted, 50)), p99ms: round(percentile(sorted, 99)) };
});
const report = {
  benchmark: 'soak',
  date: new Date().toISOString(),
  machine: env,
  seconds: round(elapsed, 1),
  workers: WORKERS,
  passed,
  operations: totalOps,
  errors: errors.length,
  errorSamples: errors.slice(0, 20),
  rss: { warmupSeconds: warmup, afterWarmupMiB: warm, endMiB: last, limitMiB: round(limit), growthPercentAllowed: GROWTH, growthPercent: round(((last - warm) / warm) * 100, 1), peakMiB: Math.max(...samples.map((s) => s.rssMiB)), samples },
  live: { outsideCaches: true, earlyMiB: liveEarly, lateMiB: liveLate, limitMiB: round(liveLimit), growthPercentAllowed: LIVE_GROWTH, growthPercent: round(((liveLate - liveEarly) / liveEarly) * 100, 1), kibPerOperation: kibPerOp, probes },
  perOp,
  issued: stable.length + fresh.length + revoked.length,
  revoked: revoked.length,
};
const md = [
  `Soak ${date}: ${round(elapsed, 0)} s, ${WORKERS} workers over loopback HTTP, ${env.cores} × ${env.cpu}, Node ${env.node}, ${env.database}: **${passed ? 'passed' : 'FAILED'}**.`,
  '',
  `${totalOps.toLocaleString('en')} operations, ${errors.length} errors; RSS of the service process ${warm} MiB after the ${round(warmup, 0)} s warm-up, ${last} MiB at the end (bound ${round(limit, 0)} MiB, +${GROWTH} %), peak ${report.rss.peakMiB} MiB.`,
  '',
  `Live memory outside the bounded caches after a forced full collection (V8 heap + external, ${probes.length} probes): ${liveEarly} MiB at the lowest in the first third after the warm-up, ${liveLate} MiB in the last third (lowest of each; bound ${round(liveLimit, 0)} MiB, +${LIVE_GROWTH} %; ${kibPerOp ?? '–'} KiB per operation between the two). With the caches: ${probes[0]?.liveMiB} MiB at the first probe, ${probes.at(-1)?.liveMiB} MiB at the last, of which the caches ${probes[0]?.cachesMiB} and ${probes.at(-1)?.cachesMiB} MiB (entries at the last: ${Object.entries(probes.at(-1)?.caches ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')}).`,
  '',
  '| Operation | weight | count | /s | p50 ms | p99 ms | errors |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...perOp.map((o) => `| ${o.op} | ${o.weight} | ${o.count} | ${o.perSecond} | ${o.p50ms} | ${o.p99ms} | ${o.errors} |`),
  ...(errors.length ? ['', 'First errors:', ...errors.slice(0, 10).map((e) => `- ${e.at} s, ${e.op}: ${e.message}`)] : []),
].join('\n');
const suffix = SECONDS >= 600 ? '' : `-${SECONDS}s`;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/soak-${date}${suffix}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(new URL(`./results/soak-${date}${suffix}.md`, import.meta.url), `${md}\n`);
process.stdout.write(`\n${md}\n`);
process.exit(passed ? 0 : 1);
