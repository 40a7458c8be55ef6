/**
 * Issue 18 (docs/ca.md, "Name policy"): with CA_ISSUING_NAME_CONSTRAINTS the issuing CA carries
 * RFC 5280 nameConstraints, so relying parties themselves refuse a certificate for a name outside
 * the province's zones, even one the CA were misconfigured or tricked into signing.
 */
import { it, expect, beforeAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import { withOperatorSettings } from '../../../../ca/profiles/profile.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { makeHierarchy, run, tempDir, writePem, type Hierarchy } from '../support.js';

let h: Hierarchy;
let dir: string;
const paths: Record<string, string> = {};
const now = new Date();

async function leaf(name: string, host: string, profiles = h.profiles): Promise<void> {
  const key = await h.store.generate({ type: 'ec', curve: 'P-256' }, `nc-${name}`);
  const prepared = prepareCertificate({ request: requestForKey(key.spki, { C: 'VN', CN: host }, { dnsNames: [host] }), profile: profiles.get('tls-server')!, issuer: h.issuing, now, serial: newSerial() });
  paths[name] = writePem(dir, `${name}.pem`, await signCertificate(prepared, h.issuing, h.issuingKey));
  writeFileSync(join(dir, `${name}-chain.pem`), readFileSync(paths[name], 'utf8') + readFileSync(paths.issuing, 'utf8'));
}

beforeAll(async () => {
  h = await makeHierarchy({ now, issuingNameConstraints: true });
  dir = tempDir('tinnhiem-nc-');
  paths.root = writePem(dir, 'root.pem', h.root.certificate!);
  paths.issuing = writePem(dir, 'issuing.pem', h.issuing.certificate!);
  await leaf('inside', 'dichvucong.soctrang.gov.vn');
  // A CA that signs outside its zones anyway (a profile widened by mistake).
  await leaf('outside', 'www.google.com', withOperatorSettings(h.profiles, { dnsSuffixes: { 'tls-server': ['google.com'] } }));
});

it('the issuing CA profile permits the profiles\' zones', () => {
  expect(h.profile('issuing-ca').nameConstraints).toEqual({ permittedDns: ['soctrang.gov.vn'] });
});

describeWithProgram('openssl', 'openssl')('OpenSSL', () => {
  it('shows critical name constraints and verifies the chain -x509_strict for a name inside, not outside', () => {
    expect(run('openssl', ['x509', '-in', paths.issuing, '-noout', '-text'])).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+DNS:soctrang\.gov\.vn/);
    const verify = (leafPath: string) => spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', paths.root, '-untrusted', paths.issuing, leafPath], { encoding: 'utf8' });
    expect(verify(paths.inside).stdout).toContain(': OK');
    const outside = verify(paths.outside);
    expect(outside.status).not.toBe(0);
    expect(`${outside.stdout}${outside.stderr}`).toMatch(/permitted subtree violation/);
  });
});

describeWithProgram('certtool', 'gnutls-bin')('GnuTLS', () => {
  it('decodes the constraints and refuses the name outside', () => {
    expect(run('certtool', ['-i', '--infile', paths.issuing])).toMatch(/Name Constraints \(critical\):\s+Permitted:\s+DNSname: soctrang\.gov\.vn/);
    const verify = (name: string) => spawnSync('certtool', ['--verify', '--load-ca-certificate', paths.root, '--infile', join(dir, `${name}-chain.pem`)], { encoding: 'utf8' });
    expect(verify('inside').stdout).toMatch(/Chain verification output: Verified/);
    expect(verify('outside').stdout).toMatch(/Chain verification output: Not verified/);
  });
});
