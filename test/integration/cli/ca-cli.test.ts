import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { officialHolder, opensslCsr, run, tmp } from '../../support/ca-helpers.js';

/**
 * The CA as an operator drives it from the command line: an issuing CA certified by an external
 * root (played by OpenSSL, as the government CA would be), requests with dual control, CRLs,
 * exports and the demo seed.
 */
let t: TestDatabase;
let env: Record<string, string>;
let dir: string;
const json = <T>(r: { stdout: string; stderr: string; code: number | null }): T => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

beforeAll(async () => {
  t = await createTestDatabase();
  await t.close();
  dir = tmp('tinnhiem-ca-cli-');
  env = { ...t.env, DATA_DIR: t.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: 'ca-cli-test-passphrase', PUBLIC_URL: 'https://pki.soctrang.gov.vn' };
  // The first two administrators at installation; the RA officer under their dual control (issue 16).
  writeFileSync(join(dir, 'a1'), 'Mật-khẩu-quản-trị-một-2026');
  writeFileSync(join(dir, 'a2'), 'Mật-khẩu-quản-trị-hai-2026');
  writeFileSync(join(dir, 'ra1'), 'Mật-khẩu-cán-bộ-RA-2026');
  writeFileSync(join(dir, 'admins.json'), JSON.stringify([
    { username: 'qt1', nationalId: '094190000901', name: 'Quản Trị Một', password: 'Mật-khẩu-quản-trị-một-2026' },
    { username: 'qt2', nationalId: '094190000902', name: 'Quản Trị Hai', password: 'Mật-khẩu-quản-trị-hai-2026' },
  ]));
  expect((await runCli(['init', '--admins', join(dir, 'admins.json')], env)).code).toBe(0);
  const pending = json<{ change: string }>(await runCli(['user', 'add', '--username', 'ra1', '--national-id', '094190000301', '--name', 'Lâm Thị Sóc', '--roles', 'ra-officer', '--password-file', join(dir, 'ra1'), '--as', 'qt1', '--admin-password-file', join(dir, 'a1'), '--json'], env));
  expect((await runCli(['user', 'approve-change', pending.change, '--as', 'qt2', '--password-file', join(dir, 'a2')], env)).code).toBe(0);
});
afterAll(async () => {
  await t?.destroy();
});

describe('CA from the command line', () => {
  it('refuses `ca init` without the operator\'s policy arc outside --dev (docs/ca.md, "Policy OIDs")', async () => {
    const refused = await runCli(['ca', 'init'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('CA_POLICY_ARC is not set');
    const huge = await runCli(['ca', 'init'], { ...env, CA_POLICY_ARC: '2.25.56854016832270053123992136246094587978' });
    expect(huge.code).not.toBe(0);
    expect(huge.stderr).toMatch(/ca\.policyArc|CA_POLICY_ARC/);
    expect(huge.stderr).toContain('below 2^31');
  });

  it('refuses `ca init` and `ca rotate` with localhost CRL/OCSP URLs unless --dev (docs/ca.md, "URL settings")', async () => {
    for (const args of [['ca', 'init'], ['ca', 'rotate']]) {
      const local = await runCli(args, { ...env, CA_POLICY_ARC: '2.999.42', PUBLIC_URL: 'http://localhost:3000' });
      expect(local.code).toBe(2);
      expect(local.stderr).toContain('the CRL/OCSP/AIA URLs would be http://localhost:3000');
    }
    const https = await runCli(['ca', 'init'], { ...env, CA_POLICY_ARC: '2.999.42', PKI_BASE_URL: 'https://pki.soctrang.gov.vn' });
    expect(https.code).not.toBe(0);
    expect(https.stderr).toContain('expected a plain http:// URL');
  });

  it('certifies the issuing CA by an external root and issues under it', async () => {
    const created = json<{ issuerId: string; csrPem: string }>(await runCli(['ca', 'init', '--external-root', '--json'], { ...env, CA_POLICY_ARC: '2.999.42' }));
    writeFileSync(join(dir, 'issuing.csr'), created.csrPem);
    // The external root (OpenSSL here; the government CA in production) signs the request.
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(dir, 'root.key'), '-out', join(dir, 'root.pem'), '-days', '3650', '-subj', '/C=VN/O=Ban Cơ yếu Chính phủ (thử nghiệm)/CN=RootCA thử nghiệm', '-utf8', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    run('openssl', ['x509', '-req', '-in', join(dir, 'issuing.csr'), '-CA', join(dir, 'root.pem'), '-CAkey', join(dir, 'root.key'), '-CAcreateserial', '-days', '1825', '-sha384', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'issuing.pem')]);

    const wrongParent = await runCli(['ca', 'import-cert', '--issuer', created.issuerId, '--cert', join(dir, 'issuing.pem'), '--parent', join(dir, 'issuing.pem')], env);
    expect(wrongParent.code).toBe(1);
    const imported = json<{ status: string }>(await runCli(['ca', 'import-cert', '--issuer', created.issuerId, '--cert', join(dir, 'issuing.pem'), '--parent', join(dir, 'root.pem'), '--json'], env));
    expect(imported.status).toBe('active');
    const issuers = json<Array<{ id: string; role: string; status: string }>>(await runCli(['ca', 'show', '--json'], env));
    expect(issuers.map((i) => `${i.role}:${i.status}`).sort()).toEqual(['issuing:active', 'ocsp-signer:active', 'report-signer:active']);

    // A request, approved by an RA officer (not the requester), exported, verified up to the external root.
    writeFileSync(join(dir, 'csr.pem'), opensslCsr());
    writeFileSync(join(dir, 'holder.json'), JSON.stringify(officialHolder('094190000777', 'Thạch Thị Mỹ')));
    const requested = json<{ request: { id: string; status: string } }>(await runCli(['cert', 'request', '--profile', 'official-signing', '--csr', join(dir, 'csr.pem'), '--holder', join(dir, 'holder.json'), '--json'], env));
    expect(requested.request.status).toBe('pending');
    // An approval names the officer, who proves it is them (issue 16; test/integration/security/).
    const anonymous = await runCli(['cert', 'approve', requested.request.id], env);
    expect(anonymous.code).toBe(2);
    const approved = json<{ request: { status: string; certificateSerial: string } }>(await runCli(['cert', 'approve', requested.request.id, '--officer', 'ra1', '--password-file', join(dir, 'ra1'), '--json'], env));
    expect(approved.request.status).toBe('issued');
    const serial = approved.request.certificateSerial;

    expect((await runCli(['cert', 'export', serial, '--format', 'p7b', '--out', join(dir, 'chain.p7b')], env)).code).toBe(0);
    run('openssl', ['pkcs7', '-inform', 'DER', '-in', join(dir, 'chain.p7b'), '-print_certs', '-out', join(dir, 'chain.pem')]);
    const pem = (await runCli(['cert', 'export', serial], env)).stdout;
    writeFileSync(join(dir, 'leaf.pem'), pem);
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), join(dir, 'leaf.pem')]).out).toContain('OK');
    expect(readFileSync(join(dir, 'chain.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);

    // Revoke, then the CRL generated on demand lists it with its reason.
    expect((await runCli(['cert', 'revoke', serial, '--reason', 'keyCompromise'], env)).code).toBe(0);
    const crls = json<Array<{ kind: string; number: string }>>(await runCli(['crl', 'generate', '--json'], env));
    expect(crls.map((c) => c.kind)).toEqual(['full', 'delta']);
    const listed = json<{ total: number; items: Array<{ serial: string; status: string }> }>(await runCli(['cert', 'list', '--status', 'revoked', '--json'], env));
    expect(listed.items.map((c) => c.serial)).toContain(serial);
    const bad = await runCli(['cert', 'revoke', serial, '--reason', 'nonsense'], env);
    expect(bad.code).toBe(2);
  }, 300_000);

  it('submits and approves in batches (cert request-batch, cert approve-batch)', async () => {
    const lines = [
      { csr: opensslCsr(), profile: 'official-signing', ...officialHolder('094190000811', 'Danh Thị Batch') },
      { csr: 'not a CSR', profile: 'official-signing', ...officialHolder('094190000812') },
      { csr: opensslCsr(), profile: 'official-signing', ...officialHolder('094190000813', 'Kim Văn Batch') },
    ];
    writeFileSync(join(dir, 'batch.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const submitted = await runCli(['cert', 'request-batch', join(dir, 'batch.jsonl'), '--json'], env);
    expect(submitted.code).toBe(1); // one item failed: the exit code says so, the others stand
    const result = JSON.parse(submitted.stdout) as { failed: number; items: Array<{ ok: boolean; request?: { id: string; status: string }; problem?: { kind: string } }> };
    expect(result.items.map((i) => i.ok)).toEqual([true, false, true]);
    expect(result.items[1].problem!.kind).toBe('badCsr');
    writeFileSync(join(dir, 'ids'), `${result.items[0].request!.id}\n${result.items[2].request!.id}\n`);
    const approved = json<{ issued: number; items: Array<{ request: { status: string; certificateSerial: string } }> }>(await runCli(['cert', 'approve-batch', '--ids-from', join(dir, 'ids'), '--officer', 'ra1', '--password-file', join(dir, 'ra1'), '--json'], env));
    expect(approved.issued).toBe(2);
    expect(approved.items.every((i) => i.request.status === 'issued' && i.request.certificateSerial)).toBe(true);
    expect((await runCli(['cert', 'approve-batch', '--officer', 'ra1', '--password-file', join(dir, 'ra1')], env)).code).toBe(2); // which requests?
  }, 300_000);

  it('refuses to seed an operator\'s CA, before touching anything (the demo keys are published)', async () => {
    const before = json<{ total: number }>(await runCli(['cert', 'list', '--json'], env)).total;
    const refused = await runCli(['seed', '--certificates', '5'], { ...env, CA_POLICY_ARC: '1.3.6.1.4.1.61234.1' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('seed: refused: CA_POLICY_ARC is 1.3.6.1.4.1.61234.1');
    expect(json<{ total: number }>(await runCli(['cert', 'list', '--json'], env)).total).toBe(before);
  }, 300_000);

  it('seeds a realistic demo registry', async () => {
    const seeded = json<{ issued: number; revoked: number; held: number; importedExpired: number }>(await runCli(['seed', '--certificates', '40', '--json'], env, 180_000));
    expect(seeded.issued + seeded.importedExpired).toBe(40);
    const expired = json<{ total: number }>(await runCli(['cert', 'list', '--status', 'expired', '--json'], env));
    expect(expired.total).toBe(seeded.importedExpired);
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);
  }, 300_000);
});
