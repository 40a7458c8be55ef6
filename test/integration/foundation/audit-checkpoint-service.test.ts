/**
 * Audit checkpoints in the running service (the background job signs on its own, by lease) and
 * with the audit key in a PKCS#11 token, driven by the operator's commands: `audit key create`,
 * `audit checkpoint`, `audit verify` (docs/audit.md).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from '@jest/globals';
import { parseCheckpoint, checkpointProblem, auditPublicKey } from '../../../src/audit/checkpoint.js';
import { AuditService } from '../../../src/audit/audit-service.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { configuredCheckpoints } from '../../../src/service/audit-checkpoints.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { parseKeySpec } from '../../../ca/keys/key-store.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { startTestService, TEST_PASSPHRASE } from '../../support/test-app.js';
import { runCli } from '../../support/run-cli.js';
import { tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { createSoftHsmToken } from '../../support/softhsm.js';
import { describe } from '@jest/globals';

const kind = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe(`audit checkpoints in the service (${kind})`, () => {
  it('the background job signs checkpoints with the key-store key and appends them to the file', async () => {
    const database: TestDatabase = await createTestDatabase();
    database.keyDir = database.env.DATA_DIR ?? tmp('tinnhiem-audit-svc-');
    const key = await new FileKeyStore({ directory: join(database.keyDir, 'keys'), passphrase: TEST_PASSPHRASE, kdfIterations: 1_000 }).generate(parseKeySpec('ecdsa-p256'), 'audit');
    await database.close();
    const file = join(tmp('tinnhiem-anchor-'), 'checkpoints.jsonl');
    const publicKeyFile = join(database.keyDir, 'audit.pub.pem');
    writeFileSync(publicKeyFile, encodePem(key.spki, 'PUBLIC KEY'));
    const env = { AUDIT_KEY_URI: 'file:audit', AUDIT_CHECKPOINT_FILE: file, AUDIT_PUBLIC_KEY_FILE: publicKeyFile, AUDIT_CHECKPOINT_SECONDS: '5', AUDIT_CHECKPOINT_EVENTS: '1' };
    const service = await startTestService({ database, env });
    cleanups.push(async () => {
      await service.close();
      await database.destroy();
    });
    expect(service.service.auditCheckpointer).not.toBeNull();
    await service.service.db.withTransaction((trx) => service.service.audit.append(trx, { actor: 'user:ra1', action: 'certificate.revoke', target: 'certificate:01' }));
    const head = (await service.service.audit.list({ limit: 1 }))[0];
    // The job polls every 5 s here; no test code signs.
    for (let i = 0; i < 60 && !(existsSync(file) && readFileSync(file, 'utf8').includes(`"seq":${head.seq},`)); i++) await new Promise((r) => setTimeout(r, 500));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map(parseCheckpoint);
    const last = lines.find((c) => c.seq === head.seq)!;
    expect(last.hash).toBe(head.hash.toString('hex'));
    expect(checkpointProblem(last, auditPublicKey(encodePem(key.spki, 'PUBLIC KEY')))).toBeNull();

    // The service's own verification (API /api/v1/audit/verification, the console) compares with them too.
    const verification = await new AuditService(service.service.audit, configuredCheckpoints(loadConfig({ env: { DATA_DIR: database.keyDir, ...env } }))).verify();
    expect(verification).toMatchObject({ ok: true, checkpoints: { source: file, lastAnchored: { seq: head.seq } } });
  }, 120_000);
});

describeWithProgram('softhsm2-util', 'softhsm2')(`the audit key in a PKCS#11 token, from the command line (${kind})`, () => {
  it('audit key create → audit checkpoint → audit verify, the key never leaving the token', async () => {
    const database = await createTestDatabase();
    await database.close();
    const token = await createSoftHsmToken('tinnhiem-audit');
    const dir = tmp('tinnhiem-audit-hsm-');
    cleanups.push(() => database.destroy());
    const env = { ...database.env, DATA_DIR: database.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: 'audit-hsm-test-passphrase', ...token.env, AUDIT_CHECKPOINT_FILE: join(dir, 'anchor', 'checkpoints.jsonl') };
    expect((await runCli(['init'], env, 150_000)).code).toBe(0);
    const created = await runCli(['audit', 'key', 'create', '--name', 'audit-2026', '--out', join(dir, 'audit.pub.pem'), '--json'], env, 150_000);
    expect(created.code).toBe(0);
    const made = JSON.parse(created.stdout) as { uri: string; keyId: string; publicKey: string };
    expect(made.uri).toBe('pkcs11:token=tinnhiem-audit;object=audit-2026');
    expect(readFileSync(join(dir, 'audit.pub.pem'), 'utf8')).toBe(made.publicKey);
    // The private key is in the token, not extractable; nothing of it is in the key directory.
    expect(token.pkcs11Tool(['--login', '--pin', token.pin, '--list-objects', '--type', 'privkey'])).toMatch(/label:\s+audit-2026[\s\S]*?(never extractable|Access:\s+sensitive)/);
    expect(existsSync(join(env.DATA_DIR, 'keys', 'audit-2026.key.pem'))).toBe(false);

    const withKey = { ...env, AUDIT_KEY_URI: made.uri, AUDIT_PUBLIC_KEY_FILE: join(dir, 'audit.pub.pem') };
    const signed = await runCli(['audit', 'checkpoint', '--json'], withKey, 150_000);
    expect(signed.code).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({ keyId: made.keyId, alg: 'ecdsa-with-SHA256' });
    const verified = await runCli(['audit', 'verify'], withKey, 150_000);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/anchored: matches 1 signed checkpoints/);
    const list = await runCli(['audit', 'list', '--action', 'audit.key.create', '--json'], withKey, 150_000);
    expect(JSON.parse(list.stdout)).toMatchObject([{ target: `key:${made.uri}`, details: { keyId: made.keyId } }]);
  }, 600_000);
});
