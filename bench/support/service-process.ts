/**
 * The service under test, in a process of its own (so its RSS is the service's alone): the whole
 * service as `tinnhiem serve` runs it (same node:http settings), on DATABASE_URL or the embedded
 * database in DATA_DIR (default: a temporary directory), with a development CA and the bench's own
 * relying parties:
 * - `bench-portal`: a first-party portal (code + PKCE, refresh tokens);
 * - `bench-machine`: a back-office system (client credentials; requests, revokes, validates);
 * - `bench-officer`: a second machine that approves (dual control: nobody approves their own);
 * - one official with a password; BENCH_ACCOUNTS=N makes N of them (the login rows spread their
 *   flows over many accounts), each also with a passkey of a software authenticator
 *   (test/support/soft-authenticator.ts) whose key is handed over in the ready line.
 * BENCH_SYNTHETIC=N first writes N synthetic registry rows by SQL (the bulk path: serial,
 * status, holder name, national ID, agency; no DER, since OCSP and search read only those).
 * With BENCH_PREPARED_KEY=<key> (bench/support/prepared-registry.ts) on PostgreSQL: a database
 * that already holds a registry prepared under that key (a copy of the bench's template) is
 * served as it is, its CA keys and clients restored from the record; otherwise the process seeds
 * and records the key, its ready line's parts and DATA_DIR's files (the CA keys) in that table.
 * Prints `BENCH-READY {json}` (bench/support/bench-kit.ts ServiceReady) and stops on SIGTERM; with
 * --expose-gc, SIGUSR2 runs a full collection and prints `BENCH-HEAP {json}` (the soak's probe).
 */
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { createService } from '../../src/service/service.js';
import { registerSoftPasskey } from '../../test/support/soft-authenticator.js';
import type { ServiceReady } from './bench-kit.js';
import { compactText, foldOptional, foldText, registrySearchText } from '../../src/text/folding.js';
import { PREPARED_TABLE } from './prepared-registry.js';
import { cacheEntries, clearCaches } from '../../ca/cache-registry.js';

const ownDir = process.env.DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'tinnhiem-bench-service-'));
const synthetic = Number(process.env.BENCH_SYNTHETIC ?? 0);

let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
// As src/service/serve.ts: longer than a load balancer's idle timeout.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 120_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// The benchmarks measure issuance itself: tls-server under the demo zone, without its approval (docs/ca.md, "Name policy").
const dataDir = ownDir ?? process.env.DATA_DIR!;
const preparedKey = synthetic > 0 && process.env.DATABASE_URL ? process.env.BENCH_PREPARED_KEY : undefined;
type Recorded = Omit<ServiceReady, 'url' | 'pid'>;
/** The registry recorded under BENCH_PREPARED_KEY in this database, if any; its DATA_DIR files restored. */
async function preparedRecord(): Promise<Recorded | undefined> {
  if (!preparedKey) return undefined;
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  try {
    const { rows: present } = await c.query<{ t: string | null }>('select to_regclass($1)::text as t', [PREPARED_TABLE]);
    if (!present[0].t) return undefined;
    const { rows } = await c.query<{ key: string; ready: Recorded; files: Record<string, string> }>(`select key, ready, files from ${PREPARED_TABLE}`);
    if (rows.length !== 1 || rows[0].key !== preparedKey) throw new Error(`this database holds a registry prepared under another key (${rows.map((r) => r.key).join(', ')}), not ${preparedKey}`);
    for (const [path, base64] of Object.entries(rows[0].files)) {
      const to = join(dataDir, path);
      if (relative(dataDir, to).startsWith('..')) throw new Error(`prepared file outside DATA_DIR: ${path}`);
      mkdirSync(dirname(to), { recursive: true });
      writeFileSync(to, Buffer.from(base64, 'base64'), { mode: 0o600 });
    }
    return rows[0].ready;
  } finally {
    await c.end();
  }
}
const prepared = await preparedRecord();
const filesOf = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));

const config = loadConfig({ env: { CA_DNS_SUFFIXES: '{"tls-server":["soctrang.gov.vn"]}', CA_PROFILE_APPROVALS: '{"tls-server":0}', ...process.env, PUBLIC_URL: url, ...(ownDir ? { DATA_DIR: ownDir } : {}) } as Record<string, string> });
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
const service = await createService(config, { log, masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });

const issuer = (await service.certificates.ca.issuers()).find((i) => i.role === 'issuing');
if (!issuer?.certificate) throw new Error('no issuing CA');

/** The bench's relying parties and official (a prepared registry has them already: its record names them). */
async function addParties(): Promise<Pick<Recorded, 'portal' | 'machine' | 'officer' | 'official'>> {
  const redirectUri = 'http://127.0.0.1:9/bench/callback';
  const portal = await service.clients.add('bench', {
    clientId: 'bench-portal',
    name: 'Cổng dịch vụ công (benchmark)',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'profile', 'email', 'vn_identity', 'vn_official', 'offline_access'],
    firstParty: true,
  });
  const machineClient = await service.clients.add('bench', {
    clientId: 'bench-machine',
    name: 'Hệ thống một cửa (benchmark)',
    grantTypes: ['client_credentials'],
    scopes: ['certs:read', 'certs:read:pii', 'certs:request', 'certs:revoke', 'signatures:validate'],
  });
  const officer = await service.clients.add('bench', {
    clientId: 'bench-officer',
    name: 'Cán bộ phê duyệt (benchmark)',
    grantTypes: ['client_credentials'],
    scopes: ['certs:read', 'certs:approve'],
  });
  const official = { login: 'can-bo-bench', password: 'Mật-khẩu-đo-hiệu-năng-2026' };
  await service.accounts.createOfficial('bench', {
    username: official.login,
    nationalId: '094199000001',
    fullName: 'Lê Thị Đo Lường',
    email: 'do-luong@soctrang.gov.vn',
    agency: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG',
    roles: ['official'],
    password: official.password,
  });
  return {
    portal: { clientId: 'bench-portal', secret: portal.secret!, redirectUri },
    machine: { clientId: 'bench-machine', secret: machineClient.secret! },
    officer: { clientId: 'bench-officer', secret: officer.secret! },
    official,
  };
}
const parties = prepared ?? (await addParties());

// The login rows' accounts: passwords (scrypt) and passkeys registered through the real verification.
const accounts: ServiceReady['accounts'] = prepared?.accounts ?? [];
for (let i = 1; !prepared && i <= Number(process.env.BENCH_ACCOUNTS ?? 0); i++) {
  const login = `can-bo-bench-${i}`;
  const password = `Mật-khẩu-đo-hiệu-năng-${i}-2026`;
  const account = await service.accounts.createOfficial('bench', {
    username: login,
    nationalId: `0941991${String(i).padStart(5, '0')}`,
    fullName: `Lê Thị Đo Lường ${i}`,
    email: `do-luong-${i}@soctrang.gov.vn`,
    agency: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG',
    roles: ['official'],
    password,
  });
  const passkey = await registerSoftPasskey(service.passkeys, account, 'Khoá đo hiệu năng');
  accounts.push({ login, password, sub: account.id, passkey: passkey.state() });
}

// Names as a province's registry has them (surname, middle name, given name), so that the
// benchmark's searches select what real ones do: "nguyễn" one holder in ten, "ngoc han" one in a
// few hundred; a number after the name makes each holder findable alone.
const SURNAMES = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Huỳnh', 'Hoàng', 'Võ', 'Đặng', 'Bùi', 'Đỗ'];
const MIDDLES = ['Văn', 'Thị', 'Ngọc', 'Minh', 'Thanh', 'Hữu', 'Đức', 'Thu'];
const GIVENS = ['Hân', 'Anh', 'Tuấn', 'Lan', 'Hùng', 'Hương', 'Dũng', 'Mai', 'Nguyên', 'Tâm', 'Khoa', 'Trang', 'Phúc', 'Yến', 'Long', 'Nhi', 'Sơn', 'Vy', 'Bảo', 'Quân', 'Linh', 'Đạt', 'Thảo', 'Khánh', 'Hiếu', 'Ngân', 'Phong', 'Loan', 'Tú', 'Hòa', 'Kiên', 'My', 'Nam', 'Thư', 'Lộc', 'Uyên', 'Vinh', 'Duyên', 'Trí', 'Hạnh'];
const AGENCIES = ['ỦY BAN NHÂN DÂN', 'SỞ TÀI CHÍNH', 'SỞ Y TẾ', 'SỞ GIÁO DỤC VÀ ĐÀO TẠO', 'SỞ NỘI VỤ', 'SỞ TƯ PHÁP', 'CÔNG AN', 'SỞ XÂY DỰNG'];
const FOLDED_COLUMNS = ['serial', 'national_id', 'holder_name', 'subject_dn', 'email', 'agency', 'search_folded', 'search_compact', 'agency_folded'];
/** The synthetic rows' folded columns are the application's folding of their fields. */
function checkFolding(rows: Array<Record<string, string | null>>): void {
  for (const r of rows) {
    const expected = { s: registrySearchText({ holderName: r.holder_name, subjectDn: r.subject_dn, email: r.email, serial: r.serial }), a: foldOptional(r.agency) };
    if (expected.s !== r.search_folded || compactText(expected.s) !== r.search_compact || expected.a !== r.agency_folded) throw new Error(`synthetic folding differs from the application's: ${JSON.stringify({ row: r, expected })}`);
  }
}
let syntheticInfo: ServiceReady['synthetic'] = prepared?.synthetic ?? { count: 0, seconds: 0, sample: [] };
if (prepared) {
  // A copy of a prepared registry: the same rows (checked again below), the statistics sampled
  // afresh as every seeded run's were (the template's would fix one sample's plans for every run).
  const knex = service.db.knex;
  const t0 = Date.now();
  const applied = ((await knex('knex_migrations').select('name').orderBy('id')) as Array<{ name: string }>).map((m) => m.name).join(',');
  const { migrations } = await import('../../migrations/index.js');
  if (applied !== migrations.map((m) => m.name).join(',')) throw new Error('the prepared registry applied other migrations than this code');
  const [{ n }] = (await knex('certificates').where({ issuer_id: issuer.id, profile_id: 'official-signing' }).count({ n: '*' })) as Array<{ n: string }>;
  if (Number(n) !== synthetic) throw new Error(`the prepared registry holds ${n} synthetic rows, not ${synthetic}`);
  const sample = syntheticInfo.sample.map((c) => c.serial);
  const rows = (await knex('certificates').where({ issuer_id: issuer.id }).whereIn('serial', sample).select(FOLDED_COLUMNS)) as Array<Record<string, string | null>>;
  if (rows.length !== sample.length) throw new Error('the prepared registry lacks its recorded sample');
  checkFolding(rows);
  await knex.raw('analyze certificates');
  syntheticInfo = { ...syntheticInfo, prepared: { key: preparedKey!, seconds: (Date.now() - t0) / 1000 } };
}
if (synthetic > 0 && !prepared) {
  const knex = service.db.knex;
  const t0 = Date.now();
  const now = new Date();
  // One INSERT … SELECT over generate_series: the database builds the rows itself (the RA would
  // take hours for a million). Serials are 16 bytes, positive (first hex digit 7); one in 50 is
  // revoked; expiry spread over two years (one in 24 within 30 days). The folded search columns
  // are built from the words' folded forms (src/text/folding.ts, applied here in JavaScript):
  // folding these words and joining them is folding the joined text, checked on a sample below.
  const words = (list: string[]) => list.map(() => '?').join(',');
  // A bulk load builds the trigram index once afterwards rather than row by row (as pg_restore does).
  // Each is made again as its migrations defined it (the registered rows only, since 20261206010000).
  const trgm = (await knex.raw(`select indexname, indexdef from pg_indexes where tablename = 'certificates' and indexname in ('certificates_search_folded_trgm', 'certificates_search_compact_trgm')`)).rows as Array<{ indexname: string; indexdef: string }>;
  for (const { indexname } of trgm) await knex.raw(`drop index ${indexname}`);
  const lists = [SURNAMES, MIDDLES, GIVENS, AGENCIES];
  await knex.raw(
    `insert into certificates (issuer_id, serial, state, profile_id, public_key_fingerprint, not_before, not_after, status, status_changed_at,
                               subject_dn, holder_name, national_id, agency, search_folded, search_compact, agency_folded, source, status_source, created_at, revoked_at, revocation_reason)
     select ?, s.serial, 'issued', 'official-signing', md5('bench-key-' || i), ?::timestamptz - interval '1 year', ?::timestamptz + make_interval(days => 1 + i % 730),
            case when i % 50 = 0 then 'revoked' else 'good' end, ?,
            'CN=' || n.name || ',O=' || a.agency || ',L=Cần Thơ,C=VN', n.name, lpad((94000000000 + i)::text, 12, '0'), a.agency,
            t.text, replace(t.text, ' ', ''), a.folded,
            'issued', 'registry', ?::timestamptz - make_interval(secs => i),
            case when i % 50 = 0 then ?::timestamptz else null end, case when i % 50 = 0 then 'keyCompromise' else null end
     from generate_series(1, ?) as i,
          lateral (select '7' || substr(md5('bench-serial-' || i), 1, 31) as serial) s,
          lateral (select array[${words(SURNAMES)}] as sn, array[${words(MIDDLES)}] as md, array[${words(GIVENS)}] as gv, array[${words(AGENCIES)}] as ag,
                          array[${words(SURNAMES)}] as fsn, array[${words(MIDDLES)}] as fmd, array[${words(GIVENS)}] as fgv, array[${words(AGENCIES)}] as fag) w,
          lateral (select w.sn[1 + i % ${SURNAMES.length}] || ' ' || w.md[1 + (i / 10) % ${MIDDLES.length}] || ' ' || w.gv[1 + (i / 80) % ${GIVENS.length}] || ' ' || i as name,
                          w.fsn[1 + i % ${SURNAMES.length}] || ' ' || w.fmd[1 + (i / 10) % ${MIDDLES.length}] || ' ' || w.fgv[1 + (i / 80) % ${GIVENS.length}] || ' ' || i as folded) n,
          lateral (select w.ag[1 + (i / 7) % ${AGENCIES.length}] || ' TỈNH ' || (i % 60) as agency, w.fag[1 + (i / 7) % ${AGENCIES.length}] || ' tinh ' || (i % 60) as folded) a,
          lateral (select n.folded || chr(10) || 'cn=' || n.folded || ',o=' || a.folded || ',l=can tho,c=vn' || chr(10) || s.serial as text) t`,
    [issuer.id, now, now, now, now, now, synthetic, ...lists.flat(), ...lists.flatMap((l) => l.map(foldText))],
  );
  for (const { indexdef } of trgm) await knex.raw(indexdef);
  // A registry in service has been vacuumed by autovacuum (index-only counts need the visibility
  // map); doing it here also keeps autovacuum's first pass over the new rows out of the measurements.
  await knex.raw('vacuum analyze certificates');
  const rows = (await knex('certificates')
    .where({ issuer_id: issuer.id, profile_id: 'official-signing' })
    .whereNotNull('national_id')
    .orderByRaw('random()')
    .limit(500)
    .select(FOLDED_COLUMNS)) as Array<Record<string, string | null>>;
  checkFolding(rows);
  syntheticInfo = { count: synthetic, seconds: (Date.now() - t0) / 1000, sample: rows.map((r) => ({ serial: r.serial!, nationalId: r.national_id!, holderName: r.holder_name! })) };
  if (preparedKey) {
    // The record a copy starts from: the key, what the ready line names, and DATA_DIR's files (the CA's keys).
    const files = Object.fromEntries(filesOf(dataDir).map((f) => [relative(dataDir, f), readFileSync(f).toString('base64')]));
    const record: Recorded = { issuerId: issuer.id, issuerDer: Buffer.from(issuer.certificate).toString('base64'), ...parties, accounts, synthetic: syntheticInfo };
    await knex.raw(`create table ${PREPARED_TABLE} (key text primary key, prepared_at timestamptz not null, ready jsonb not null, files jsonb not null)`);
    await knex(PREPARED_TABLE).insert({ key: preparedKey, prepared_at: now, ready: JSON.stringify(record), files: JSON.stringify(files) });
  }
}
if (prepared && (prepared.issuerId !== issuer.id)) throw new Error('the prepared registry names another issuing CA');

handler = service.handler;
const ready: ServiceReady = {
  url,
  pid: process.pid,
  issuerId: issuer.id,
  issuerDer: Buffer.from(issuer.certificate).toString('base64'),
  ...parties,
  accounts,
  synthetic: syntheticInfo,
};
process.stdout.write(`BENCH-READY ${JSON.stringify(ready)}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  service.beginShutdown();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await service.close();
  if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

// The soak's memory probe (bench/soak.ts starts this process with --expose-gc): on SIGUSR2, a full
// collection, then what is still live, and again after emptying the bounded caches. Without
// --expose-gc the signal keeps Node's default.
// BENCH_HEAP_SNAPSHOTS=<dir>: the probes numbered in BENCH_HEAP_SNAPSHOT_PROBES (1-based, comma
// separated; all when unset) also write a V8 heap snapshot there (bench/heap-diff.ts compares two).
const gc = (globalThis as { gc?: () => void }).gc;
const snapshotDir = process.env.BENCH_HEAP_SNAPSHOTS;
const snapshotProbes = process.env.BENCH_HEAP_SNAPSHOT_PROBES?.split(',').map(Number);
let probeNumber = 0;
if (gc) {
  process.on('SIGUSR2', () => {
    gc();
    probeNumber++;
    const m = process.memoryUsage();
    if (snapshotDir && (!snapshotProbes || snapshotProbes.includes(probeNumber))) {
      writeHeapSnapshot(join(snapshotDir, `probe-${String(probeNumber).padStart(2, '0')}.heapsnapshot`));
    }
    // Then what is live outside the bounded caches (ca/cache-registry.ts): they are emptied (each
    // fills again from its source) and collected, synchronously, so no request runs in between and
    // the buffers of the requests in flight are in both figures.
    const caches = cacheEntries();
    clearCaches();
    gc();
    const u = process.memoryUsage();
    process.stdout.write(`BENCH-HEAP ${JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, uncachedHeapUsed: u.heapUsed, uncachedExternal: u.external, caches })}\n`);
  });
}
