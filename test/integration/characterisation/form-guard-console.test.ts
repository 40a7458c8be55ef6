/**
 * Characterisation: the form guard of every console action (/admin), as a matrix: action ×
 * variant → marker. The valid-token submission proves the guard passes without doing anything
 * lasting where it can (a missing confirmation box, an invalid value); a reject really rejects a
 * throwaway request.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser } from '../../support/oidc-rp.js';
import { officialHolder, opensslCsr } from '../../support/ca-helpers.js';
import { officialWithPasskey, signInStrongly, startCharacterisation, type Setup } from './harness.js';
import { guardRow, type Encoding, type GuardTarget } from './guard.js';

let s: Setup;
const mine = new Browser();
const other = new Browser();
const tokens = { mine: '', other: '' };
const ids = { serial: '', pending: '', throwaway: '', account: '', passkey: '' };

beforeAll(async () => {
  s = await startCharacterisation();
  const a = await officialWithPasskey(s.t, 30, 'Kha Văn Quản Trị', ['admin', 'ra-officer']);
  const b = await officialWithPasskey(s.t, 31, 'Lâm Thị Quản Trị', ['admin', 'ra-officer']);
  const target = await officialWithPasskey(s.t, 32, 'Tạ Văn Đối Tượng', ['official']);
  await signInStrongly(s.t, mine, a.who, a.passkey);
  await signInStrongly(s.t, other, b.who, b.passkey);
  const csrfOf = async (browser: Browser) => /name="csrf" value="([^"]+)"/.exec((await browser.get(`${s.t.url}/admin/requests`)).body)![1];
  tokens.mine = await csrfOf(mine);
  tokens.other = await csrfOf(other);
  const ra = s.t.service.certificates.ra;
  const holder = (cccd: string) => ({ csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder(cccd) });
  const issued = await ra.submit(`user:${b.who.account.id}`, holder('094190009301'));
  ids.serial = (await ra.approve(`user:${a.who.account.id}`, issued.request.id)).issued!.serial;
  ids.pending = (await ra.submit(`user:${b.who.account.id}`, holder('094190009302'))).request.id;
  ids.throwaway = (await ra.submit(`user:${b.who.account.id}`, holder('094190009303'))).request.id;
  ids.account = target.who.account.id;
  ids.passkey = (await s.t.service.passkeys.list(target.who.account.id))[0].id;
  await s.t.service.clients.add('test', { clientId: 'cong-thu-nghiem', name: 'Cổng thử nghiệm', redirectUris: ['https://thu.soctrang.gov.vn/cb'], scopes: ['openid'], firstParty: true });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const TRUST_SHA = 'ab'.repeat(32);

/** Action path (filled in when the test runs) and the fields of the valid submission. */
const CASES: ReadonlyArray<readonly [name: string, encoding: Encoding, path: () => string, fields: Record<string, string>]> = [
  ['POST /admin/requests (upload, no CSR)', 'multipart', () => '/admin/requests', { profile: 'official-signing', cn: 'Người Thử' }],
  ['POST /admin/requests/:id/approve (not confirmed)', 'form', () => `/admin/requests/${ids.pending}/approve`, {}],
  ['POST /admin/requests/:id/reject', 'form', () => `/admin/requests/${ids.throwaway}/reject`, { reason: 'thử bộ lọc biểu mẫu' }],
  ['POST /admin/certificates/:serial/revoke (not confirmed)', 'form', () => `/admin/certificates/${ids.serial}/revoke`, { reason: 'keyCompromise' }],
  ['POST /admin/certificates/:serial/hold (not confirmed)', 'form', () => `/admin/certificates/${ids.serial}/hold`, {}],
  ['POST /admin/certificates/:serial/release (not confirmed)', 'form', () => `/admin/certificates/${ids.serial}/release`, {}],
  ['POST /admin/portals (add, invalid client id)', 'form', () => '/admin/portals', { clientId: 'x y', name: 'Sai', redirectUris: 'https://sai.example/cb', scopes: 'openid' }],
  ['POST /admin/portals/:clientId/rotate (not confirmed)', 'form', () => '/admin/portals/cong-thu-nghiem/rotate', {}],
  ['POST /admin/portals/:clientId/remove (not confirmed)', 'form', () => '/admin/portals/cong-thu-nghiem/remove', {}],
  ['POST /admin/accounts (create, no full name)', 'form', () => '/admin/accounts', { username: 'thu.bo.loc', nationalId: '094190009399', fullName: '', roles: 'official' }],
  ['POST /admin/accounts/:id/roles (unknown role)', 'form', () => `/admin/accounts/${ids.account}/roles`, { roles: 'vua' }],
  ['POST /admin/accounts/:id/disable (not confirmed)', 'form', () => `/admin/accounts/${ids.account}/disable`, {}],
  ['POST /admin/accounts/:id/enable (not confirmed)', 'form', () => `/admin/accounts/${ids.account}/enable`, {}],
  ['POST /admin/accounts/:id/passkeys/:pid/delete (not confirmed)', 'form', () => `/admin/accounts/${ids.account}/passkeys/${ids.passkey}/delete`, {}],
  ['POST /admin/account-changes/:id/approve (unknown change)', 'form', () => '/admin/account-changes/00000000-0000-4000-8000-000000000000/approve', {}],
  ['POST /admin/account-changes/:id/reject (no reason)', 'form', () => '/admin/account-changes/00000000-0000-4000-8000-000000000000/reject', {}],
  ['POST /admin/trust (upload, nothing)', 'multipart', () => '/admin/trust', { kind: 'anchor', label: 'Trống' }],
  ['POST /admin/trust/:sha256/remove (not confirmed)', 'form', () => `/admin/trust/${TRUST_SHA}/remove`, {}],
];

describe('form guard of the console', () => {
  it.each(CASES)('%s', async (_name, encoding, path, fields) => {
    const target: GuardTarget = { browser: mine, url: `${s.t.url}${path()}`, fields, token: tokens.mine, otherToken: tokens.other };
    expect(await guardRow(target, encoding)).toMatchSnapshot();
  });

  it('nothing lasting was done (except the throwaway request, rejected)', async () => {
    const ca = s.t.service.certificates;
    expect((await ca.ca.certificate(ids.serial)).status).toBe('good');
    expect((await ca.ra.get(ids.pending)).status).toBe('pending');
    expect((await ca.ra.get(ids.throwaway)).status).toBe('rejected');
    expect((await s.t.service.accounts.findById(ids.account))!.status).toBe('active');
    expect(await s.t.service.passkeys.list(ids.account)).toHaveLength(1);
    expect((await s.t.service.clients.list()).map((c) => c.clientId)).toContain('cong-thu-nghiem');
  });

  it('an action without a session: 401 whatever the guard variant', async () => {
    const target: GuardTarget = { browser: new Browser(), url: `${s.t.url}/admin/certificates/${ids.serial}/revoke`, fields: { confirm: 'yes' }, token: tokens.mine, otherToken: tokens.other };
    expect(await guardRow(target, 'form')).toMatchSnapshot();
  });
});
