import { it, expect } from '@jest/globals';
import { decodePem } from '../../../../ca/asn1/der.js';
import { parseCsr } from '../../../../ca/issuance/csr.js';
import { requestFromCsr } from '../../../../ca/issuance/request.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { makeHierarchy, opensslCsr } from '../support.js';

const badCsr = (message: string | RegExp) =>
  expect.objectContaining({ kind: 'badCsr', message: typeof message === 'string' ? message : expect.stringMatching(message) });

describeWithProgram('openssl', 'openssl')('parseCsr', () => {
  const ec = ['EC', 'ec_paramgen_curve:P-256'];

  it('reads PEM text, PEM bytes and DER, with the Vietnamese subject and requested names', () => {
    const pem = opensslCsr(ec, '/C=VN/L=Sóc Trăng/O=Sở Tư pháp/CN=Trần Thị Bé/UID=CCCD:094187001234', ['-addext', 'subjectAltName=email:ttbe@soctrang.gov.vn,DNS:tuphap.soctrang.gov.vn']);
    const fromText = parseCsr(pem);
    expect(fromText.subject.map((a) => `${a.type}=${a.value}`)).toEqual(['C=VN', 'L=Sóc Trăng', 'O=Sở Tư pháp', 'CN=Trần Thị Bé', 'UID=CCCD:094187001234']);
    expect(fromText).toMatchObject({ signatureAlgorithm: 'ecdsa-with-SHA256', requestedEmails: ['ttbe@soctrang.gov.vn'], requestedDnsNames: ['tuphap.soctrang.gov.vn'], requestedOtherNames: [] });
    expect(parseCsr(new TextEncoder().encode(pem)).spki).toEqual(fromText.spki);
    expect(parseCsr(decodePem(pem)[0].der).der).toEqual(fromText.der);
    expect(requestFromCsr(fromText).subject).toEqual({ C: 'VN', L: 'Sóc Trăng', O: 'Sở Tư pháp', CN: 'Trần Thị Bé', UID: ['CCCD:094187001234'] });
  });

  it('reads RSA-PSS and P-521 requests', () => {
    expect(parseCsr(opensslCsr(['RSA-PSS', 'rsa_keygen_bits:2048'], '/CN=pss', ['-sigopt', 'rsa_padding_mode:pss'])).signatureAlgorithm).toMatch(/^RSASSA-PSS \(SHA-256/);
    expect(parseCsr(opensslCsr(['EC', 'ec_paramgen_curve:P-521'], '/CN=p521', ['-sha512'])).signatureAlgorithm).toBe('ecdsa-with-SHA512');
  });

  it('refuses malformed DER, trailing bytes, text that is not PEM, and PEM of another type', async () => {
    expect(() => parseCsr(Uint8Array.of(0x30, 0x82, 0x01))).toThrow(badCsr(/^CSR: malformed DER/));
    const der = decodePem(opensslCsr(ec))[0].der;
    expect(() => parseCsr(Uint8Array.from([...der, 0, 0]))).toThrow(badCsr('CSR: 2 trailing byte(s) after the DER value'));
    expect(() => parseCsr('hello')).toThrow(badCsr(/expected PEM \("-----BEGIN CERTIFICATE REQUEST-----"\) or DER bytes/));
    expect(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----\n')).toThrow(badCsr(/invalid base64/));
    const { issuing } = await makeHierarchy();
    const certificatePem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(issuing.certificate!).toString('base64')}\n-----END CERTIFICATE-----\n`;
    expect(() => parseCsr(certificatePem)).toThrow(badCsr('CSR: expected a PEM "CERTIFICATE REQUEST" block, got "CERTIFICATE"'));
    expect(() => parseCsr(issuing.certificate!)).toThrow(badCsr(/^CSR: not a valid structure/));
  });

  it('refuses a CSR whose signature does not verify, or is SHA-1', () => {
    const der = decodePem(opensslCsr(['RSA', 'rsa_keygen_bits:2048']))[0].der;
    const tampered = Uint8Array.from(der);
    tampered[tampered.length - 1] ^= 0x01;
    expect(() => parseCsr(tampered)).toThrow(badCsr('CSR signature does not verify with its public key (damaged or altered request)'));
    expect(() => parseCsr(opensslCsr(ec, '/CN=old', ['-sha1']))).toThrow(badCsr('CSR is signed with SHA-1 (ecdsa-with-SHA1); sign it with SHA-256 or stronger'));
  });

  it('refuses subjectAltName types the CA does not issue, and unsupported subject attributes', () => {
    const ip = parseCsr(opensslCsr(ec, '/CN=x', ['-addext', 'subjectAltName=IP:10.0.0.1']));
    expect(ip.requestedOtherNames).toEqual(['iPAddress 0a000001']);
    expect(() => requestFromCsr(ip)).toThrow(expect.objectContaining({ kind: 'policyViolation', message: 'ip-address: no profile certifies IP addresses; CSR requests subjectAltName entries the CA does not issue: iPAddress 0a000001' }));
    const serial = parseCsr(opensslCsr(ec, '/CN=x/serialNumber=123'));
    expect(() => requestFromCsr(serial)).toThrow('CSR subject: subject attribute SERIALNUMBER (2.5.4.5) is not supported');
    expect(requestFromCsr(serial, { subject: { CN: 'y' } }).subject).toEqual({ CN: 'y' });
  });

  it('hands out the same result for the same bytes again (memo), copied, and refuses a tampered copy of a CSR it has seen pass', () => {
    const der = decodePem(opensslCsr(ec, '/C=VN/CN=Lê Văn Memo', ['-addext', 'subjectAltName=email:memo@soctrang.gov.vn']))[0].der;
    const first = parseCsr(der);
    first.requestedEmails.push('changed@example.org');
    first.subject[0].value = 'XX';
    first.spki[0] ^= 0xff;
    const again = parseCsr(Uint8Array.from(der));
    expect(again.requestedEmails).toEqual(['memo@soctrang.gov.vn']);
    expect(again.subject.map((a) => `${a.type}=${a.value}`)).toEqual(['C=VN', 'CN=Lê Văn Memo']);
    expect(again.spki[0]).toBe(0x30);
    const tampered = Uint8Array.from(der);
    tampered[tampered.length - 1] ^= 0x01;
    // A failure is never kept: refused the first time and every time after.
    for (let i = 0; i < 2; i++) expect(() => parseCsr(tampered)).toThrow(badCsr(/^CSR signature|^CSR: /));
    expect(parseCsr(der).requestedEmails).toEqual(['memo@soctrang.gov.vn']);
  });
});
