/**
 * Characterisation: the administration console (/admin) as it renders today, in both languages:
 * dashboard, certificates (list, filters, detail), requests (list with the new-request form,
 * detail), portals, accounts, audit log, trust store, refused forms with the typed values kept,
 * the 403 pages, and the sign-in redirects. Golden snapshots for the move into one web layer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, type PageResponse } from '../../support/oidc-rp.js';
import { officialHolder, opensslCsr } from '../../support/ca-helpers.js';
import { official, officialWithPasskey, shot, signIn, signInStrongly, startCharacterisation, type Official, type Setup } from './harness.js';

let s: Setup;
let admin: Official;
let requester: Official;
const adminBrowser = new Browser();
const raBrowser = new Browser();
const serials: Record<'good' | 'revoked' | 'hold', string> = { good: '', revoked: '', hold: '' };
let pendingId = '';
let rejectedId = '';

/** A certificate through the RA: requested by the first officer, approved by the second. */
async function issue(cccd: string, name: string): Promise<string> {
  const { request } = await s.t.service.certificates.ra.submit(`user:${requester.account.id}`, { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder(cccd, name) });
  const { issued } = await s.t.service.certificates.ra.approve(`user:${admin.account.id}`, request.id);
  return issued!.serial;
}

beforeAll(async () => {
  s = await startCharacterisation();
  const a = await officialWithPasskey(s.t, 10, 'Võ Văn Quản Trị', ['admin', 'ra-officer']);
  admin = a.who;
  const r = await officialWithPasskey(s.t, 11, 'Hồ Thị Đăng Ký', ['ra-officer']);
  requester = r.who;
  await signInStrongly(s.t, adminBrowser, admin, a.passkey);
  await signInStrongly(s.t, raBrowser, requester, r.passkey);
  serials.good = await issue('094190009101', 'Nguyễn Văn Còn Hạn');
  serials.revoked = await issue('094190009102', 'Trần Thị Thu Hồi');
  serials.hold = await issue('094190009103', 'Lê Văn Tạm Dừng');
  const ca = s.t.service.certificates.ca;
  await ca.changeStatus({ actor: `user:${admin.account.id}`, serial: serials.revoked, action: 'revoke', reason: 'keyCompromise', comment: 'mất thiết bị' });
  await ca.changeStatus({ actor: `user:${admin.account.id}`, serial: serials.hold, action: 'hold', comment: 'nghi lộ khoá' });
  const ra = s.t.service.certificates.ra;
  pendingId = (await ra.submit(`user:${requester.account.id}`, { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder('094190009104', 'Phạm Thị Chờ Duyệt') })).request.id;
  rejectedId = (await ra.submit(`user:${requester.account.id}`, { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder('094190009105', 'Đỗ Văn Bị Từ Chối') })).request.id;
  await ra.reject(`user:${admin.account.id}`, rejectedId, 'thiếu hồ sơ');
  await s.t.service.clients.add('test', { clientId: 'cong-so-tai-chinh', name: 'Cổng Sở Tài chính', redirectUris: ['https://stc.soctrang.gov.vn/callback'], scopes: ['openid', 'profile'], firstParty: true });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const url = (path: string) => `${s.t.url}${path}`;
const withLang = (path: string, lang: string) => `${path}${path.includes('?') ? '&' : '?'}lang=${lang}`;

/** The page in Vietnamese and in English, one snapshot each. */
async function bothLanguages(browser: Browser, path: string): Promise<void> {
  for (const lang of ['vi', 'en']) expect(shot(await browser.get(url(withLang(path, lang))))).toMatchSnapshot(lang);
}

/** A multipart post as the browser sends the upload forms. */
async function upload(browser: Browser, path: string, fields: Record<string, string>): Promise<PageResponse> {
  const target = new URL(url(path));
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  const res = await fetch(target, { method: 'POST', body, redirect: 'manual', headers: { cookie: browser.jar.header(target), origin: target.origin, 'sec-fetch-site': 'same-origin', 'accept-language': 'vi' } });
  const location = res.headers.get('location');
  return { url: target, status: res.status, headers: res.headers, body: await res.text(), location: location ? new URL(location, target) : undefined };
}

const csrfOf = async (browser: Browser) => /name="csrf" value="([^"]+)"/.exec((await browser.get(url('/admin/requests?lang=vi'))).body)![1];

describe('console pages', () => {
  it('dashboard', async () => {
    await bothLanguages(adminBrowser, '/admin');
  });

  it('certificates list, without filters', async () => {
    await bothLanguages(adminBrowser, '/admin/certificates');
  });

  it('certificates list, filtered by status and profile', async () => {
    await bothLanguages(adminBrowser, '/admin/certificates?status=revoked&profile=official-signing');
  });

  it('certificates list, searched by national ID and by a text that matches nothing', async () => {
    expect(shot(await adminBrowser.get(url('/admin/certificates?nationalId=094190009101&lang=vi')))).toMatchSnapshot('national ID');
    expect(shot(await adminBrowser.get(url('/admin/certificates?q=kh%C3%B4ng-c%C3%B3-ai&expiresWithinDays=30&lang=vi')))).toMatchSnapshot('no result');
  });

  it('certificate detail: good, revoked, on hold', async () => {
    await bothLanguages(adminBrowser, `/admin/certificates/${serials.good}`);
    expect(shot(await adminBrowser.get(url(`/admin/certificates/${serials.revoked}?lang=vi`)))).toMatchSnapshot('revoked');
    expect(shot(await adminBrowser.get(url(`/admin/certificates/${serials.hold}?lang=vi&done=hold`)))).toMatchSnapshot('on hold, with the done notice');
  });

  it('certificate downloads: PEM, DER, chain, an unknown format', async () => {
    const headers = (res: PageResponse) => ({ status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition')?.replace(serials.good, '<serial>') ?? null, cacheControl: res.headers.get('cache-control'), csp: res.headers.get('content-security-policy') });
    const got: Record<string, unknown> = {};
    for (const format of ['pem', 'der', 'chain', 'txt']) got[format] = headers(await adminBrowser.get(url(`/admin/certificates/${serials.good}/${format}`)));
    expect(got).toMatchSnapshot();
  });

  it('an unknown certificate: the console’s not-found page', async () => {
    expect(shot(await adminBrowser.get(url('/admin/certificates/0123456789abcdef?lang=vi')))).toMatchSnapshot();
  });

  it('requests list with the new-request form', async () => {
    await bothLanguages(raBrowser, '/admin/requests');
    expect(shot(await raBrowser.get(url('/admin/requests?status=rejected&lang=vi')))).toMatchSnapshot('rejected only');
  });

  it('request detail: pending (for another officer, then for its requester), rejected', async () => {
    await bothLanguages(adminBrowser, `/admin/requests/${pendingId}`);
    expect(shot(await raBrowser.get(url(`/admin/requests/${pendingId}?lang=vi`)))).toMatchSnapshot('own request');
    expect(shot(await adminBrowser.get(url(`/admin/requests/${rejectedId}?lang=vi`)))).toMatchSnapshot('rejected');
  });

  it('portals', async () => {
    await bothLanguages(adminBrowser, '/admin/portals');
  });

  it('accounts list and an account', async () => {
    await bothLanguages(adminBrowser, '/admin/accounts');
    expect(shot(await adminBrowser.get(url(`/admin/accounts/${requester.account.id}?lang=vi`)))).toMatchSnapshot('account detail');
  });

  it('audit log, filtered by the administrator', async () => {
    await bothLanguages(adminBrowser, `/admin/audit?actor=${encodeURIComponent(`user:${admin.account.id}`)}`);
  });

  it('trust store', async () => {
    await bothLanguages(adminBrowser, '/admin/trust');
  });
});

describe('refused forms keep what was typed', () => {
  it('a request with an unreadable CSR', async () => {
    const csrf = await csrfOf(raBrowser);
    const res = await upload(raBrowser, '/admin/requests', { csrf, profile: 'official-signing', cn: 'Lê Văn Tám', uidType: 'CCCD', uidValue: '094190009199', o: 'SỞ Y TẾ', l: 'Sóc Trăng', csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----' });
    expect(shot(res)).toMatchSnapshot();
  });

  it('a portal with a bad client id', async () => {
    const csrf = await csrfOf(adminBrowser);
    const res = await adminBrowser.request(url('/admin/portals'), { method: 'POST', form: { csrf, clientId: 'x y', name: 'Sai', redirectUris: 'http://ke-gian.example/cb', scopes: 'openid', authMethod: 'client_secret_basic' }, headers: { origin: s.t.url } });
    expect(shot(res)).toMatchSnapshot();
  });

  it('an account without a full name', async () => {
    const csrf = await csrfOf(adminBrowser);
    const res = await adminBrowser.request(url('/admin/accounts'), { method: 'POST', form: { csrf, username: 'thieu.ten', nationalId: '094190009198', fullName: '', agency: 'SỞ Y TẾ', roles: 'official' }, headers: { origin: s.t.url } });
    expect(shot(res)).toMatchSnapshot();
  });

  it('a trust entry that is not a CA certificate', async () => {
    const csrf = await csrfOf(adminBrowser);
    expect(shot(await upload(adminBrowser, '/admin/trust', { csrf, kind: 'anchor', label: 'Thử', pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }))).toMatchSnapshot();
  });
});

describe('who may enter', () => {
  it('an official without a console role: 403 on the dashboard', async () => {
    const clerk = await official(s.t, 12, 'Bùi Văn Công Chức', ['official']);
    const browser = new Browser();
    expect(shot(await signIn(s.t, browser, clerk))).toMatchSnapshot('vi');
    expect(shot(await browser.get(url('/admin?lang=en')))).toMatchSnapshot('en');
  });

  it('an RA officer on the portals page: 403 (the action is not theirs)', async () => {
    expect(shot(await raBrowser.get(url('/admin/portals?lang=vi')))).toMatchSnapshot();
  });

  it('an RA officer after a password login only: the dashboard asks for step-up', async () => {
    const browser = new Browser();
    const officer = await official(s.t, 13, 'Cao Thị Mật Khẩu', ['ra-officer']);
    expect(shot(await signIn(s.t, browser, officer))).toMatchSnapshot();
  });

  it('without a session: the console signs in through the provider', async () => {
    expect(shot(await new Browser().get(url('/admin/certificates?status=good')))).toMatchSnapshot('GET');
    expect(shot(await new Browser().request(url('/admin/certificates/01/revoke'), { method: 'POST', form: { csrf: 'x', confirm: 'yes' }, headers: { origin: s.t.url } }))).toMatchSnapshot('POST');
  });

  it('the callback: an error from the provider, and a return path', async () => {
    expect(shot(await new Browser().get(url('/admin/callback?error=access_denied&error_description=huy')))).toMatchSnapshot('error');
    expect(shot(await new Browser().get(url(`/admin/callback?state=${Buffer.from('/admin/trust').toString('base64url')}`)))).toMatchSnapshot('return path');
    expect(shot(await new Browser().get(url(`/admin/callback?state=${Buffer.from('https://ke-gian.example/').toString('base64url')}`)))).toMatchSnapshot('foreign return path');
  });
});
