/**
 * Real peers: OpenSSL and GnuTLS, independent X.509 implementations, must accept what the CA
 * issues (RFC 5280 strict mode), show the Vietnamese names, and follow revocation through CRLs.
 */
import { it, expect, beforeAll } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SubjectFields } from '../../../../ca/asn1/names.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import type { KeySpec } from '../../../../ca/keys/key-store.js';
import { buildCrl, deltaEntries, signCrl, type CrlEntry } from '../../../../ca/status/crl/crl.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { makeHierarchy, officialSubject, run, sealSubject, tempDir, writePem, type Hierarchy } from '../support.js';

interface Case {
  profile: string;
  subject: SubjectFields;
  names: { emails?: string[]; dnsNames?: string[] };
  key: KeySpec;
  /** openssl verify -purpose */
  purpose: string;
}

const cases: Case[] = [
  { profile: 'official-signing', subject: officialSubject, names: {}, key: { type: 'rsa', bits: 2048 }, purpose: 'smimesign' },
  { profile: 'organisation-seal', subject: sealSubject, names: { emails: ['vanphong@soctrang.gov.vn'] }, key: { type: 'ec', curve: 'P-384' }, purpose: 'sslclient' },
  { profile: 'tls-server', subject: { C: 'VN', O: 'Sở Thông tin và Truyền thông', CN: 'dichvucong.soctrang.gov.vn' }, names: { dnsNames: ['dichvucong.soctrang.gov.vn'] }, key: { type: 'ec', curve: 'P-256' }, purpose: 'sslserver' },
  { profile: 'ocsp-signer', subject: { C: 'VN', O: 'Ủy ban nhân dân tỉnh Sóc Trăng', CN: 'Sóc Trăng OCSP 1' }, names: {}, key: { type: 'ec', curve: 'P-256' }, purpose: 'ocsphelper' },
];

let h: Hierarchy;
let dir: string;
const paths: Record<string, string> = {};
const serials: Record<string, string> = {};
const now = new Date(); // the peers check validity against their own clock

beforeAll(async () => {
  h = await makeHierarchy({ now });
  dir = tempDir('tinnhiem-peers-');
  paths.root = writePem(dir, 'root.pem', h.root.certificate!);
  paths.issuing = writePem(dir, 'issuing.pem', h.issuing.certificate!);
  for (const c of cases) {
    const key = await h.store.generate(c.key, `peer-${c.profile}`);
    const prepared = prepareCertificate({ request: requestForKey(key.spki, c.subject, c.names), profile: h.profile(c.profile), issuer: h.issuing, now, serial: newSerial() });
    const der = await signCertificate(prepared, h.issuing, h.issuingKey);
    paths[c.profile] = writePem(dir, `${c.profile}.pem`, der);
    serials[c.profile] = prepared.serial;
    writeFileSync(join(dir, `${c.profile}-chain.pem`), [paths[c.profile], paths.issuing, paths.root].map((p) => readFileSync(p, 'utf8')).join(''));
  }
});

describeWithProgram('openssl', 'openssl')('OpenSSL', () => {
  it.each(cases.map((c) => [c.profile, c.purpose]))('verifies a %s certificate with -x509_strict (purpose %s)', (profile, purpose) => {
    expect(run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', paths.root, '-untrusted', paths.issuing, paths[profile]])).toBe(`${paths[profile]}: OK\n`);
  });

  it('verifies the issuing CA under the root with -x509_strict', () => {
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', paths.root, paths.issuing])).toMatch(/: OK/);
  });

  it('shows the Vietnamese DN, the UIDs, the CDP, the freshest CRL and the AIA', () => {
    const text = run('openssl', ['x509', '-in', paths['official-signing'], '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space']);
    expect(text).toContain(
      'Subject: C=VN, L=Sóc Trăng, O=Sở Thông tin và Truyền thông tỉnh Sóc Trăng, OU=Phòng Công nghệ thông tin, CN=Nguyễn Thị Ánh Tuyết, UID=CCCD:094187001234, UID=MST:0300588569, emailAddress=ntatuyet@soctrang.gov.vn',
    );
    expect(text).toContain('Issuer: C=VN, O=Ủy ban nhân dân tỉnh Sóc Trăng, CN=Sóc Trăng Issuing CA 1');
    expect(text).toMatch(/X509v3 CRL Distribution Points:\s+Full Name:\s+URI:https:\/\/pki\.soctrang\.gov\.vn\/crl\/issuing-1\.crl/);
    expect(text).toMatch(/X509v3 Freshest CRL:\s+Full Name:\s+URI:https:\/\/pki\.soctrang\.gov\.vn\/crl\/issuing-1-delta\.crl/);
    expect(text).toMatch(/OCSP - URI:https:\/\/pki\.soctrang\.gov\.vn\/ocsp\s+CA Issuers - URI:https:\/\/pki\.soctrang\.gov\.vn\/ca\/issuing-1\.crt/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+E-mail Protection, TLS Web Client Authentication/);
    expect(text).toMatch(/X509v3 Subject Alternative Name:\s+email:ntatuyet@soctrang\.gov\.vn/);
    expect(run('openssl', ['x509', '-in', paths['ocsp-signer'], '-noout', '-text'])).toMatch(/OCSP No Check:/);
  });

  it('follows revoke, hold and release through full and delta CRLs (-crl_check, -use_deltas)', async () => {
    const verify = (crls: string[], extra: string[] = []) => {
      try {
        return run('openssl', ['verify', '-x509_strict', '-crl_check', ...extra, ...crls.flatMap((c) => ['-CRLfile', c]), '-CAfile', paths.root, '-untrusted', paths.issuing, paths['official-signing']]);
      } catch (error) {
        return (error as Error).message;
      }
    };
    let number = 0n;
    const crl = async (name: string, entries: CrlEntry[], delta?: bigint) => {
      number += 1n;
      const tbs = buildCrl({ issuer: h.issuing, number, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries, freshestCrl: !delta, ...(delta ? { delta: { baseNumber: delta } } : {}) });
      return writePem(dir, `${name}.crl`, await signCrl(tbs, h.issuing, h.issuingKey), 'X509 CRL');
    };
    const serial = serials['official-signing'];
    const held: CrlEntry[] = [{ serial, revokedAt: now, reason: 'certificateHold' }];
    const revoked: CrlEntry[] = [{ serial, revokedAt: now, reason: 'keyCompromise', invalidityDate: new Date(now.getTime() - 3_600_000) }];

    const empty = await crl('empty', []);
    expect(verify([empty])).toMatch(/: OK/);
    expect(verify([await crl('held', held)])).toMatch(/certificate revoked/);
    const released = await crl('released', []);
    expect(verify([released])).toMatch(/: OK/);
    expect(verify([await crl('revoked', revoked)])).toMatch(/certificate revoked/);

    // Deltas against the empty base (number 1): a hold appears, then is removed.
    const baseNumber = 1n;
    const deltaHeld = await crl('delta-held', deltaEntries([], held), baseNumber);
    expect(verify([empty, deltaHeld], ['-use_deltas'])).toMatch(/certificate revoked/);
    const text = run('openssl', ['crl', '-in', deltaHeld, '-noout', '-text']);
    expect(text).toMatch(/X509v3 Delta CRL Indicator: critical\s+1/);
    expect(text).toMatch(new RegExp(`Serial Number: (00)?${serial.toUpperCase()}[\\s\\S]*X509v3 CRL Reason Code:\\s+Certificate Hold`));

    const deltaReleased = await crl('delta-released', deltaEntries(held, []), baseNumber);
    expect(run('openssl', ['crl', '-in', deltaReleased, '-noout', '-text'])).toMatch(/X509v3 CRL Reason Code:\s+Remove From CRL/);
    const full = run('openssl', ['crl', '-in', join(dir, 'revoked.crl'), '-noout', '-text']);
    expect(full).toMatch(/X509v3 Authority Key Identifier:\s+[0-9A-F:]{59}\s+X509v3 CRL Number:\s+4\s+X509v3 Freshest CRL:\s+Full Name:\s+URI:https:\/\/pki\.soctrang\.gov\.vn\/crl\/issuing-1-delta\.crl/);
    expect(full).toMatch(/X509v3 CRL Reason Code:\s+Key Compromise[\s\S]*Invalidity Date:/);
  });
});

describeWithProgram('certtool', 'gnutls-bin')('GnuTLS certtool', () => {
  it.each(cases.map((c) => [c.profile]))('verifies the %s chain', (profile) => {
    expect(run('certtool', ['--verify-chain', '--infile', join(dir, `${profile}-chain.pem`)])).toMatch(/Chain verification output: Verified\. The certificate is trusted\./);
  });

  it('verifies a leaf against the root as trust anchor, and reads the CRLs', async () => {
    expect(run('certtool', ['--verify', '--load-ca-certificate', paths.root, '--infile', join(dir, 'tls-server-chain.pem')])).toMatch(/Chain verification output: Verified/);
    const tbs = buildCrl({ issuer: h.issuing, number: 9n, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries: [{ serial: serials['tls-server'], revokedAt: now, reason: 'superseded' }] });
    const crlPath = writePem(dir, 'gnutls.crl', await signCrl(tbs, h.issuing, h.issuingKey), 'X509 CRL');
    // GnuTLS prints the INTEGER's octets: a leading 00 when the random serial's top bit is set.
    expect(run('certtool', ['--crl-info', '--infile', crlPath])).toMatch(new RegExp(`Serial Number \\(hex\\): (00)?${serials['tls-server']}\\b`));
    expect(run('certtool', ['--verify-crl', '--load-ca-certificate', paths.issuing, '--infile', crlPath])).toMatch(/Verification output: Verified/);
  });
});
