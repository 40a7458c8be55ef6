/**
 * Characterisation: the server-rendered pages of the provider's front ends as they are today
 * (status, security headers, normalised HTML): login, consent, logout, the provider's error page,
 * passkey and step-up pages, certificate login, the account page, and the session-expired page of
 * every interaction router. Golden snapshots for the move into one web layer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Browser, loginForm, parseForms, type PageResponse, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';
import { officialHolder, opensslCsr } from '../../support/ca-helpers.js';
import { authUrl, CERT_HEADER, CERT_TLS_URL, firstPage, official, portal, shot, signIn, startCharacterisation, type Official, type Portal, type Setup } from './harness.js';

let s: Setup;
let firstParty: Portal;
let thirdParty: Portal;
let clerk: Official;

beforeAll(async () => {
  s = await startCharacterisation();
  firstParty = await portal(s.t, 'cong-mot-cua', true);
  thirdParty = await portal(s.t, 'cong-doi-tac', false);
  clerk = await official(s.t, 1, 'Trần Thị Bích Ngọc', ['official']);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const url = (path: string) => `${s.t.url}${path}`;
const uidOf = (page: PageResponse) => interactionUid(page);

describe('interaction pages', () => {
  it('login page, Vietnamese (Accept-Language vi)', async () => {
    expect(shot(await firstPage(new Browser(), authUrl(s.t, firstParty)))).toMatchSnapshot();
  });

  it('login page, English (Accept-Language en)', async () => {
    expect(shot(await firstPage(new Browser({ headers: { 'accept-language': 'en' } }), authUrl(s.t, firstParty)))).toMatchSnapshot();
  });

  it('login page, English chosen with ?lang=en', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.get(url(`/interaction/${uidOf(page)}?lang=en`)))).toMatchSnapshot();
  });

  it('login with a wrong password: 401, the error shown, the login kept', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.submit(page, loginForm(page), { login: clerk.login, password: 'mật khẩu sai hoàn toàn' }))).toMatchSnapshot();
  });

  it('login with an empty password: 400, the error shown', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.submit(page, loginForm(page), { login: clerk.login, password: '' }))).toMatchSnapshot();
  });

  it('consent page of a portal that is not first-party (offline_access asked)', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, thirdParty, { scope: 'openid profile email offline_access', prompt: 'consent' }));
    const after = await browser.submit(page, loginForm(page), { login: clerk.login, password: clerk.password });
    expect(after.status).toBe(303);
    const { page: consent } = await browser.follow(after);
    expect(shot(consent!)).toMatchSnapshot('consent page');
    expect(shot(await browser.get(url(`/interaction/${uidOf(consent!)}?lang=en`)))).toMatchSnapshot('consent page, English');
    const confirmed = await browser.submit(consent!, parseForms(consent!.body).find((f) => f.action.endsWith('/confirm'))!);
    expect(shot(confirmed)).toMatchSnapshot('consent given: the redirect');
  });

  it('logout confirmation page, then the logged-out page', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    await browser.follow(await browser.submit(page, loginForm(page), { login: clerk.login, password: clerk.password }), firstParty.redirect);
    const confirm = await browser.get(url(`/oidc/session/end?client_id=${firstParty.id}`));
    expect(shot(confirm)).toMatchSnapshot('logout confirmation');
    const form = parseForms(confirm.body).find((f) => f.action.includes('/session/end'))!;
    const done = await browser.submit(confirm, form, { logout: 'yes' });
    expect(shot(done)).toMatchSnapshot('logout confirmed: the redirect');
    expect(shot((await browser.follow(done)).page!)).toMatchSnapshot('logged-out page');
  });

  it("the provider's error page: a redirect_uri that is not registered", async () => {
    const bad = authUrl(s.t, firstParty, { redirect_uri: 'https://ke-gian.example/callback' });
    expect(shot(await new Browser().get(bad))).toMatchSnapshot('vi');
    expect(shot(await new Browser({ headers: { 'accept-language': 'en' } }).get(bad))).toMatchSnapshot('en');
  });

  it('cancel: the abort link ends the interaction, the portal gets access_denied', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    const aborted = await browser.get(url(`/interaction/${uidOf(page)}/abort`));
    expect(shot(aborted)).toMatchSnapshot('abort');
    expect(shot(await browser.get(aborted.location!))).toMatchSnapshot('resume: back to the portal');
  });

  it('session expired: an unknown interaction', async () => {
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0001')))).toMatchSnapshot('GET');
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0001/abort')))).toMatchSnapshot('GET abort');
    const post = (path: string) => new Browser().request(url(path), { method: 'POST', form: { csrf: 'x', login: 'a', password: 'b' }, headers: { origin: s.t.url, 'sec-fetch-site': 'same-origin' } });
    expect(shot(await post('/interaction/khong-con-ton-tai-0001/login'))).toMatchSnapshot('POST login');
    expect(shot(await post('/interaction/khong-con-ton-tai-0001/confirm'))).toMatchSnapshot('POST confirm');
  });
});

describe('passkey pages', () => {
  it('the passkey page of a login (passwordless)', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.get(url(`/interaction/${uidOf(page)}/passkey`)))).toMatchSnapshot('vi');
    expect(shot(await browser.get(url(`/interaction/${uidOf(page)}/passkey?lang=en`)))).toMatchSnapshot('en');
  });

  it('the step-up page (an RA officer with a passkey, after a password login)', async () => {
    const officer = await official(s.t, 2, 'Lý Văn Phúc', ['ra-officer']);
    await registerSoftPasskey(s.t.service.passkeys, officer.account, 'Khoá USB phòng một cửa');
    const browser = new Browser();
    await signIn(s.t, browser, officer);
    const asked = await browser.get(url('/admin/step-up?return=%2Fadmin%2Fcertificates'));
    expect(shot(asked)).toMatchSnapshot('the console asks for step-up');
    const { page } = await browser.follow(asked);
    expect(shot(page!)).toMatchSnapshot('step-up page');
  });

  it('the step-up page of an officer without a passkey', async () => {
    const officer = await official(s.t, 3, 'Đinh Thị Hoa', ['ra-officer']);
    const browser = new Browser();
    await signIn(s.t, browser, officer);
    const { page } = await browser.follow(url('/admin/step-up?return=%2Fadmin'));
    expect(shot(page!)).toMatchSnapshot();
  });

  it('session expired: an unknown interaction', async () => {
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0002/passkey')))).toMatchSnapshot();
  });
});

describe('certificate login', () => {
  let tlsServer: Server;
  let tlsUrl: string;

  beforeAll(async () => {
    // The mutual-TLS listener's application over plain HTTP: no client certificate is ever presented.
    tlsServer = createServer(s.t.service.certificateLoginApp.callback());
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    tlsUrl = `http://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
  });

  it('without a forwarded certificate: off to the listener with a ticket; the listener refuses a missing certificate', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    const start = await browser.get(url(`/interaction/${uidOf(page)}/certificate`));
    expect(shot(start)).toMatchSnapshot('redirect to the listener');
    expect(start.location!.href.startsWith(`${CERT_TLS_URL}/certificate-login?ticket=`)).toBe(true);
    const listener = await browser.get(`${tlsUrl}${start.location!.pathname}${start.location!.search}`);
    expect(shot(listener)).toMatchSnapshot('listener page: no certificate');
    expect(shot(await browser.get(`${tlsUrl}/certificate-login?ticket=eyJraW5kIjoidGlja2V0In0.AAAA`))).toMatchSnapshot('listener: a forged ticket');
  });

  it('a forwarded certificate that is not one: the refusal page', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.get(url(`/interaction/${uidOf(page)}/certificate`), { [CERT_HEADER]: 'not a certificate!' }))).toMatchSnapshot();
  });

  it('a forwarded revoked certificate: the refusal page, in both languages', async () => {
    const { request } = await s.t.service.certificates.ra.submit('test', { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder('094190009001', clerk.account.fullName) });
    const { issued } = await s.t.service.certificates.ra.approve('test-2', request.id);
    await s.t.service.certificates.ca.changeStatus({ actor: 'test', serial: issued!.serial, action: 'revoke', reason: 'keyCompromise' });
    const header = encodeURIComponent(s.t.service.certificates.pem(await s.t.service.certificates.ca.certificate(issued!.serial)));
    for (const lang of ['vi', 'en']) {
      const browser = new Browser({ headers: { 'accept-language': lang } });
      const page = await firstPage(browser, authUrl(s.t, firstParty));
      expect(shot(await browser.get(url(`/interaction/${uidOf(page)}/certificate`), { [CERT_HEADER]: header }))).toMatchSnapshot(lang);
    }
  });

  it('the completion with a forged result', async () => {
    const browser = new Browser();
    const page = await firstPage(browser, authUrl(s.t, firstParty));
    expect(shot(await browser.get(url(`/interaction/${uidOf(page)}/certificate/complete?result=eyJraW5kIjoicmVzdWx0In0.AAAA`)))).toMatchSnapshot();
  });

  it('session expired: an unknown interaction', async () => {
    expect(shot(await new Browser().get(url('/interaction/khong-con-ton-tai-0003/certificate')))).toMatchSnapshot();
  });
});

describe('account page', () => {
  it('without a session: a sign-in through the provider as the account client', async () => {
    expect(shot(await new Browser().get(url('/account')))).toMatchSnapshot();
  });

  it('with a passkey listed, in both languages', async () => {
    const holder = await official(s.t, 4, 'Phan Văn Khải', ['official']);
    await registerSoftPasskey(s.t.service.passkeys, holder.account, 'Điện thoại công vụ');
    const browser = new Browser();
    const page = await signIn(s.t, browser, holder, '/account');
    expect(shot(page)).toMatchSnapshot('vi');
    expect(shot(await browser.get(url('/account?lang=en')))).toMatchSnapshot('en');
  });

  it('a rename refused by the service is shown on the page', async () => {
    const holder = await official(s.t, 5, 'Mai Thị Thu', ['official']);
    await registerSoftPasskey(s.t.service.passkeys, holder.account, 'Khoá cũ');
    const browser = new Browser();
    const page = await signIn(s.t, browser, holder, '/account');
    const rename = parseForms(page.body).find((f) => f.action.endsWith('/rename'))!;
    expect(shot(await browser.submit(page, rename, { name: '' }))).toMatchSnapshot();
  });

  it('the callback with an error from the provider', async () => {
    expect(shot(await new Browser().get(url('/account/callback?error=access_denied&error_description=huy')))).toMatchSnapshot();
  });
});
