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
 * Prints `BENCH-READY {json}` (bench/support/bench-kit.ts ServiceReady) and stops on SIGTERM.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { createService } from '../../src/service/service.js';
import { registerSoftPasskey } from '../../test/support/soft-authenticator.js';
import type { ServiceReady } from './bench-kit.js';

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
const config = loadConfig({ env: { CA_DNS_SUFFIXES: '{"tls-server":["soctrang.gov.vn"]}', CA_PROFILE_APPROVALS: '{"tls-server":0}', ...process.env, PUBLIC_URL: url, ...(ownDir ? { DATA_DIR: ownDir } : {}) } as Record<string, string> });
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
const service = await createService(config, { log, masterPassphrase: 'bench-master-passphrase', initialise: true, devCa: true, keyKdfIterations: 10_000, purpose: 'bench' });

const issuer = (await service.certificates.ca.issuers()).find((i) => i.role === 'issuing');
if (!issuer?.certificate) throw new Error('no issuing CA');

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
  scopes: ['certs:read', 'certs:request', 'certs:revoke', 'signatures:validate'],
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

// The login rows' accounts: passwords (scrypt) and passkeys registered through the real verification.
const accounts: ServiceReady['accounts'] = [];
for (let i = 1; i <= Number(process.env.BENCH_ACCOUNTS ?? 0); i++) {
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
  accounts.push({ login, password, passkey: passkey.state() });
}

const SURNAMES = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Huỳnh', 'Hoàng', 'Võ', 'Đặng', 'Bùi', 'Đỗ'];
const AGENCIES = ['ỦY BAN NHÂN DÂN', 'SỞ TÀI CHÍNH', 'SỞ Y TẾ', 'SỞ GIÁO DỤC VÀ ĐÀO TẠO', 'SỞ NỘI VỤ', 'SỞ TƯ PHÁP', 'CÔNG AN', 'SỞ XÂY DỰNG'];
let syntheticInfo: ServiceReady['synthetic'] = { count: 0, seconds: 0, sample: [] };
if (synthetic > 0) {
  const knex = service.db.knex;
  const t0 = Date.now();
  const now = new Date();
  // One INSERT … SELECT over generate_series: the database builds the rows itself (the RA would
  // take hours for a million). Serials are 16 bytes, positive (first hex digit 7); one in 50 is
  // revoked; names, national IDs and agencies vary so that searches select few rows.
  await knex.raw(
    `insert into certificates (issuer_id, serial, state, profile_id, public_key_fingerprint, not_before, not_after, status, status_changed_at,
                               subject_dn, holder_name, national_id, agency, source, status_source, created_at, revoked_at, revocation_reason)
     select ?, '7' || substr(md5('bench-serial-' || i), 1, 31), 'issued', 'official-signing', md5('bench-key-' || i), ?, ?,
            case when i % 50 = 0 then 'revoked' else 'good' end, ?,
            'CN=' || n.name || ',O=' || a.agency || ',L=Cần Thơ,C=VN', n.name, lpad((94000000000 + i)::text, 12, '0'), a.agency,
            'issued', 'registry', ?::timestamptz - make_interval(secs => i),
            case when i % 50 = 0 then ?::timestamptz else null end, case when i % 50 = 0 then 'keyCompromise' else null end
     from generate_series(1, ?) as i,
          lateral (select (array[${SURNAMES.map(() => '?').join(',')}])[1 + i % ${SURNAMES.length}] || ' Văn Bench ' || i as name) n,
          lateral (select (array[${AGENCIES.map(() => '?').join(',')}])[1 + (i / 7) % ${AGENCIES.length}] || ' TỈNH ' || (i % 60) as agency) a`,
    [issuer.id, now, new Date(now.getTime() + 365 * 86_400_000), now, now, now, synthetic, ...SURNAMES, ...AGENCIES],
  );
  await knex.raw('analyze certificates');
  const rows = (await knex('certificates')
    .where({ issuer_id: issuer.id })
    .whereLike('holder_name', '% Văn Bench %')
    .orderByRaw('random()')
    .limit(500)
    .select('serial', 'national_id', 'holder_name')) as Array<{ serial: string; national_id: string; holder_name: string }>;
  syntheticInfo = { count: synthetic, seconds: (Date.now() - t0) / 1000, sample: rows.map((r) => ({ serial: r.serial, nationalId: r.national_id, holderName: r.holder_name })) };
}

handler = service.handler;
const ready: ServiceReady = {
  url,
  pid: process.pid,
  issuerId: issuer.id,
  issuerDer: Buffer.from(issuer.certificate).toString('base64'),
  portal: { clientId: 'bench-portal', secret: portal.secret!, redirectUri },
  machine: { clientId: 'bench-machine', secret: machineClient.secret! },
  officer: { clientId: 'bench-officer', secret: officer.secret! },
  official,
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
