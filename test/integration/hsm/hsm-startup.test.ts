/**
 * `tinnhiem ca init --key-store pkcs11` from the command line, and the service refusing to start
 * (exit code 2, one clear line) when the token's PIN is wrong or the token is gone (issue 11,
 * acceptance 3). The commands run as separate processes with the token's own SOFTHSM2_CONF.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';

const describeSoftHsm = describeWithProgram('softhsm2-util', 'softhsm2');

/** The service's own message (oidc-provider may print a runtime warning before it). */
const lastLine = (text: string) => text.trim().split('\n').pop()!;

let db: TestDatabase;
let token: SoftHsmToken;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.close();
  token = await createSoftHsmToken('tinnhiem-startup');
  // CA_KEY_STORE stays `file`: the --key-store option chooses the token for this hierarchy.
  env = { ...db.env, DATA_DIR: db.env.DATA_DIR ?? tmp('tinnhiem-hsm-cli-'), MASTER_PASSPHRASE: 'hsm-cli-test-passphrase', PORT: '0', ...token.env, CA_KEY_STORE: 'file', CA_POLICY_ARC: '2.999.42', PKI_BASE_URL: 'http://pki.soctrang.gov.vn' };
  expect((await runCli(['init'], env, 150_000)).code).toBe(0);
}, 180_000);
afterAll(async () => {
  await db?.destroy();
});

describeSoftHsm('the service and a PKCS#11 token', () => {
  it('makes the hierarchy in the token with `ca init --key-store pkcs11`', async () => {
    const bad = await runCli(['ca', 'init', '--key-store', 'tpm'], env, 150_000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--key-store must be file or pkcs11');
    const init = await runCli(['ca', 'init', '--key-store', 'pkcs11', '--json'], env, 150_000);
    expect(init.code).toBe(0);
    const issuers = JSON.parse(init.stdout) as Array<{ id: string; role: string; keyUri: string }>;
    expect(issuers.map((i) => i.role).sort()).toEqual(['issuing', 'ocsp-signer', 'report-signer', 'root']);
    for (const issuer of issuers) expect(issuer.keyUri).toBe(`pkcs11:token=tinnhiem-startup;object=${issuer.id}`);
    const show = await runCli(['ca', 'show', '--json'], env, 150_000);
    expect(show.code).toBe(0);

    // Rotation: a new issuing key in the token, signed by the same root; then the root's public material.
    const rotated = await runCli(['ca', 'rotate', '--json'], env, 150_000);
    expect(rotated.code).toBe(0);
    const root = issuers.find((i) => i.role === 'root')!;
    const next = JSON.parse(rotated.stdout) as { id: string; keyUri: string; parentId: string };
    expect(next.parentId).toBe(root.id);
    expect(next.keyUri).toBe(`pkcs11:token=tinnhiem-startup;object=${next.id}`);
    expect(next.id).not.toBe(issuers.find((i) => i.role === 'issuing')!.id);
    const out = tmp('tinnhiem-hsm-export-');
    const exported = await runCli(['ca', 'ceremony', 'export', '--root', root.id, '--out', out, '--json'], env, 150_000);
    expect(exported.code).toBe(0);
    expect(existsSync(join(out, `${root.id}.pem`)) && existsSync(join(out, `${root.id}.crl`))).toBe(true);
    expect(readFileSync(join(out, `${root.id}-fingerprints.txt`), 'utf8')).toContain((JSON.parse(exported.stdout) as { certificateSha256: string }).certificateSha256);
  }, 600_000);

  it('refuses to start with a wrong PIN, naming the setting', async () => {
    const served = await runCli(['serve'], { ...env, PKCS11_PIN: 'not-the-pin' }, 150_000);
    expect(served.code).toBe(2);
    expect(lastLine(served.stderr)).toBe('tinnhiem: PKCS#11 token "tinnhiem-startup": login refused, wrong PIN (PKCS11_PIN or PKCS11_PIN_FILE)');
  }, 180_000);

  it('refuses to start when the token is configured but incomplete', async () => {
    const served = await runCli(['serve'], { ...env, PKCS11_PIN: '', PKCS11_TOKEN: 'tinnhiem-startup' }, 150_000);
    expect(served.code).toBe(2);
    expect(served.stderr).toMatch(/PKCS11_PIN/);
  }, 180_000);

  it('refuses to start when the token is missing', async () => {
    token.remove();
    const served = await runCli(['serve'], env, 150_000);
    expect(served.code).toBe(2);
    expect(lastLine(served.stderr)).toMatch(/^tinnhiem: PKCS#11 token "tinnhiem-startup" not found/);
    expect(served.stderr).toContain('PKCS11_TOKEN');
  }, 180_000);
});
