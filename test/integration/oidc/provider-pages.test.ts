import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover, loginForm, parseForms, textOf, type PageResponse } from '../../support/oidc-rp.js';
import { adminConsole } from '../../support/admin-console.js';

/**
 * Issue 21, the provider's pages: the first-party consent page lists what it asks, the console's
 * step-up asks no consent for the console's own scopes, logout without a session is our page (not
 * oidc-provider's English auto-submit page with an inline script), pages name the portal, and
 * every page has a language switch.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let config: client.Configuration;
const redirect = 'http://127.0.0.1:9/dvc/callback';
const postLogout = 'http://127.0.0.1:9/dvc/';

beforeAll(async () => {
  t = await startTestService();
  const { secret } = await t.service.clients.add('test', {
    clientId: 'dvc',
    name: 'Cổng dịch vụ công',
    redirectUris: [redirect],
    postLogoutRedirectUris: [postLogout],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    firstParty: true,
  });
  config = await discover(t.url, 'dvc', secret);
});

afterAll(async () => {
  await t?.close();
});

/** A page is ours: the page CSP, no inline script or handler, a language switch. */
function expectOurPage(page: PageResponse, lang: 'vi' | 'en') {
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toMatch(/default-src 'none'/);
  expect(csp).not.toMatch(/unsafe-inline/);
  expect(page.body).not.toMatch(/<script\b(?![^>]*\bsrc=)[^>]*>/i);
  expect(page.body).not.toMatch(/\son[a-z]+=/i);
  expect(page.body).toContain(`<html lang="${lang}">`);
  expect(page.body).toContain('/static/tinnhiem.css');
  expect(page.body).toMatch(/<a class="lang" href="[^"]*lang=(vi|en)"/);
}

async function consentPageFor(extra: Record<string, string>) {
  const official = await createOfficial(t);
  const browser = new Browser();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  } as Record<string, string>);
  const { page } = await browser.follow(url, redirect);
  const after = await browser.submit(page!, loginForm(page!), { login: official.login, password: official.password });
  const next = await browser.follow(after, redirect);
  return { browser, ...next };
}

describe(`consent (${db})`, () => {
  it('a first-party portal asking prompt=consent with offline_access: the consent page lists what is asked', async () => {
    const { page, stoppedAt } = await consentPageFor({ scope: 'openid profile email offline_access', prompt: 'consent' });
    expect(stoppedAt).toBeUndefined();
    expect(parseForms(page!.body).some((f) => f.action.endsWith('/confirm'))).toBe(true);
    const items = [...page!.body.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]);
    expect(items).toEqual(expect.arrayContaining(['Họ và tên', 'Địa chỉ thư điện tử', 'Duy trì truy cập khi bạn không trực tuyến']));
    expectOurPage(page!, 'vi');
  });

  it('the admin console: step-up with a passkey asks no consent for the console’s own scopes', async () => {
    const admin = adminConsole(t);
    const { who, passkey } = await admin.officer(['ra-officer']);
    const browser = new Browser();
    await admin.signInStrongly(browser, who, passkey);
    expect(browser.visited.filter((v) => /\/confirm$/.test(v))).toEqual([]);
  });
});

describe(`logout pages (${db})`, () => {
  it('logout with a session: our page, naming the portal, with a language switch', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const login = await codeLogin(config, browser, redirect, official, { scope: 'openid profile' });
    const page = await browser.get(client.buildEndSessionUrl(config, { id_token_hint: login.tokens.id_token!, post_logout_redirect_uri: postLogout }));
    expect(page.status).toBe(200);
    expectOurPage(page, 'vi');
    expect(textOf(page.body)).toMatch(/Cổng dịch vụ công/);
  });

  it('logout without a session: our localised, CSP-clean page (ui_locales=en) that names the portal, then back to it', async () => {
    const browser = new Browser();
    const page = await browser.get(client.buildEndSessionUrl(config, { client_id: 'dvc', post_logout_redirect_uri: postLogout, state: 's1', ui_locales: 'en' }));
    expect(page.status).toBe(200);
    expectOurPage(page, 'en');
    expect(textOf(page.body)).toMatch(/Cổng dịch vụ công/);
    expect(page.body).not.toMatch(/Submitting Callback/);
    const form = parseForms(page.body).find((f) => f.action.endsWith('/session/end/confirm'))!;
    expect(form).toBeDefined();
    const done = await browser.submit(page, form, { logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location?.toString()).toBe(`${postLogout}?state=s1`);
  });

  it('the provider’s error page has a language switch and follows ui_locales', async () => {
    const bad = client.buildAuthorizationUrl(config, { redirect_uri: 'https://ke-gian.example/callback', scope: 'openid', ui_locales: 'en' });
    const page = await new Browser().get(bad);
    expect(page.status).toBe(400);
    expectOurPage(page, 'en');
  });

  it('the login pages’ own error pages (an expired sign-in) have a language switch too', async () => {
    const page = await new Browser().get(`${t.url}/interaction/khong-con-ton-tai-0001`);
    expect(page.status).toBe(400);
    expectOurPage(page, 'vi');
    expect(page.body).toContain('href="/interaction/khong-con-ton-tai-0001?lang=en"');
    const en = await new Browser().get(`${t.url}/interaction/khong-con-ton-tai-0001?lang=en`);
    expectOurPage(en, 'en');
  });
});
