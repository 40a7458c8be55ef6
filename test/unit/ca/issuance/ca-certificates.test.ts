import { it, expect, beforeAll } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateFacts, parseCertificate } from '../../../../ca/asn1/certificate.js';
import { toHex } from '../../../../ca/asn1/der.js';
import { acceptExternalCaCertificate, createCaCsr } from '../../../../ca/issuance/ca-certificates.js';
import { parseCsr } from '../../../../ca/issuance/csr.js';
import { lintCertificate } from '../../../../ca/issuance/lint.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import type { SigningKey } from '../../../../ca/keys/key-store.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { caSubject, makeHierarchy, publicUrl, run, sealSubject, tempDir, writePem, type Hierarchy } from '../support.js';

const extensions = (ca: boolean) =>
  ca
    ? '[v3]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n'
    : '[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';

describeWithProgram('openssl', 'openssl')('issuing CA under an external root', () => {
  let h: Hierarchy;
  let dir: string;
  let key: SigningKey;
  let csrPath: string;

  /** The external root (think: the government CA) signs our CSR with OpenSSL. */
  const externallySign = (name: string, ca: boolean, csr = csrPath) => {
    writeFileSync(join(dir, `${name}.cnf`), extensions(ca));
    run('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ext.pem'), '-CAkey', join(dir, 'ext.key'), '-set_serial', '0x1234', '-days', '1825', '-sha256', '-extfile', join(dir, `${name}.cnf`), '-extensions', 'v3', '-out', join(dir, `${name}.pem`)]);
    return readFileSync(join(dir, `${name}.pem`), 'utf8');
  };

  beforeAll(async () => {
    h = await makeHierarchy({ now: new Date() });
    dir = tempDir();
    run('openssl', ['req', '-x509', '-newkey', 'rsa:3072', '-nodes', '-keyout', join(dir, 'ext.key'), '-out', join(dir, 'ext.pem'), '-utf8', '-subj', '/C=VN/O=Ban Cơ yếu Chính phủ/CN=RootCA thử nghiệm', '-days', '3650', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    key = await h.store.generate({ type: 'ec', curve: 'P-256' }, 'external-issuing');
    csrPath = writePem(dir, 'sub.csr', await createCaCsr({ key, subject: caSubject('Sóc Trăng Issuing CA (G2)'), profile: h.profile('issuing-ca') }), 'CERTIFICATE REQUEST');
  });

  it('makes a CSR that verifies and asks for a CA certificate with pathLen 0', () => {
    const csr = parseCsr(readFileSync(csrPath, 'utf8'));
    expect(csr.subject.map((a) => a.value)).toEqual(['VN', 'Ủy ban nhân dân tỉnh Sóc Trăng', 'Sóc Trăng Issuing CA (G2)']);
    expect(run('openssl', ['req', '-in', csrPath, '-noout', '-verify', '-text'])).toMatch(/Requested Extensions:[\s\S]*Basic Constraints: critical\s+CA:TRUE, pathlen:0[\s\S]*Certificate Sign, CRL Sign/);
  });

  it('accepts the signed certificate, then issues certificates that chain to the external root', async () => {
    const signed = externallySign('sub', true);
    const now = new Date(); // OpenSSL signed with its own clock
    const issuer = acceptExternalCaCertificate({ id: 'issuing-g2', certificate: signed, key, publicUrl, now, parent: readFileSync(join(dir, 'ext.pem'), 'utf8') });
    expect(issuer).toMatchObject({ id: 'issuing-g2', pathLenConstraint: 0, signatureAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
    // OpenSSL's SKI is a SHA-1 of the key; what chains is the certificate's own value.
    expect(toHex(issuer.keyIdentifier)).toBe(toHex(certificateFacts(parseCertificate(issuer.certificate!).certificate).subjectKeyIdentifier!));
    const holder = await h.store.generate({ type: 'ec', curve: 'P-256' }, 'ext-holder');
    const prepared = prepareCertificate({ request: requestForKey(holder.spki, sealSubject), profile: h.profile('organisation-seal'), issuer, now, serial: newSerial() });
    const leaf = await signCertificate(prepared, issuer, key);
    expect(lintCertificate(leaf, h.profile('organisation-seal'), issuer)).toEqual([]);
    const leafPath = writePem(dir, 'ext-leaf.pem', leaf);
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'ext.pem'), '-untrusted', join(dir, 'sub.pem'), leafPath])).toMatch(/: OK/);
  });

  it('refuses a certificate for another key, a non-CA certificate, a wrong parent and an expired certificate', () => {
    const signed = externallySign('sub', true);
    const now = new Date();
    const refused = (message: string | RegExp) => expect.objectContaining({ kind: 'badCertificate', message: expect.stringMatching(message) });
    expect(() => acceptExternalCaCertificate({ id: 'x', certificate: signed, key: h.rootKey, publicUrl, now })).toThrow(refused(/certifies another public key, not file:root/));
    expect(() => acceptExternalCaCertificate({ id: 'x', certificate: externallySign('ee', false), key, publicUrl, now })).toThrow(refused(/not a CA certificate/));
    expect(() => acceptExternalCaCertificate({ id: 'x', certificate: signed, key, publicUrl, now, parent: h.root.certificate! })).toThrow(refused(/issuer name is not the subject of the given root/));
    expect(() => acceptExternalCaCertificate({ id: 'x', certificate: signed, key, publicUrl, now: new Date(now.getTime() + 6 * 365 * 86_400_000) })).toThrow(refused(/expired on/));
    expect(() => acceptExternalCaCertificate({ id: 'x', certificate: readFileSync(csrPath, 'utf8'), key, publicUrl, now })).toThrow(refused(/expected a PEM "CERTIFICATE" block, got "CERTIFICATE REQUEST"/));
  });
});
