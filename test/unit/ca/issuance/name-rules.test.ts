import { describe, it, expect, beforeAll } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { namePolicyProblems } from '../../../../ca/issuance/name-policy.js';
import { requestForKey } from '../../../../ca/issuance/request.js';
import type { SubjectFields } from '../../../../ca/asn1/names.js';
import { loadProfiles, withOperatorSettings, type Profiles } from '../../../../ca/profiles/profile.js';
import { officialSubject } from '../support.js';

/**
 * Issue 18, defects 1 and 7: which DNS names and which subject strings a certificate may carry
 * (docs/ca.md, "Name policy"). Every case here was issued before.
 */
const spki = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
const tlsRequest = (...dnsNames: string[]) => requestForKey(spki, { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG' }, { dnsNames });

let shipped: Profiles;
let configured: Profiles;
beforeAll(async () => {
  shipped = await loadProfiles();
  configured = withOperatorSettings(shipped, { dnsSuffixes: { 'tls-server': ['soctrang.gov.vn', 'cantho.gov.vn'] } });
});

describe('DNS names under the profile\'s suffixes', () => {
  it('a profile without suffixes certifies no DNS name at all (the shipped tls-server)', () => {
    expect(namePolicyProblems(tlsRequest('dichvucong.soctrang.gov.vn'), shipped.get('tls-server')!).problems).toEqual(['dns-none: profile tls-server certifies no DNS names ("dichvucong.soctrang.gov.vn")']);
  });

  it('refuses the names of the report: other people\'s domains and the public suffix gov.vn', () => {
    const tls = configured.get('tls-server')!;
    for (const name of ['www.google.com', 'accounts.google.com', 'vietcombank.com.vn', 'chinhphu.vn', 'dichvucong.gov.vn', 'evilsoctrang.gov.vn', 'soctrang.gov.vn.evil.com']) {
      expect(namePolicyProblems(tlsRequest(name), tls).problems).toEqual([`dns-suffix: "${name}" is not at or below a DNS suffix profile tls-server allows (soctrang.gov.vn, cantho.gov.vn)`]);
    }
  });

  it('wildcards at or below an allowed suffix, never on a public suffix (the Public Suffix List)', () => {
    const tls = configured.get('tls-server')!;
    for (const name of ['*.gov.vn', '*.com.vn', '*.github.io']) {
      expect(namePolicyProblems(tlsRequest(name), tls).problems).toEqual([expect.stringMatching(new RegExp(`^dns-wildcard: "\\${name}": a wildcard never covers a public suffix`))]);
    }
    expect(namePolicyProblems(tlsRequest('*.chinhphu.vn'), tls).problems).toEqual([expect.stringMatching(/^dns-suffix: "\*\.chinhphu\.vn" is not at or below/)]);
    expect(namePolicyProblems(tlsRequest('*.vn'), tls).problems).toEqual(['subjectAltName: "*.vn" is not a valid DNS name']);
    for (const name of ['*.soctrang.gov.vn', '*.cantho.gov.vn', '*.dichvucong.soctrang.gov.vn']) expect(namePolicyProblems(tlsRequest(name), tls).problems).toEqual([]);
  });

  it('accepts names at and below the suffixes, case and trailing dot normalised', () => {
    const tls = configured.get('tls-server')!;
    const result = namePolicyProblems(tlsRequest('soctrang.gov.vn', 'DichVuCong.SocTrang.gov.vn.', 'a.b.cantho.gov.vn'), tls);
    expect(result.problems).toEqual([]);
    expect(result.request.dnsNames).toEqual(['soctrang.gov.vn', 'dichvucong.soctrang.gov.vn', 'a.b.cantho.gov.vn']);
  });

  it('refuses suffixes for a profile that forbids DNS names, and unknown profiles', () => {
    expect(() => withOperatorSettings(shipped, { dnsSuffixes: { 'official-signing': ['soctrang.gov.vn'] } })).toThrow(/DNS suffixes for a profile that forbids DNS names/);
    expect(() => withOperatorSettings(shipped, { dnsSuffixes: { 'no-such-profile': ['soctrang.gov.vn'] } })).toThrow(/CA_DNS_SUFFIXES: no certificate profile "no-such-profile"/);
    expect(() => withOperatorSettings(shipped, { dnsSuffixes: { 'tls-server': ['*.soctrang.gov.vn'] } })).toThrow(/expected a DNS zone/);
  });

  it('tls-server needs one approval by default; the operator may change it', () => {
    expect(shipped.get('tls-server')!.approvals).toBe(1);
    expect(withOperatorSettings(shipped, { approvals: { 'tls-server': 0 } }).get('tls-server')!.approvals).toBe(0);
  });
});

describe('subject strings: format characters and confusable scripts (Unicode Cf, UTS #39)', () => {
  const official = (subject: SubjectFields) => namePolicyProblems(requestForKey(spki, subject), configured.get('official-signing')!).problems;

  it.each([
    ['U+202E right-to-left override', 'Nguyễn Văn \u202EnaV'],
    ['U+200B zero-width space', 'Nguyễn\u200B Văn An'],
    ['U+2066 left-to-right isolate', 'Nguyễn Văn \u2066An'],
    ['U+00AD soft hyphen', 'Nguy\u00ADễn Văn An'],
  ])('refuses %s in a name', (_what, cn) => {
    expect(official({ ...officialSubject, CN: cn })).toEqual(['name-format: subject CN (commonName) contains invisible or bidirectional format characters (Unicode Cf)']);
  });

  it('refuses Latin mixed with Cyrillic or Greek (a Cyrillic "о" in SỞ TÀI CHÍNH), keeps Vietnamese', () => {
    expect(official({ ...officialSubject, O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG \u043E' })).toEqual(['name-confusable: subject O (organizationName) mixes confusable scripts (Latin, Cyrillic, Greek…)']);
    expect(official({ ...officialSubject, CN: 'Nguyễn Văn Αn' })).toEqual(['name-confusable: subject CN (commonName) mixes confusable scripts (Latin, Cyrillic, Greek…)']);
    expect(official({ ...officialSubject, CN: 'Nguyễn Thị Ánh Tuyết' })).toEqual([]);
    expect(official({ ...officialSubject, CN: 'Иван Петров' })).toEqual([]);
  });
});
