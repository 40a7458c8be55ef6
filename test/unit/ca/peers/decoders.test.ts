/**
 * Issue 18, defect 6 (docs/ca.md, "Policy OIDs"): with policy OIDs under 2.25.<128-bit UUID>,
 * GnuTLS `certtool -i` failed ("certificate policies import: ASN1 parser: Error in DER parsing")
 * and NSS showed `OID.2.25.UNSUPPORTED`. Every profile's certificate must decode in OpenSSL,
 * GnuTLS and NSS, and every chain verify in all three.
 */
import { it, expect, beforeAll } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import { DEV_POLICY_ARC } from '../../../../ca/profiles/profile.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { makeHierarchy, officialSubject, run, sealSubject, tempDir, writePem, type Hierarchy } from '../support.js';

const leaves = [
  { profile: 'official-signing', subject: officialSubject, names: {}, usage: 'emailSigner' },
  { profile: 'organisation-seal', subject: sealSubject, names: {}, usage: 'emailSigner' },
  { profile: 'tls-server', subject: { C: 'VN', O: 'Sở Thông tin và Truyền thông', CN: 'dichvucong.soctrang.gov.vn' }, names: { dnsNames: ['dichvucong.soctrang.gov.vn'] }, usage: 'sslServer' },
  { profile: 'ocsp-signer', subject: { C: 'VN', O: 'Ủy ban nhân dân tỉnh Sóc Trăng', CN: 'Sóc Trăng OCSP 1' }, names: {}, usage: 'statusResponder' },
] as const;
const all = ['root-ca', 'issuing-ca', ...leaves.map((l) => l.profile)];

let h: Hierarchy;
let dir: string;
const pem: Record<string, string> = {};
const der: Record<string, string> = {};
const now = new Date(); // the peers check validity against their own clock

beforeAll(async () => {
  h = await makeHierarchy({ now });
  dir = tempDir('tinnhiem-decoders-');
  const write = (profile: string, bytes: Uint8Array) => {
    pem[profile] = writePem(dir, `${profile}.pem`, bytes);
    der[profile] = join(dir, `${profile}.der`);
    writeFileSync(der[profile], bytes);
  };
  write('root-ca', h.root.certificate!);
  write('issuing-ca', h.issuing.certificate!);
  for (const leaf of leaves) {
    const key = await h.store.generate({ type: 'ec', curve: 'P-256' }, `decoder-${leaf.profile}`);
    const prepared = prepareCertificate({ request: requestForKey(key.spki, leaf.subject, leaf.names), profile: h.profile(leaf.profile), issuer: h.issuing, now, serial: newSerial() });
    write(leaf.profile, await signCertificate(prepared, h.issuing, h.issuingKey));
  }
});

it('the profiles\' policies sit under the development arc, every arc below 2^31', () => {
  expect(h.profile('official-signing').policies).toEqual([`${DEV_POLICY_ARC}.1.1`]);
  for (const profile of all) for (const policy of h.profile(profile).policies) expect(policy.split('.').every((a) => Number(a) < 2 ** 31)).toBe(true);
});

describeWithProgram('openssl', 'openssl')('OpenSSL', () => {
  it.each(all)('openssl x509 -text decodes the %s certificate, policies included', (profile) => {
    const text = run('openssl', ['x509', '-in', pem[profile], '-noout', '-text']);
    for (const policy of h.profile(profile).policies) expect(text).toContain(`Policy: ${policy === '2.5.29.32.0' ? 'X509v3 Any Policy' : policy}`);
  });

  it.each(leaves.map((l) => l.profile))('openssl verify -x509_strict accepts the %s chain', (profile) => {
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', pem['root-ca'], '-untrusted', pem['issuing-ca'], pem[profile]])).toBe(`${pem[profile]}: OK\n`);
  });
});

describeWithProgram('certtool', 'gnutls-bin')('GnuTLS', () => {
  it.each(all)('certtool -i decodes the %s certificate, policies included', (profile) => {
    const out = execFileSync('certtool', ['-i', '--infile', pem[profile]], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out).not.toMatch(/error/i);
    for (const policy of h.profile(profile).policies) expect(out).toContain(policy);
  });

  it.each(leaves.map((l) => l.profile))('certtool --verify accepts the %s chain', (profile) => {
    const chain = join(dir, `${profile}-chain.pem`);
    writeFileSync(chain, [pem[profile], pem['issuing-ca']].map((p) => readFileSync(p, 'utf8')).join(''));
    expect(run('certtool', ['--verify', '--load-ca-certificate', pem['root-ca'], '--infile', chain])).toMatch(/Chain verification output: Verified\. The certificate is trusted\./);
  });
});

describeWithProgram('nss-pp', 'libnss3-tools')('NSS', () => {
  it.each(all)('pp decodes the %s certificate, policies included', (profile) => {
    const out = run('nss-pp', ['-t', 'certificate', '-i', der[profile]]);
    expect(out).not.toContain('UNSUPPORTED');
    for (const policy of h.profile(profile).policies) if (policy !== '2.5.29.32.0') expect(out).toContain(`Policy Name: OID.${policy}`);
  });

  it.each(leaves)('vfychain accepts the $profile chain', ({ profile, usage }) => {
    const db = tempDir('tinnhiem-nssdb-');
    run('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
    run('certutil', ['-A', '-d', `sql:${db}`, '-n', 'root', '-t', 'CT,C,C', '-i', pem['root-ca']]);
    const usages: Record<string, string> = { sslServer: '1', emailSigner: '4', statusResponder: '10' };
    // -pp: libpkix, with certificate policy processing. vfychain reports on stderr.
    const result = spawnSync('vfychain', ['-d', `sql:${db}`, '-pp', '-u', usages[usage], der[profile], der['issuing-ca']], { encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toMatch(/Chain is good!/);
    expect(result.status).toBe(0);
  });
});
