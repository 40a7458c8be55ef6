import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { crlSerials, run, tmp } from '../../support/ca-helpers.js';
import { memoryLogger, startTestService } from '../../support/test-app.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { createService, type Service } from '../../../src/service/service.js';
import { FileKeyStore } from '../../../ca/keys/file-key-store.js';
import { KeyStoreUnavailableError } from '../../../ca/keys/key-store.js';
import { encodePem } from '../../../ca/asn1/der.js';
import { issueLeaf, ocspFiles } from '../ocsp/ocsp-support.js';

/**
 * The root key apart (docs/ca.md, "The root key"): in its own store, sealed with its own
 * passphrase, which `tinnhiem serve` never holds; ceremonies (`ca init`, `ca rotate`,
 * `ca ceremony …`) take it from a file or a prompt. The service itself needs only the issuing and
 * OCSP keys. An installation whose root was sealed with MASTER_PASSPHRASE moves it away with
 * `ca ceremony migrate-root`. The service warns, in its log and a metric, before the root CRL runs out.
 */
const MASTER = 'root-key-test-master-passphrase';
const ROOT = 'the-root-ceremony-passphrase-2026';
let t: TestDatabase;
let env: Record<string, string>;
let dir: string;
let dataDir: string;
let rootFile: string;
let rootId: string;
let rootUri: string;

const json = <T>(r: { stdout: string; stderr: string; code: number | null }): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};
const issuers = async () => json<Array<{ id: string; role: string; keyUri: string; status: string }>>(await runCli(['ca', 'show', '--json'], env));

/** The service as `tinnhiem serve` builds it: the master passphrase, no root passphrase. */
async function serviceAsServe(): Promise<Service> {
  return createService(loadConfig({ env }), { log: memoryLogger().log, masterPassphrase: MASTER, purpose: 'test' });
}

beforeAll(async () => {
  t = await createTestDatabase();
  await t.close();
  dir = tmp('tinnhiem-root-key-');
  dataDir = t.env.DATA_DIR ?? dir;
  env = { ...t.env, DATA_DIR: dataDir, MASTER_PASSPHRASE: MASTER, PUBLIC_URL: 'http://pki.soctrang.gov.vn', CA_POLICY_ARC: '2.999.42' };
  rootFile = join(dir, 'root-passphrase');
  writeFileSync(rootFile, `${ROOT}\n`, { mode: 0o600 });
  expect((await runCli(['init'], env)).code).toBe(0);
});
afterAll(async () => {
  await t?.destroy();
});

describe('the root key apart', () => {
  it('ca init needs the root passphrase, and seals the root with it in its own store', async () => {
    const refused = await runCli(['ca', 'init'], env, 120_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/root key is kept apart from the service/);
    expect(await issuers()).toEqual([]); // nothing half-made

    json(await runCli(['ca', 'init', '--root-passphrase-file', rootFile, '--json'], env, 120_000));
    const root = (await issuers()).find((i) => i.role === 'root')!;
    rootId = root.id;
    rootUri = root.keyUri;
    expect(rootUri).toBe(`root:${rootId}`);
    expect(existsSync(join(dataDir, 'root-keys', `${rootId}.key.pem`))).toBe(true);
    expect(existsSync(join(dataDir, 'keys', `${rootId}.key.pem`))).toBe(false);
    expect((await issuers()).filter((i) => i.role !== 'root').every((i) => i.keyUri.startsWith('file:'))).toBe(true);
    // MASTER_PASSPHRASE, which the service holds, does not open the root key file.
    const withMaster = new FileKeyStore({ directory: join(dataDir, 'root-keys'), passphrase: MASTER, scheme: 'root' });
    await expect(withMaster.load(rootUri)).rejects.toThrow(/cannot decrypt/);
  }, 300_000);

  it('the service process cannot open the root key, and needs only the issuing and OCSP keys', async () => {
    const service = await serviceAsServe();
    try {
      await expect(service.certificates.ca.key(rootUri)).rejects.toBeInstanceOf(KeyStoreUnavailableError);
      await expect(service.certificates.ca.generateCrls(rootId, ['full'])).rejects.toThrow(/root key is kept apart/);
      await expect(service.certificates.setup.createIssuing('attacker', rootId)).rejects.toThrow(/root key is kept apart/);
      // Issuance, CRLs and OCSP of the issuing CA work without it.
      const files = await ocspFiles(service);
      const leaf = await issueLeaf(service, files, 'without-root');
      await service.certificates.ca.changeStatus({ actor: 'officer-a', serial: leaf.serial, action: 'hold' });
      expect(crlSerials((await service.certificates.ca.latestCrl(files.issuerId, 'full'))!.der)).toContain(leaf.serial);
    } finally {
      await service.close();
    }
  }, 120_000);

  it('ca rotate and the root-CRL ceremony sign with the root given its passphrase, and only then', async () => {
    const without = await runCli(['ca', 'rotate'], env, 120_000);
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/root key is kept apart/);
    const wrongFile = join(dir, 'wrong');
    writeFileSync(wrongFile, 'not-the-root-passphrase\n');
    const wrong = await runCli(['ca', 'rotate', '--root-passphrase-file', wrongFile], env, 120_000);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/cannot decrypt key root:.*root passphrase/);
    const before = (await issuers()).filter((i) => i.role === 'issuing').length;

    const rotated = json<{ id: string; parentId: string }>(await runCli(['ca', 'rotate', '--root-passphrase-file', rootFile, '--json'], env, 120_000));
    expect(rotated.parentId).toBe(rootId);
    expect((await issuers()).filter((i) => i.role === 'issuing').length).toBe(before + 1);

    const crl = json<{ number: string; nextUpdate: string }>(await runCli(['ca', 'ceremony', 'root-crl', '--root', rootId, '--root-passphrase-file', rootFile, '--json'], env, 120_000));
    const service = await serviceAsServe();
    try {
      const rootPem = join(dir, 'root.pem');
      writeFileSync(rootPem, encodePem((await service.certificates.ca.issuers()).find((i) => i.id === rootId)!.certificate!, 'CERTIFICATE'));
      const latest = (await service.certificates.ca.latestCrl(rootId, 'full'))!;
      expect(latest.number.toString()).toBe(crl.number);
      const crlPem = join(dir, 'root-crl.pem');
      writeFileSync(crlPem, encodePem(latest.der, 'X509 CRL'));
      // openssl exits 1 (run throws) when the signature does not verify under the root.
      expect(run('openssl', ['crl', '-in', crlPem, '-CAfile', rootPem, '-noout']).code).toBe(0);
      const actions = (await service.audit.list({ target: `issuer:${rootId}` })).map((e) => e.action);
      expect(actions.filter((a) => a === 'crl.generate').length).toBeGreaterThanOrEqual(2);
    } finally {
      await service.close();
    }
  }, 300_000);

  it('migrate-root moves a root sealed with MASTER_PASSPHRASE into the root store', async () => {
    // An installation from before: the root key sealed with MASTER_PASSPHRASE in DATA_DIR/keys.
    const rootStore = new FileKeyStore({ directory: join(dataDir, 'root-keys'), passphrase: ROOT, scheme: 'root' });
    const masterStore = new FileKeyStore({ directory: join(dataDir, 'keys'), passphrase: MASTER, kdfIterations: 10_000 });
    await masterStore.importPkcs8(rootId, await rootStore.exportPkcs8(rootUri));
    const legacy = await serviceAsServe();
    try {
      await legacy.db.knex('ca_issuers').where({ id: rootId }).update({ key_uri: `file:${rootId}` });
      // The weakness being fixed: the service's own passphrase opens that root.
      expect((await legacy.certificates.ca.key(`file:${rootId}`)).uri).toBe(`file:${rootId}`);
    } finally {
      await legacy.close();
    }
    const newRoot = join(dir, 'new-root-passphrase');
    writeFileSync(newRoot, 'a-new-root-passphrase-for-2027\n', { mode: 0o600 });
    const existing = await runCli(['ca', 'ceremony', 'migrate-root', '--root', rootId, '--root-passphrase-file', newRoot], env, 120_000);
    expect(existing.code).toBe(1); // root-keys/<id> is still there from the start: never overwritten
    expect(existing.stderr).toMatch(/already exists/);
    run('rm', [join(dataDir, 'root-keys', `${rootId}.key.pem`)]);

    const moved = json<{ keyUri: string }>(await runCli(['ca', 'ceremony', 'migrate-root', '--root', rootId, '--root-passphrase-file', newRoot, '--json'], env, 120_000));
    expect(moved.keyUri).toBe(`root:${rootId}`);
    expect(existsSync(join(dataDir, 'keys', `${rootId}.key.pem`))).toBe(false);
    await expect(new FileKeyStore({ directory: join(dataDir, 'root-keys'), passphrase: MASTER, scheme: 'root' }).load(moved.keyUri)).rejects.toThrow(/cannot decrypt/);
    const service = await serviceAsServe();
    try {
      await expect(service.certificates.ca.key(moved.keyUri)).rejects.toBeInstanceOf(KeyStoreUnavailableError);
      const audit = (await service.audit.list({ target: `issuer:${rootId}` })).find((e) => e.action === 'ca.root.migrate')!;
      expect(audit.details).toMatchObject({ from: `file:${rootId}`, to: `root:${rootId}` });
    } finally {
      await service.close();
    }
    // The moved key signs in the next ceremony, with the new root passphrase only.
    expect((await runCli(['ca', 'ceremony', 'root-crl', '--root', rootId, '--root-passphrase-file', rootFile], env, 120_000)).code).toBe(2);
    expect((await runCli(['ca', 'ceremony', 'root-crl', '--root', rootId, '--root-passphrase-file', newRoot], env, 120_000)).code).toBe(0);
  }, 300_000);
});

describe('root CRL renewal is a ceremony: the service warns before nextUpdate', () => {
  const warnings = (logs: Array<Record<string, unknown>>) => logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('root CRL of'));

  it('logs a warning and exports the time left once within ROOT_CRL_WARN_DAYS, and not before', async () => {
    const quiet = await startTestService(); // 365-day root CRL, warned 60 days before
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(warnings(quiet.logs)).toEqual([]);
    } finally {
      await quiet.close();
    }
    const due = await startTestService({ env: { ROOT_CRL_WARN_DAYS: '366' } });
    try {
      for (let i = 0; i < 50 && !warnings(due.logs).length; i++) await new Promise((r) => setTimeout(r, 100));
      const [warning] = warnings(due.logs);
      expect(warning).toMatchObject({ level: 'warn', daysLeft: expect.any(Number) });
      expect(warning.msg).toMatch(/renew it in a ceremony \(tinnhiem ca ceremony root-crl --root root-\d+\)/);
      const metrics = await (await fetch(`${due.url}/metrics`)).text();
      const seconds = Number(/tinnhiem_root_crl_next_update_seconds\{root="root-\d+"\} (-?\d+)/.exec(metrics)?.[1]);
      expect(seconds).toBeGreaterThan(364 * 86_400);
      expect(seconds).toBeLessThanOrEqual(365 * 86_400);
    } finally {
      await due.close();
    }
  }, 120_000);
});
