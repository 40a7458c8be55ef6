/**
 * `npm run bench:crl`: generating the issuing CA's full CRL with 100,000 revoked certificates,
 * against `openssl ca -gencrl` over an index of the same 100,000 revoked serials, measured in the
 * same run on the same machine. OpenSSL reads a flat file and signs with the same kind of key
 * (ECDSA P-256, SHA-256): it is the ceiling of "read the revoked list, encode it, sign it", while
 * our figure starts from the database rows (each holding the CRL entry its revocation encoded,
 * docs/ca.md "CRLs"; rows written here by SQL get theirs as the migration's backfill gives them,
 * untimed) and includes the query, the signature and storing the CRL. Every revocation regenerates
 * the full and the delta CRL before it returns (BENCH_CRL_REVOKE=1 times one).
 *
 * In process, on the embedded database unless BENCH_DATABASE_URL is set. The revoked rows are
 * written by SQL (INSERT … SELECT generate_series). BENCH_CRL_REVOKED=100000, BENCH_CRL_ROUNDS=1
 * (medians), BENCH_CRL_REVOKE=1 (also time one revocation). Writes bench/results/crl-<date>.json and .md.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillCrlEntries } from '../migrations/20261204080000_add_certificates_crl_entry.js';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/logging/logger.js';
import { createService } from '../src/service/service.js';
import { requestForKey } from '../ca/issuance/request.js';
import { machine, median, round, scratchDatabase } from './support/bench-kit.js';
import { meets, num, ratioText, type SummaryRow } from './support/summary-rows.js';

const REVOKED = Number(process.env.BENCH_CRL_REVOKED ?? 100_000);
const ROUNDS = Number(process.env.BENCH_CRL_ROUNDS ?? 1);
/** Also time one revocation with the list (it regenerates the full CRL: about the same again). */
const REVOKE = process.env.BENCH_CRL_REVOKE === '1';
const DATABASE_URL = process.env.BENCH_DATABASE_URL;

const dir = mkdtempSync(join(tmpdir(), 'tinnhiem-bench-crl-'));
const scratch = DATABASE_URL ? await scratchDatabase(DATABASE_URL, 'crl') : undefined;
const config = loadConfig({ env: { DATA_DIR: dir, LOG_LEVEL: 'warn', CRL_VALIDITY_HOURS: '24', ...(scratch ? { DATABASE_URL: scratch.url } : {}) } });
const service = await createService(config, { log: createLogger({ level: 'warn' }), masterPassphrase: 'bench-crl-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

try {
  const env = await machine(scratch?.url);
  const issuer = (await service.certificates.ca.issuers()).find((i) => i.role === 'issuing')!;
  const knex = service.db.knex;
  const now = new Date();
  let t0 = process.hrtime.bigint();
  await knex.raw(
    `insert into certificates (issuer_id, serial, state, profile_id, public_key_fingerprint, not_before, not_after, status, status_changed_at,
                               holder_name, source, status_source, created_at, revoked_at, revocation_reason)
     select ?, '6' || substr(md5('bench-crl-' || i), 1, 31), 'issued', 'official-signing', md5('bench-crl-key-' || i), ?, ?, 'revoked', ?,
            'Bench ' || i, 'issued', 'registry', ?, ?::timestamptz - make_interval(secs => i * 60),
            (array['keyCompromise','affiliationChanged','superseded','cessationOfOperation'])[1 + i % 4]
     from generate_series(1, ?) as i`,
    [issuer.id, now, new Date(now.getTime() + 365 * 86_400_000), now, now, now, REVOKED],
  );
  const seedSeconds = seconds(t0);
  // Each revocation stores its CRL entry's DER when it happens (changeStatus); rows written by SQL
  // get theirs as the migration's backfill gives them, outside the timed part.
  t0 = process.hrtime.bigint();
  await fillCrlEntries(knex);
  const encodeSeconds = seconds(t0);
  process.stdout.write(`${REVOKED.toLocaleString('en')} revoked rows written by SQL in ${seedSeconds.toFixed(1)} s, their CRL entries encoded in ${encodeSeconds.toFixed(1)} s (${env.database})\n`);

  // Ours: the full CRL as `tinnhiem crl generate --kind full` makes it.
  const ours: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    t0 = process.hrtime.bigint();
    await service.certificates.ca.generateCrls(issuer.id, ['full'], { actor: 'bench', newBase: true });
    ours.push(seconds(t0));
    process.stdout.write(`  full CRL generated in ${ours.at(-1)!.toFixed(2)} s\n`);
  }
  const row = (await knex('crls').where({ issuer_id: issuer.id, kind: 'full' }).orderBy('number', 'desc').first('der')) as { der: Uint8Array };
  const ourDer = Buffer.from(row.der);
  writeFileSync(join(dir, 'ours.crl'), ourDer);
  // Sanity: OpenSSL parses our CRL and counts every entry (else the figure means nothing).
  const listed = (execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'ours.crl'), '-noout', '-text'], { maxBuffer: 512 * 1024 * 1024 }).toString().match(/Serial Number:/g) ?? []).length;
  if (listed < REVOKED) throw new Error(`our CRL lists ${listed} entries, expected at least ${REVOKED}`);

  // One revocation with that list: regenerates the full and the delta CRL before it returns. The
  // victim is a real certificate issued here (a development CA holds no other end-entity one).
  let revokeSeconds: number | null = null;
  if (REVOKE) {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
    const { ca } = service.certificates;
    const request = requestForKey(spki, { C: 'VN', L: 'Sóc Trăng', O: 'Bench', CN: 'Bench Revocation', UID: ['CCCD:094000000001'] });
    const victim = await ca.issue({ actor: 'bench', request, profile: ca.profile('official-signing'), issuerId: issuer.id });
    t0 = process.hrtime.bigint();
    await ca.changeStatus({ actor: 'bench', serial: victim.serial, issuerId: issuer.id, action: 'revoke', reason: 'keyCompromise' });
    revokeSeconds = seconds(t0);
  }

  // The reference: an OpenSSL CA with an ECDSA P-256 key and an index of the same serials.
  const ossl = join(dir, 'openssl');
  mkdirSync(ossl);
  const sh = (...args: string[]) => execFileSync('openssl', args, { cwd: ossl, stdio: ['ignore', 'pipe', 'pipe'] });
  sh('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/C=VN/O=Bench/CN=Bench CRL CA', '-days', '30');
  const serials = (await knex('certificates').where({ issuer_id: issuer.id }).whereIn('status', ['revoked', 'hold']).select('serial', 'revoked_at', 'revocation_reason')) as Array<{ serial: string; revoked_at: Date | string; revocation_reason: string }>;
  const utc = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  const expiry = utc(new Date(now.getTime() + 365 * 86_400_000));
  writeFileSync(join(ossl, 'index.txt'), serials.map((s, i) => `R\t${expiry}\t${utc(new Date(s.revoked_at))},${s.revocation_reason}\t${s.serial.toUpperCase()}\tunknown\t/CN=Bench ${i}`).join('\n') + '\n');
  writeFileSync(join(ossl, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(ossl, 'crlnumber'), '1000\n');
  writeFileSync(
    join(ossl, 'ca.cnf'),
    `[ ca ]\ndefault_ca = bench\n[ bench ]\ndir = .\ndatabase = index.txt\ncrlnumber = crlnumber\ncertificate = ca.pem\nprivate_key = ca.key\ndefault_md = sha256\ndefault_crl_hours = 24\ncrl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n`,
  );
  const theirs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    t0 = process.hrtime.bigint();
    sh('ca', '-gencrl', '-config', 'ca.cnf', '-out', 'theirs.crl');
    theirs.push(seconds(t0));
  }
  const theirDer = execFileSync('openssl', ['crl', '-in', join(ossl, 'theirs.crl'), '-outform', 'DER'], { maxBuffer: 64 * 1024 * 1024 });

  const date = new Date().toISOString().slice(0, 10);
  const report = {
    benchmark: 'crl',
    date: new Date().toISOString(),
    machine: env,
    revoked: REVOKED,
    rounds: ROUNDS,
    seedSeconds: round(seedSeconds, 1),
    entryEncodingSeconds: round(encodeSeconds, 1),
    oursSeconds: round(median(ours), 3),
    opensslSeconds: round(median(theirs), 3),
    ratio: round(median(ours) / median(theirs)),
    oursBytes: ourDer.length,
    opensslBytes: theirDer.length,
    entriesListed: listed,
    revocationWithListSeconds: revokeSeconds === null ? null : round(revokeSeconds, 3),
    runs: { ours, openssl: theirs },
    summary: [
      {
        measure: `Full CRL, ${num(REVOKED)} revoked, from the database rows to the signed DER`,
        result: `${round(median(ours), 3)} s (${num(ourDer.length / 1024)} KiB)`,
        reference: `\`openssl ca -gencrl\`, same list: ${round(median(theirs), 3)} s`,
        ratio: ratioText(median(ours) / median(theirs)),
        aim: '≤ 1.0× (time)',
        met: meets(median(ours) / median(theirs), 1.0, 'atMost'),
      },
      ...(revokeSeconds === null ? [] : [{ measure: `One revocation with ${num(REVOKED)} revoked (full and delta CRL regenerated before it returns)`, result: `${round(revokeSeconds, 3)} s`, reference: '—', ratio: '—', aim: '', met: null }]),
    ] satisfies SummaryRow[],
  };
  const md = [
    `CRL benchmark ${date}: ${env.cores} × ${env.cpu}, Node ${env.node}, ${env.openssl}, ${env.database}; ${ROUNDS} rounds, medians.`,
    '',
    `| ${REVOKED.toLocaleString('en')} revoked certificates | seconds | bytes |`,
    '|---|---:|---:|',
    `| tinnhiem full CRL (from the rows with their stored entries: concatenated by the database, ECDSA P-256 signature, stored) | ${report.oursSeconds} | ${report.oursBytes.toLocaleString('en')} |`,
    `| \`openssl ca -gencrl\` over an index.txt of the same serials (same key type) | ${report.opensslSeconds} | ${report.opensslBytes.toLocaleString('en')} |`,
    `| ratio ours ÷ OpenSSL (lower is better) | ${report.ratio} | |`,
    `| one revocation with that list (full + delta CRL regenerated before it returns) | ${report.revocationWithListSeconds ?? 'n/a'} | |`,
  ].join('\n');
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/crl-${date}.json`, import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL(`./results/crl-${date}.md`, import.meta.url), `${md}\n`);
  process.stdout.write(`\n${md}\n`);
} finally {
  await service.close();
  await scratch?.drop();
  rmSync(dir, { recursive: true, force: true });
}
