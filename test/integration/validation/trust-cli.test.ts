import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { run, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';

/** `tinnhiem trust add|list|remove`, as an operator adds the government roots. */
let t: TestDatabase;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await t.close();
  dir = tmp('tinnhiem-trust-cli-');
  env = { ...t.env, DATA_DIR: t.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: 'trust-cli-test-passphrase' };
  expect((await runCli(['init'], env)).code).toBe(0);
  // The root key is sealed with its own passphrase (docs/ca.md, "The root key").
  writeFileSync(join(dir, 'root-passphrase'), 'trust-cli-root-passphrase\n', { mode: 0o600 });
  expect((await runCli(['ca', 'init', '--root-passphrase-file', join(dir, 'root-passphrase'), '--dev'], env)).code).toBe(0);
});
afterAll(async () => {
  await t?.destroy();
});

describeWithProgram('openssl', 'openssl')('trust from the command line', () => {
  it('adds, lists and removes anchors and intermediates, each audited; refuses what is not a CA', async () => {
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'root.key'), '-out', join(dir, 'root.pem'), '-days', '3650', '-subj', '/C=VN/O=Ban Cơ yếu Chính phủ (thử nghiệm)/CN=RootCA chuyên dùng thử nghiệm', '-utf8', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const added = await runCli(['trust', 'add', join(dir, 'root.pem'), '--label', 'test government root', '--json'], env);
    expect(added.code).toBe(0);
    const [entry] = JSON.parse(added.stdout) as Array<{ sha256: string; added: boolean }>;
    expect(entry.added).toBe(true);
    expect(JSON.parse((await runCli(['trust', 'add', join(dir, 'root.pem'), '--json'], env)).stdout)).toEqual([expect.objectContaining({ added: false })]);

    const vgca = join(import.meta.dirname, '../../fixtures/vgca/vgca-g1-chinh-phu-subca.pem');
    expect((await runCli(['trust', 'add', vgca, '--intermediate'], env)).code).toBe(0);

    const list = JSON.parse((await runCli(['trust', 'list', '--json'], env)).stdout) as Array<{ sha256: string; kind: string; source: string; subject: string; label: string | null }>;
    expect(list.map((e) => `${e.kind}:${e.source}`).sort()).toEqual(['anchor:our-ca', 'anchor:trust-store', 'intermediate:our-ca', 'intermediate:trust-store']);
    expect(list.find((e) => e.sha256 === entry.sha256)).toMatchObject({ label: 'test government root', subject: expect.stringContaining('RootCA chuyên dùng thử nghiệm') });

    // A leaf is not a CA: refused with a clear message, nothing stored.
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'leaf.key'), '-out', join(dir, 'leaf.pem'), '-days', '30', '-subj', '/CN=leaf', '-addext', 'basicConstraints=critical,CA:FALSE']);
    const leaf = await runCli(['trust', 'add', join(dir, 'leaf.pem')], env);
    expect(leaf.code).toBe(1);
    expect(leaf.stderr).toMatch(/not a CA certificate/);

    expect((await runCli(['trust', 'remove', entry.sha256], env)).code).toBe(0);
    expect((await runCli(['trust', 'remove', entry.sha256], env)).code).toBe(1);
    const after = JSON.parse((await runCli(['trust', 'list', '--json'], env)).stdout) as Array<{ sha256: string }>;
    expect(after.some((e) => e.sha256 === entry.sha256)).toBe(false);

    const audit = (await runCli(['audit', 'list', '--json'], env)).stdout;
    expect(audit).toContain('trust.add');
    expect(audit).toContain('trust.remove');
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);
    expect(readFileSync(join(dir, 'root.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
