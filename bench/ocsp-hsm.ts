/**
 * `npm run bench:ocsp-hsm`: OCSP signing with the delegated signer's key in a PKCS#11 token
 * (SoftHSM2) beside the same with a file key, in one run on one machine (issue 11, acceptance 4).
 *
 * Two services run side by side, each on its own embedded database, identical but for
 * CA_KEY_STORE (file / pkcs11). Rounds interleave (file, HSM, file, HSM …) and each figure is the
 * median over the rounds:
 * - raw: signatures/s of the OCSP signer key alone (`signWith`, 1 caller: the ceiling of one session);
 * - presign: responses/s of the service's own pre-signing job over freshly seeded certificates;
 * - live: answers/s to POST requests with a nonce (every one signed live), CONCURRENCY clients
 *   in a closed loop over loopback HTTP.
 * BENCH_OCSP_HSM_SIZE=2000 certificates per round, BENCH_OCSP_HSM_SECONDS=5, BENCH_OCSP_HSM_ROUNDS=3.
 * Results: bench/results/ocsp-hsm-<date>.json and .md.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService, type Service } from '../src/service/service.js';
import { signWith } from '../ca/keys/key-store.js';
import { certIdDer, nonceExtension, requestDer } from '../test/unit/ca/ocsp/request-builder.js';
import { num, ratioText, type SummaryRow } from './support/summary-rows.js';

const SIZE = Number(process.env.BENCH_OCSP_HSM_SIZE ?? 2000);
const SECONDS = Number(process.env.BENCH_OCSP_HSM_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_OCSP_HSM_ROUNDS ?? 3);
const CONCURRENCY = 16;
const MODULE = process.env.PKCS11_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

interface Node {
  name: 'file' | 'hsm';
  service: Service;
  server: Server;
  url: string;
  issuerId: string;
  issuerDer: Uint8Array;
  dir: string;
}

interface Figures {
  raw: number[];
  presign: number[];
  live: number[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
};

/** A SoftHSM2 token in a private directory; SOFTHSM2_CONF is read by the library at C_Initialize. */
function softHsmToken(dir: string): Record<string, string> {
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', 'bench-pin', '--so-pin', 'bench-so-pin'], { stdio: 'ignore' });
  return { CA_KEY_STORE: 'pkcs11', PKCS11_MODULE: MODULE, PKCS11_TOKEN: 'bench', PKCS11_PIN: 'bench-pin' };
}

async function startNode(name: 'file' | 'hsm'): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `tinnhiem-bench-${name}-`));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { DATA_DIR: join(dir, 'data'), PUBLIC_URL: url, LOG_LEVEL: 'warn', ...(name === 'hsm' ? softHsmToken(dir) : {}) };
  const service = await createService(loadConfig({ env }), { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: `bench-${name}` });
  server.on('request', service.handler);
  const issuer = (await service.certificates.ca.issuers()).find((i) => i.role === 'issuing')!;
  return { name, service, server, url, issuerId: issuer.id, issuerDer: issuer.certificate!, dir };
}

/** Synthetic certificate rows (the responder reads only serial and status), as bench/ocsp.ts seeds them. */
async function seed(node: Node, count: number): Promise<string[]> {
  const knex = node.service.db.knex;
  const now = new Date();
  const prefix = randomBytes(2).toString('hex');
  await knex.raw(
    `insert into certificates (issuer_id, serial, state, public_key_fingerprint, not_before, not_after, status, status_changed_at, source, status_source, created_at)
     select ?, '7' || ? || substr(md5(random()::text || i::text), 1, 27), 'issued', md5(? || i::text), ?, ?, 'good', ?, 'issued', 'registry', ?
     from generate_series(1, ?) as i on conflict do nothing`,
    [node.issuerId, prefix, prefix, now, new Date(now.getTime() + 365 * 86_400_000), now, now, count],
  );
  const rows = (await knex('certificates').where({ issuer_id: node.issuerId }).where('serial', 'like', `7${prefix}%`).limit(200).select('serial')) as Array<{ serial: string }>;
  return rows.map((r) => r.serial);
}

async function rawRate(node: Node): Promise<number> {
  const signer = (await node.service.certificates.ca.issuers()).find((i) => i.role === 'ocsp-signer' && i.status === 'active')!;
  const key = await node.service.certificates.ca.key(signer.keyUri!);
  const data = randomBytes(200);
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  while (Date.now() < end) {
    await signWith(key, data);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function presignRate(node: Node): Promise<number> {
  await seed(node, SIZE);
  const t0 = performance.now();
  const signed = await node.service.ocsp.presignAll();
  return signed / ((performance.now() - t0) / 1000);
}

async function liveRate(node: Node, serials: string[]): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; Date.now() < end; i += CONCURRENCY) {
        const serial = serials[i % serials.length];
        const body = requestDer({ certIds: [certIdDer({ issuerDer: Buffer.from(node.issuerDer), serial })], extensions: [nonceExtension(randomBytes(16))] });
        const res = await fetch(`${node.url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(body) });
        const bytes = new Uint8Array(await res.arrayBuffer());
        // A successful OCSPResponse (SEQUENCE, long form) starts 30 82 xx xx 0a 01 00: responseStatus 0.
        if (res.status === 200 && bytes[4] === 0x0a && bytes[6] === 0x00) ok++;
        else failed++;
      }
    }),
  );
  if (failed) process.stdout.write(`  (${node.name}: ${failed} failed answers)\n`);
  return ok / ((performance.now() - t0) / 1000);
}

const nodes = [await startNode('file'), await startNode('hsm')];
const figures: Record<string, Figures> = { file: { raw: [], presign: [], live: [] }, hsm: { raw: [], presign: [], live: [] } };
try {
  const serials: Record<string, string[]> = {};
  for (const node of nodes) serials[node.name] = await seed(node, 200);
  for (const node of nodes) await node.service.ocsp.presignAll();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const node of nodes) {
      const f = figures[node.name];
      f.raw.push(await rawRate(node));
      f.presign.push(await presignRate(node));
      f.live.push(await liveRate(node, serials[node.name]));
      process.stdout.write(`round ${round} ${node.name}: raw ${f.raw.at(-1)!.toFixed(0)}/s, presign ${f.presign.at(-1)!.toFixed(0)}/s, live ${f.live.at(-1)!.toFixed(0)}/s\n`);
    }
  }
} finally {
  for (const node of nodes) {
    await new Promise<void>((resolve) => {
      node.server.close(() => resolve());
      node.server.closeAllConnections();
    });
    await node.service.close();
    rmSync(node.dir, { recursive: true, force: true });
  }
}

const rows = (['raw', 'presign', 'live'] as const).map((metric) => {
  const file = median(figures.file[metric]);
  const hsm = median(figures.hsm[metric]);
  return { metric, fileKeyPerSecond: Math.round(file), hsmKeyPerSecond: Math.round(hsm), hsmOverFile: Number((hsm / file).toFixed(3)) };
});
const labels = { raw: 'raw signatures (OCSP signer key, 1 caller)', presign: `pre-signing job (${SIZE} responses a round)`, live: `live signing (POST with nonce, ${CONCURRENCY} clients)` };
const summary: SummaryRow[] = rows.map((r) => ({ measure: `OCSP signing with SoftHSM2: ${labels[r.metric]}`, result: `${num(r.hsmKeyPerSecond)}/s`, reference: `file key: ${num(r.fileKeyPerSecond)}/s`, ratio: ratioText(r.hsmOverFile), aim: '', met: null }));
const date = new Date().toISOString().slice(0, 10);
const result = { date, machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, module: MODULE, size: SIZE, seconds: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, rows, summary, samples: figures };
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/ocsp-hsm-${date}.json`, `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# OCSP signing: HSM key (SoftHSM2) vs file key, ${date}`,
  '',
  `${cpus().length} CPUs (${cpus()[0]?.model}), Node ${process.version}, embedded database, medians of ${ROUNDS} interleaved rounds of ${SECONDS} s.`,
  '',
  '| | file key /s | HSM key /s | HSM ÷ file |',
  '|---|---:|---:|---:|',
  ...rows.map((r) => `| ${labels[r.metric]} | ${r.fileKeyPerSecond} | ${r.hsmKeyPerSecond} | ${r.hsmOverFile} |`),
  '',
].join('\n');
writeFileSync(`bench/results/ocsp-hsm-${date}.md`, md);
process.stdout.write(`\n${md}`);
