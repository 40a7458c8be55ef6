/**
 * The name policy's kept verdicts (ca/issuance/name-policy.ts namePolicyProblems) give exactly
 * what computing afresh gives, for valid names and for every mutation of them that the policy
 * refuses (house style: lint-lean.test.ts); a refusal is never kept; a kept verdict cannot be
 * changed by its caller; another profile (or the same one reloaded) is judged on its own rules.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { namePolicyProblems, namePolicyProblemsAfresh } from '../../../../ca/issuance/name-policy.js';
import { requestForKey, type IssuanceRequest } from '../../../../ca/issuance/request.js';
import type { SubjectFields } from '../../../../ca/asn1/names.js';
import { loadProfiles, withOperatorSettings, type Profiles } from '../../../../ca/profiles/profile.js';

const spkiOf = () => new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));
const spki = spkiOf();
let profiles: Profiles;
beforeAll(async () => {
  profiles = withOperatorSettings(await loadProfiles(), { dnsSuffixes: { 'tls-server': ['soctrang.gov.vn'] } });
});

const official: SubjectFields = { C: 'VN', L: 'Sóc Trăng', O: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', OU: ['Phòng Quản lý ngân sách'], CN: 'Nguyễn Văn An', UID: ['CCCD:094100012345'] };
const mutations: Array<[string, (s: SubjectFields) => SubjectFields]> = [
  ['as given', (s) => s],
  ['NFD name', (s) => ({ ...s, CN: s.CN!.normalize('NFD') })],
  ['extra spaces', (s) => ({ ...s, CN: `  ${s.CN}  ` })],
  ['no CN', ({ CN: _cn, ...s }) => s],
  ['CN undefined', (s) => ({ ...s, CN: undefined })],
  ['bad CCCD', (s) => ({ ...s, UID: ['CCCD:12'] })],
  ['two CCCDs', (s) => ({ ...s, UID: ['CCCD:094100012345', 'CCCD:094100012346'] })],
  ['control character', (s) => ({ ...s, CN: 'Nguyễn\u0007Văn An' })],
  ['bidi override', (s) => ({ ...s, CN: 'Nguyễn \u202eVăn An' })],
  ['mixed scripts', (s) => ({ ...s, CN: 'Nguyễn Văn Аn' })],
  ['country not VN', (s) => ({ ...s, C: 'US' })],
  ['no UID', ({ UID: _uid, ...s }) => s],
];

function both(request: IssuanceRequest, profileId: string) {
  const profile = profiles.get(profileId)!;
  return { kept: namePolicyProblems(request, profile), afresh: namePolicyProblemsAfresh(request, profile) };
}

describe('the name policy, verdicts kept', () => {
  it('gives what computing afresh gives, first time and again, for every mutation and every e-mail', () => {
    for (const [, mutate] of mutations) {
      for (const emails of [[], ['an.nv@soctrang.gov.vn'], ['AN.NV@SOCTRANG.GOV.VN '], ['not an address'], ['ân@soctrang.gov.vn']]) {
        const request = requestForKey(spki, mutate(official), { emails });
        for (let round = 0; round < 3; round++) {
          const { kept, afresh } = both(request, 'official-signing');
          expect(kept).toStrictEqual(afresh);
          expect(kept.request.spki).toBe(request.spki);
        }
      }
    }
  });

  it('keeps one verdict for the same names in any order of the subject, and never lends it to other values', () => {
    const profile = profiles.get('official-signing')!;
    const reversed = (s: SubjectFields) => Object.fromEntries(Object.entries(s).reverse()) as SubjectFields;
    const sorted = (s: SubjectFields) => Object.fromEntries(Object.entries(s).sort(([a], [b]) => (a < b ? -1 : 1))) as SubjectFields;
    for (const [, mutate] of mutations) {
      for (const order of [(s: SubjectFields) => s, reversed, sorted]) {
        // Judged first in the order given (kept if valid), then asked again in another order.
        namePolicyProblems(requestForKey(spki, mutate(official)), profile);
        const { kept, afresh } = both(requestForKey(spki, order(mutate(official))), 'official-signing');
        expect(kept).toStrictEqual(afresh);
      }
    }
    // The attack a key without the values would let through: valid names kept, then the same
    // attributes in another order with a value the policy refuses.
    expect(namePolicyProblems(requestForKey(spki, official), profile).problems).toEqual([]);
    const forged = reversed({ ...official, UID: ['CCCD:12'] });
    expect(namePolicyProblems(requestForKey(spki, forged), profile).problems).toEqual(namePolicyProblemsAfresh(requestForKey(spki, forged), profile).problems);
    expect(namePolicyProblems(requestForKey(spki, forged), profile).problems.length).toBeGreaterThan(0);
  });

  it('puts back the public key of the request asked about, not of the one first judged', () => {
    const other = spkiOf();
    namePolicyProblems(requestForKey(spki, official), profiles.get('official-signing')!);
    const again = namePolicyProblems(requestForKey(other, official), profiles.get('official-signing')!);
    expect(again.request.spki).toBe(other);
  });

  it('DNS names: the same verdicts as afresh, under the suffixes and outside them', () => {
    for (const name of ['dichvucong.soctrang.gov.vn', 'www.google.com', '*.gov.vn', 'DICHVUCONG.SOCTRANG.GOV.VN.', 'bad_name.soctrang.gov.vn']) {
      const request = requestForKey(spki, { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: name }, { dnsNames: [name] });
      for (let round = 0; round < 2; round++) {
        const { kept, afresh } = both(request, 'tls-server');
        expect(kept).toStrictEqual(afresh);
      }
    }
  });

  it('a caller changing a verdict it got changes nothing kept', () => {
    const profile = profiles.get('official-signing')!;
    const first = namePolicyProblems(requestForKey(spki, official, { emails: ['an.nv@soctrang.gov.vn'] }), profile);
    first.request.subject.CN = 'Someone Else';
    first.request.emails.push('evil@example.com');
    const again = namePolicyProblems(requestForKey(spki, official, { emails: ['an.nv@soctrang.gov.vn'] }), profile);
    expect(again.request.subject.CN).toBe('Nguyễn Văn An');
    expect(again.request.emails).toEqual(['an.nv@soctrang.gov.vn']);
  });

  it('a verdict kept for one profile is not the verdict of another, nor of the same profile reloaded with other rules', async () => {
    const request = requestForKey(spki, { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: 'portal.cantho.gov.vn' }, { dnsNames: ['portal.cantho.gov.vn'] });
    expect(namePolicyProblems(request, profiles.get('tls-server')!).problems).toHaveLength(1);
    const reloaded = withOperatorSettings(await loadProfiles(), { dnsSuffixes: { 'tls-server': ['cantho.gov.vn'] } });
    expect(namePolicyProblems(request, reloaded.get('tls-server')!).problems).toEqual([]);
    expect(namePolicyProblems(request, profiles.get('tls-server')!).problems).toHaveLength(1);
    expect(namePolicyProblems(request, profiles.get('official-signing')!)).toStrictEqual(namePolicyProblemsAfresh(request, profiles.get('official-signing')!));
  });
});
