import { describe, it, expect, beforeAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { publicKeyFingerprint } from '../../../../ca/asn1/public-key.js';
import { parseCsr } from '../../../../ca/issuance/csr.js';
import type { SubjectFields } from '../../../../ca/asn1/names.js';
import { checkKeyPolicy, keyPolicyProblems } from '../../../../ca/issuance/key-policy.js';
import { checkNamePolicy, namePolicyProblems } from '../../../../ca/issuance/name-policy.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestFromCsr, requestForKey, type IssuanceRequest } from '../../../../ca/issuance/request.js';
import { newSerial } from '../../../../ca/issuance/serial.js';
import { describeWithProgram } from '../../../support/system-tools.js';
import { makeHierarchy, officialSubject, opensslCsr, t0, type Hierarchy } from '../support.js';

const violation = (message: string | RegExp) =>
  expect.objectContaining({ kind: 'policyViolation', message: typeof message === 'string' ? message : expect.stringMatching(message) });

let h: Hierarchy;
beforeAll(async () => {
  h = await makeHierarchy();
});

describeWithProgram('openssl', 'openssl')('key policy', () => {
  const spki = (newkey: string[]) => parseCsr(opensslCsr(newkey)).spki;

  it('accepts the profile\'s key types', () => {
    expect(checkKeyPolicy(spki(['EC', 'ec_paramgen_curve:P-384']), h.profile('official-signing'))).toMatchObject({ type: 'ec', curve: 'P-384' });
    expect(checkKeyPolicy(spki(['RSA', 'rsa_keygen_bits:3072']), h.profile('official-signing'))).toMatchObject({ type: 'rsa', bits: 3072 });
  });

  it('refuses RSA-1024, exponent 3, unknown and explicit curves, curves outside the profile and other algorithms', () => {
    const profile = h.profile('official-signing');
    expect(() => checkKeyPolicy(spki(['RSA', 'rsa_keygen_bits:1024']), profile)).toThrow(violation('RSA keys below 2048 bits are not accepted (got RSA-1024)'));
    expect(() => checkKeyPolicy(spki(['RSA', 'rsa_keygen_bits:2048', 'rsa_keygen_pubexp:3']), profile)).toThrow(violation('RSA public exponent 3 is not acceptable (must be odd, from 65537 to 2^256-1)'));
    expect(() => checkKeyPolicy(spki(['EC', 'ec_paramgen_curve:secp256k1']), profile)).toThrow(
      violation('EC key on an unknown or disallowed curve: secp256k1 (1.3.132.0.10); profile official-signing allows EC P-256, P-384; RSA 2048, 3072, 4096'),
    );
    expect(() => checkKeyPolicy(spki(['EC', 'ec_paramgen_curve:P-256', 'ec_param_enc:explicit']), profile)).toThrow(violation(/explicit curve parameters are not accepted/));
    expect(() => checkKeyPolicy(spki(['EC', 'ec_paramgen_curve:P-521']), profile)).toThrow(violation(/^EC P-521 keys are not allowed: profile official-signing allows/));
    expect(() => checkKeyPolicy(spki(['ED25519']), profile)).toThrow(violation(/^Ed25519 keys are not allowed/));
  });

  it('finds RSA moduli with small factors', () => {
    // RFC 8017 §A.1.1 RSAPublicKey with n = 2^2047 + 1, which 3 divides.
    const rsaKey = new asn1js.Sequence({ value: [asn1js.Integer.fromBigInt((1n << 2047n) + 1n), new asn1js.Integer({ value: 65537 })] });
    const algorithm = new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.1.1' }), new asn1js.Null()] });
    const spkiDer = new Uint8Array(new asn1js.Sequence({ value: [algorithm, new asn1js.BitString({ valueHex: rsaKey.toBER() })] }).toBER());
    expect(keyPolicyProblems(spkiDer, h.profile('tls-server')).problems).toEqual(['RSA modulus is divisible by 3: the key is broken']);
  });

  it('fingerprints keys for the key-reuse check (SHA-256 of the SubjectPublicKeyInfo)', () => {
    const der = spki(['EC', 'ec_paramgen_curve:P-256']);
    expect(publicKeyFingerprint(der)).toBe(createHash('sha256').update(der).digest('hex'));
  });
});

describe('name policy', () => {
  const request = (subject: IssuanceRequest['subject'], names: { emails?: string[]; dnsNames?: string[] } = {}) => requestForKey(h.issuingKey.spki, subject, names);

  it('normalises names: NFC, spaces, canonical UIDs, lower-case mail, E mirrored into subjectAltName', () => {
    const normalised = checkNamePolicy(
      request({ ...officialSubject, CN: '  Nguyễn   Thị Ánh Tuyết '.normalize('NFD'), C: 'vn', UID: ['cccd: 094187001234'], E: 'NTATuyet@SocTrang.gov.vn' }),
      h.profile('official-signing'),
    );
    expect(normalised.subject).toMatchObject({ C: 'VN', CN: 'Nguyễn Thị Ánh Tuyết', UID: ['CCCD:094187001234'], E: 'ntatuyet@soctrang.gov.vn' });
    expect(normalised.emails).toEqual(['ntatuyet@soctrang.gov.vn']);
  });

  it('names each problem: missing attribute, invalid CCCD, wrong country, disallowed attribute and identifier', () => {
    const { O: _o, ...withoutO } = officialSubject;
    expect(() => checkNamePolicy(request(withoutO), h.profile('official-signing'))).toThrow(
      violation('subject is missing required attribute O (organizationName) (profile official-signing)'),
    );
    expect(() => checkNamePolicy(request({ ...officialSubject, UID: ['CCCD:12345'] }), h.profile('official-signing'))).toThrow(
      violation('UID: CCCD must be 12 digits, got "12345"; UID: profile official-signing requires one of CCCD:, CMND:, HC:'),
    );
    const { problems } = namePolicyProblems(request({ ...officialSubject, C: 'US', ST: 'x'.repeat(129), UID: ['CCCD:094187001234', 'CCCD:094187001235', 'MNS:1234567'] }), h.profile('official-signing'));
    expect(problems).toEqual([
      'subject C (countryName) must be VN, got "US"',
      'subject ST (stateOrProvinceName) is longer than 128 characters (RFC 5280 Appendix A)',
      'UID: MNS is not allowed by profile official-signing',
      'UID: more than one CCCD identifier',
    ]);
    expect(namePolicyProblems(request({ C: 'VN', CN: 'x', O: 'y', UID: ['MST:0100109106'] }), h.profile('ocsp-signer')).problems).toEqual([
      'subject attribute UID (userId) is not allowed by profile ocsp-signer',
    ]);
  });

  it('checks subjectAltName rules of the profile', () => {
    const tls = h.profile('tls-server');
    expect(checkNamePolicy(request({ C: 'VN', CN: 'DichVuCong.SocTrang.gov.vn' }, { dnsNames: ['dichvucong.soctrang.gov.vn.'] }), tls).dnsNames).toEqual(['dichvucong.soctrang.gov.vn']);
    expect(namePolicyProblems(request({ C: 'VN', CN: 'a.soctrang.gov.vn' }, { dnsNames: ['b.soctrang.gov.vn', 'bad_name.vn'], emails: ['a@b.vn'] }), tls).problems).toEqual([
      'subjectAltName: "bad_name.vn" is not a valid DNS name',
      'subjectAltName: profile tls-server does not allow an e-mail address',
      'subject CN "a.soctrang.gov.vn" must be one of the DNS names (b.soctrang.gov.vn, bad_name.vn)',
    ]);
    expect(namePolicyProblems(request({ C: 'VN' }), tls).problems).toEqual(['subjectAltName: profile tls-server requires a DNS name']);
    expect(namePolicyProblems(request(officialSubject, { emails: ['người@soctrang.gov.vn'] }), h.profile('official-signing')).problems).toEqual([
      'subjectAltName: e-mail "người@soctrang.gov.vn": internationalised addresses (RFC 9598) are not supported',
    ]);
  });
});

describeWithProgram('openssl', 'openssl')('prepareCertificate refuses bad requests before building anything', () => {
  it.each<[string[], SubjectFields, string | RegExp]>([
    [['RSA', 'rsa_keygen_bits:1024'], officialSubject, 'RSA keys below 2048 bits are not accepted (got RSA-1024)'],
    [['EC', 'ec_paramgen_curve:secp256k1'], officialSubject, /unknown or disallowed curve: secp256k1/],
    [['EC', 'ec_paramgen_curve:P-256'], { ...officialSubject, L: undefined }, 'subject is missing required attribute L (localityName) (profile official-signing)'],
    [['EC', 'ec_paramgen_curve:P-256'], { ...officialSubject, UID: ['CCCD:0941870012'] }, /^UID: CCCD must be 12 digits, got "0941870012"/],
  ])('%j', (newkey, subject, message) => {
    const csr = parseCsr(opensslCsr([...newkey]));
    expect(() =>
      prepareCertificate({ request: requestFromCsr(csr, { subject }), profile: h.profile('official-signing'), issuer: h.issuing, now: t0, serial: newSerial() }),
    ).toThrow(violation(message));
  });
});
