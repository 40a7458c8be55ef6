import 'reflect-metadata';
import { describe, it, expect, beforeAll } from '@jest/globals';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { certificateFacts, parseCertificate } from '../../../../ca/asn1/certificate.js';
import { toHex } from '../../../../ca/asn1/der.js';
import { issuerUrls } from '../../../../ca/issuance/issuer.js';
import { lintCertificate } from '../../../../ca/issuance/lint.js';
import { prepareCertificate } from '../../../../ca/issuance/prepare.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import { newSerial, serialEncodingProblem, serialProblem } from '../../../../ca/issuance/serial.js';
import { signCertificate } from '../../../../ca/issuance/sign.js';
import { buildTemplate, validityEnd } from '../../../../ca/issuance/template.js';
import { CaError } from '../../../../ca/errors.js';
import { caSubject, makeHierarchy, officialSubject, publicUrl, sealSubject, t0, type Hierarchy } from '../support.js';

let h: Hierarchy;
beforeAll(async () => {
  h = await makeHierarchy();
});

const fixedSerial = '0123456789abcdef0123456789abcdef';
const holderKey = () => h.store.generate({ type: 'ec', curve: 'P-256' }, `holder-${newSerial()}`);

describe('serial numbers', () => {
  it('are canonical, positive and at most 17 octets once encoded, for any 16 random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => bytes.every((b) => b === 0) || serialProblem(newSerial(() => bytes)) === null));
    expect(newSerial(() => new Uint8Array(16).fill(0x80))).toBe('80'.repeat(16));
    expect(newSerial(() => Uint8Array.of(0, 0, 0x12, ...new Uint8Array(13).fill(1)))).toBe(`12${'01'.repeat(13)}`);
  });

  it('are checked against RFC 5280 §4.1.2.2 and X.690', () => {
    expect(serialProblem('0012')).toMatch(/leading zero octet/);
    expect(serialProblem('00')).toMatch(/zero/);
    expect(serialProblem('01'.repeat(21))).toMatch(/21 octets/);
    expect(serialProblem('80'.repeat(20))).toMatch(/21 octets/);
    expect(serialProblem('0ABC')).toMatch(/not lower-case hex/);
    expect(serialEncodingProblem(Uint8Array.of(0x80))).toMatch(/negative/);
    expect(serialEncodingProblem(Uint8Array.of(0, 0x12))).toMatch(/not minimally encoded/);
    expect(serialEncodingProblem(Uint8Array.of(0, 0x92))).toBeNull();
  });
});

describe('validity', () => {
  it('counts calendar periods inclusively and keeps month ends', () => {
    expect(validityEnd(new Date('2024-02-29T10:00:00.750Z'), { years: 3 }).toISOString()).toBe('2027-02-28T09:59:59.000Z');
    expect(validityEnd(new Date('2025-01-31T00:00:00Z'), { months: 1 }).toISOString()).toBe('2025-02-27T23:59:59.000Z');
    expect(validityEnd(new Date('2025-07-01T08:00:00Z'), { days: 30, hours: 12 }).toISOString()).toBe('2025-07-31T19:59:59.000Z');
  });
});

describe('buildTemplate', () => {
  it('is pure: the same inputs give the same bytes, and a later time different ones', async () => {
    const request = requestForKey((await holderKey()).spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] });
    const profile = h.profile('official-signing');
    const a = buildTemplate(request, profile, h.issuing, t0, fixedSerial);
    const b = buildTemplate(request, profile, h.issuing, t0, fixedSerial);
    expect(toHex(a.tbs)).toBe(toHex(b.tbs));
    expect(toHex(buildTemplate(request, profile, h.issuing, new Date(t0.getTime() + 1000), fixedSerial).tbs)).not.toBe(toHex(a.tbs));
    expect(a).toMatchObject({ serial: fixedSerial, notBefore: t0, validityTruncated: false, profileId: 'official-signing', issuerId: 'issuing-1' });
    expect(a.notAfter.toISOString()).toBe('2028-07-01T07:59:59.000Z');
  });

  it('ends with the issuer at the latest, and refuses an issuer that is not valid now', async () => {
    const request = requestForKey((await holderKey()).spki, sealSubject);
    const shortIssuer = { ...h.issuing, notAfter: new Date('2027-01-01T00:00:00Z') };
    const prepared = buildTemplate(request, h.profile('organisation-seal'), shortIssuer, t0, fixedSerial);
    expect(prepared).toMatchObject({ notAfter: shortIssuer.notAfter, validityTruncated: true });
    expect(() => buildTemplate(request, h.profile('organisation-seal'), h.issuing, new Date('2060-01-01'), fixedSerial)).toThrow(expect.objectContaining({ kind: 'misconfigured' }));
    expect(() => buildTemplate(request, h.profile('organisation-seal'), h.issuing, t0, '0080')).toThrow(/leading zero octet/);
  });
});

describe('prepare → lint → sign', () => {
  it.each([
    ['official-signing', officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] }],
    ['organisation-seal', sealSubject, {}],
    ['tls-server', { C: 'VN', O: 'Sở Thông tin và Truyền thông', CN: 'dichvucong.soctrang.gov.vn' }, { dnsNames: ['dichvucong.soctrang.gov.vn', 'www.dichvucong.soctrang.gov.vn'] }],
    ['ocsp-signer', { C: 'VN', O: 'Ủy ban nhân dân tỉnh Sóc Trăng', CN: 'Sóc Trăng OCSP 1' }, {}],
  ] as const)('issues a lint-clean %s certificate that verifies', async (profileId, subject, names) => {
    const key = await holderKey();
    const prepared = prepareCertificate({ request: requestForKey(key.spki, subject, names), profile: h.profile(profileId), issuer: h.issuing, now: t0, serial: newSerial() });
    const der = await signCertificate(prepared, h.issuing, h.issuingKey);
    expect(lintCertificate(der, h.profile(profileId), h.issuing)).toEqual([]);
    const certificate = new x509.X509Certificate(Buffer.from(der));
    const issuerCertificate = new x509.X509Certificate(Buffer.from(h.issuing.certificate!));
    expect(await certificate.verify({ publicKey: issuerCertificate.publicKey, signatureOnly: true })).toBe(true);
    expect(certificate.serialNumber.toLowerCase()).toBe(prepared.serial);
  });

  it('gives RSA keys keyEncipherment where the profile asks for it, never EC keys', async () => {
    const usages = async (spec: Parameters<typeof h.store.generate>[0]) => {
      const key = await h.store.generate(spec, `tls-${newSerial()}`);
      const prepared = prepareCertificate({ request: requestForKey(key.spki, { C: 'VN' }, { dnsNames: ['a.soctrang.gov.vn'] }), profile: h.profile('tls-server'), issuer: h.issuing, now: t0, serial: newSerial() });
      return certificateFacts(parseCertificate(await signCertificate(prepared, h.issuing, h.issuingKey)).certificate).keyUsage;
    };
    expect(await usages({ type: 'rsa', bits: 2048 })).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(await usages({ type: 'ec', curve: 'P-256' })).toEqual(['digitalSignature']);
  });

  it('lint catches what the profile and issuer do not allow', async () => {
    const key = await holderKey();
    const request = requestForKey(key.spki, officialSubject, { emails: ['ntatuyet@soctrang.gov.vn'] });
    const profile = h.profile('official-signing');
    const codes = (tbs: Uint8Array, p = profile, issuer = h.issuing) => lintCertificate(tbs, p, issuer).map((x) => x.code);

    expect(codes(buildTemplate(request, { ...profile, policies: [] }, h.issuing, t0, fixedSerial).tbs)).toEqual(['ext.certificatePolicies.presence']);
    expect(codes(buildTemplate(request, { ...profile, validity: { years: 4 } }, h.issuing, t0, fixedSerial).tbs)).toEqual(['validity.profile']);
    expect(codes(buildTemplate(request, profile, h.issuing, t0, fixedSerial).tbs, profile, { ...h.issuing, notAfter: new Date('2027-01-01') })).toEqual(['validity.issuer']);
    const otherUrls = { ...h.issuing, urls: issuerUrls('https://evil.example', 'issuing-1') };
    expect(codes(buildTemplate(request, profile, otherUrls, t0, fixedSerial).tbs)).toEqual([
      'ext.cRLDistributionPoints.value', 'ext.freshestCRL.value', 'ext.authorityInfoAccess.ocsp', 'ext.authorityInfoAccess.caIssuers',
    ]);
    expect(codes(buildTemplate(request, profile, h.issuing, t0, fixedSerial).tbs, profile, h.root)).toEqual(
      expect.arrayContaining(['signature.algorithm', 'issuer.name', 'ext.authorityKeyIdentifier.value']),
    );
    expect(codes(buildTemplate({ ...request, subject: { ...officialSubject, UID: ['CCCD:1'] } }, profile, h.issuing, t0, fixedSerial).tbs)).toEqual(['subject.policy', 'subject.policy']);
    expect(codes(buildTemplate(request, h.profile('organisation-seal'), h.issuing, t0, fixedSerial).tbs)).toContain('ext.certificatePolicies.value');
  });

  it('refuses to certify a CA under an issuer with pathLen 0 (lint), and to sign with the wrong key', async () => {
    const key = await holderKey();
    expect(() =>
      prepareCertificate({ request: requestForKey(key.spki, caSubject('Sub-sub CA')), profile: h.profile('issuing-ca'), issuer: h.issuing, now: t0, serial: newSerial() }),
    ).toThrow(expect.objectContaining({ kind: 'lintFailed', message: expect.stringContaining('[ext.basicConstraints.issuer] issuer issuing-1 has pathLen 0') }));
    const prepared = prepareCertificate({ request: requestForKey(key.spki, sealSubject), profile: h.profile('organisation-seal'), issuer: h.issuing, now: t0, serial: newSerial() });
    await expect(signCertificate(prepared, h.issuing, h.rootKey)).rejects.toThrow(new CaError('misconfigured', 'key file:root is not the key of issuer issuing-1'));
    await expect(signCertificate(prepared, h.root, h.rootKey)).rejects.toMatchObject({ kind: 'internal' });
  });
});

describe('CA hierarchy', () => {
  it('makes a self-signed root and an issuing CA with pathLen 0 pointing at the root\'s CRL and certificate', () => {
    const root = certificateFacts(parseCertificate(h.root.certificate!).certificate);
    expect(root).toMatchObject({ ca: true, pathLenConstraint: null, keyUsage: ['keyCertSign', 'cRLSign'] });
    expect(toHex(root.subject)).toBe(toHex(root.issuer));
    expect(toHex(root.authorityKeyIdentifier!)).toBe(toHex(root.subjectKeyIdentifier!));
    expect(lintCertificate(h.root.certificate!, h.profile('root-ca'), h.root)).toEqual([]);
    const issuing = certificateFacts(parseCertificate(h.issuing.certificate!).certificate);
    expect(issuing).toMatchObject({ ca: true, pathLenConstraint: 0, keyUsage: ['keyCertSign', 'cRLSign'] });
    expect(toHex(issuing.authorityKeyIdentifier!)).toBe(toHex(root.subjectKeyIdentifier!));
    expect(lintCertificate(h.issuing.certificate!, h.profile('issuing-ca'), h.root)).toEqual([]);
    expect(h.issuing.urls).toEqual({
      crl: `${publicUrl}/crl/issuing-1.crl`,
      deltaCrl: `${publicUrl}/crl/issuing-1-delta.crl`,
      caIssuers: `${publicUrl}/ca/issuing-1.crt`,
      ocsp: `${publicUrl}/ocsp`,
    });
  });

  it('signs with RSA-PSS when the issuing key is RSA-PSS', async () => {
    const pss = await makeHierarchy({ rootSpec: { type: 'rsa', bits: 2048 }, issuingSpec: { type: 'rsa', bits: 2048, pss: true } });
    expect(pss.issuing.signatureAlgorithm).toEqual({ name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 });
    const key = await holderKey();
    const prepared = prepareCertificate({ request: requestForKey(key.spki, sealSubject), profile: pss.profile('organisation-seal'), issuer: pss.issuing, now: t0, serial: newSerial() });
    const der = await signCertificate(prepared, pss.issuing, pss.issuingKey);
    expect(lintCertificate(der, pss.profile('organisation-seal'), pss.issuing)).toEqual([]);
  });
});
