/**
 * docs/deployment.md, "Backup and restore": the documented commands, run for real. A node's
 * database is dumped with `pg_dump -Fc` and its key directory archived with `tar`; both are
 * restored elsewhere (`pg_restore` into a new database, the keys into a new DATA_DIR), and a
 * service started on the copy with the same master passphrase has everything: the registry and
 * statuses, OCSP signed with the restored signer key, issuance with the restored CA key, client
 * secrets, and an audit chain that verifies.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/config/load-config.js';
import { createService, type Service } from '../../../src/service/service.js';
import { verifyChain } from '../../../src/audit/audit-chain.js';
import { csrFor } from '../../../src/dev/seed-registry.js';
import { describeWithPrivatePostgres, PG_BIN as BIN, startPrivatePostgres, type PrivatePostgres } from '../../support/private-postgres.js';
import { memoryLogger, startTestService, TEST_PASSPHRASE, TLS_AT_ONCE, type TestService } from '../../support/test-app.js';
import { createPostgresDatabase, type TestDatabase } from '../../support/test-db.js';
import { firstStatus, issueLeaf, ocspFiles, requestFor } from '../ocsp/ocsp-support.js';

const run = promisify(execFile);

let pg: PrivatePostgres;
let database: TestDatabase;
let original: TestService | undefined;
let restored: Service | undefined;
let server: Server | undefined;

describeWithPrivatePostgres()('backup and restore of the database and the keys', () => {
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    database = await createPostgresDatabase(pg.adminUrl);
    await database.close();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await restored?.close();
    await original?.close();
    await database?.destroy();
    await pg?.destroy();
  });

  it('pg_dump + tar of DATA_DIR/keys, restored elsewhere: the service comes up with everything', async () => {
    original = await startTestService({ database, env: TLS_AT_ONCE });
    const files = await ocspFiles(original.service);
    const issuerDer = (await original.service.certificates.ca.issuers()).find((i) => i.id === files.issuerId)!.certificate!;
    const kept = await issueLeaf(original.service, files, `backup-kept-${randomBytes(2).toString('hex')}`);
    const revoked = await issueLeaf(original.service, files, `backup-revoked-${randomBytes(2).toString('hex')}`);
    await original.service.certificates.ca.changeStatus({ actor: 'officer-a', serial: revoked.serial, action: 'revoke', reason: 'keyCompromise' });
    const { secret } = await original.service.clients.add('test', { clientId: 'backup-reader', name: 'backup-reader', grantTypes: ['client_credentials'], authMethod: 'client_secret_basic', scopes: ['certs:read'] });
    const auditBefore = (await original.service.audit.list({ limit: 10_000 })).length;
    const dataDir = database.keyDir!;
    const databaseUrl = database.env.DATABASE_URL;

    // Backup, as docs/deployment.md gives it (a consistent snapshot while the node runs).
    const backups = mkdtempSync(join(tmpdir(), 'tinnhiem-backup-'));
    await run(join(BIN, 'pg_dump'), ['--format=custom', '--no-owner', `--file=${join(backups, 'tinnhiem.dump')}`, `--dbname=${databaseUrl}`]);
    await run('tar', ['-C', dataDir, '-czf', join(backups, 'tinnhiem-keys.tar.gz'), 'keys']);
    await original.close();
    original = undefined;

    // Restore into a new database and a new DATA_DIR.
    const restoredUrl = await pg.createDatabase(`tinnhiem_restored_${randomBytes(3).toString('hex')}`);
    await run(join(BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', `--dbname=${restoredUrl}`, join(backups, 'tinnhiem.dump')]);
    const newDataDir = mkdtempSync(join(tmpdir(), 'tinnhiem-restored-'));
    await run('tar', ['-C', newDataDir, '-xzf', join(backups, 'tinnhiem-keys.tar.gz')]);

    // `tinnhiem serve` on the copy: no initialise, no development CA; only what was restored.
    let handler: Service['handler'] = (_req, res) => res.end();
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { log } = memoryLogger('warn');
    restored = await createService(loadConfig({ env: { ...TLS_AT_ONCE, DATABASE_URL: restoredUrl, DATA_DIR: newDataDir, PUBLIC_URL: url } }), { log, masterPassphrase: TEST_PASSPHRASE, purpose: 'test' });
    handler = restored.handler;

    // The registry and its statuses, answered by OCSP with the restored signer key.
    const ocsp = async (serial: string) => firstStatus(Buffer.from(await (await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: requestFor(issuerDer, serial) as BodyInit })).arrayBuffer()));
    expect(await ocsp(kept.serial)).toBe('good');
    expect(await ocsp(revoked.serial)).toBe('revoked');
    // The client secret (sealed with the master passphrase) still works, so does the API.
    const tokenRes = await fetch(`${url}/oidc/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`backup-reader:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'certs:read' }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const api = await fetch(`${url}/api/v1/certificates/${revoked.serial}`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await api.json()) as { status: string }).status).toBe('revoked');
    // The CA key came back too: issuance signs with it.
    const issued = await restored.certificates.ra.issueDirect('test', { csr: await csrFor(false), profileId: 'tls-server', holder: { subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: 'sau-khoi-phuc.soctrang.gov.vn' }, dnsNames: ['sau-khoi-phuc.soctrang.gov.vn'] } });
    expect(issued.issued?.serial).toMatch(/^[0-9a-f]+$/);
    expect(await ocsp(issued.issued!.serial)).toBe('good');
    // And the audit log is whole: every event of before, and a chain that verifies.
    expect((await restored.audit.list({ limit: 10_000 })).length).toBeGreaterThan(auditBefore);
    expect((await verifyChain(restored.audit.all())).ok).toBe(true);
  });
});
