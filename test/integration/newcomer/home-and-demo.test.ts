import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, loginForm, outgoingRequestsAsInProduction, parseForms, type PageResponse } from '../../support/oidc-rp.js';
import { DEV_PASSWORD, seedDevelopmentData } from '../../../src/dev/dev-seed.js';
import { HOME_MESSAGES } from '../../../src/web/locales/home-messages.js';
import { PAGE_CSP } from '../../../src/web/views/html.js';

/**
 * Issue 21: the home page `/` on every instance, the demo credentials and the demo portal only in
 * development, and the demo portal's own guards (form token and origin, state at its callback).
 */
describe('the home page outside development', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.close());

  test('/ is a page (CSP, both languages) with the links, the CA repository and no demo credentials', async () => {
    const res = await fetch(`${t.url}/`, { headers: { 'accept-language': 'vi' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    const body = await res.text();
    expect(body).toContain(`<h1>${HOME_MESSAGES.vi['home.title']}</h1>`);
    for (const href of ['/account', '/admin', '/oidc/.well-known/openid-configuration', '/api/v1/openapi.json']) expect(body).toContain(`href="${href}"`);
    const crl = /href="(\/crl\/[a-z0-9-]+\.crl)"/.exec(body);
    const ca = /href="(\/ca\/[a-z0-9-]+\.crt)"/.exec(body);
    expect((await fetch(`${t.url}${crl![1]}`)).headers.get('content-type')).toBe('application/pkix-crl');
    expect((await fetch(`${t.url}${ca![1]}`)).headers.get('content-type')).toBe('application/pkix-cert');
    expect(body).toContain(`${t.url}/ocsp`);
    expect(body).not.toContain('<script');
    expect(body).not.toContain('style=');
    expect(body).not.toContain('data-development');
    expect(body).not.toContain(DEV_PASSWORD);
    const en = await (await fetch(`${t.url}/?lang=en`)).text();
    expect(en).toContain(`<h1>${HOME_MESSAGES.en['home.title']}</h1>`);
    expect(en).toContain('<html lang="en">');
  });

  test('the demo portal is not mounted: every /demo route is a 404', async () => {
    for (const [method, path] of [['GET', '/demo'], ['GET', '/demo/'], ['POST', '/demo/login'], ['GET', '/demo/callback?code=x&state=y'], ['POST', '/demo/logout']]) {
      const res = await fetch(`${t.url}${path}`, { method, redirect: 'manual' });
      expect([method, path, res.status, res.headers.get('content-type')]).toEqual([method, path, 404, 'application/problem+json']);
    }
  });
});

describe('the demo portal in development', () => {
  let t: TestService;
  beforeAll(async () => {
    await outgoingRequestsAsInProduction();
    t = await startTestService({ development: true });
    await seedDevelopmentData(t.service);
  });
  afterAll(() => t?.close());

  const demoPage = async (browser: Browser) => {
    const page = await browser.get(`${t.url}/demo`);
    expect(page.status).toBe(200);
    return { page, login: parseForms(page.body).find((f) => f.action === '/demo/login' && !f.fields.via)! };
  };

  /** Up to the provider's redirect to the demo callback (with code and state), not requested. */
  async function codeFor(browser: Browser): Promise<URL> {
    const { page, login } = await demoPage(browser);
    const started = await browser.submit(page, login);
    expect(started.status).toBe(303);
    const { page: loginPage } = await browser.follow(started.location!);
    const done = await browser.submit(loginPage!, loginForm(loginPage!), { login: 'canbo', password: DEV_PASSWORD });
    const { stoppedAt } = await browser.follow(done, `${t.url}/demo/callback`);
    return stoppedAt!;
  }

  test('/ shows the demo credentials and the way to the demo portal', async () => {
    const body = await (await fetch(`${t.url}/`)).text();
    expect(body).toContain('data-development');
    expect(body).toContain(DEV_PASSWORD);
    expect(body).toContain('demo-portal-secret-for-development-only');
    expect(body).toContain('href="/demo"');
  });

  test('a login: PKCE S256, state, nonce; the page shows the claims', async () => {
    const browser = new Browser();
    const callback = await codeFor(browser);
    const auth = browser.visited.find((v) => v.includes('/oidc/auth?'))!;
    const params = new URL(auth.split(' ')[1]).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(params.get('nonce')).toMatch(/^[\w-]{20,}$/);
    const back = await browser.get(callback);
    expect(back.status).toBe(303);
    const page = await browser.get(`${t.url}/demo`);
    expect(page.body).toContain('data-claims');
    expect(page.body).toContain('urn:tinnhiem:acr:low');
  });

  test("an attacker's code and state, opened in another browser (login CSRF), sign nobody in", async () => {
    const attacker = new Browser();
    const attackersCallback = await codeFor(attacker);
    const victim = new Browser();
    await codeFor(victim); // the victim has a login of their own in progress: another state
    const res = await victim.get(attackersCallback);
    expect(res.status).toBe(400);
    expect(res.body).toContain('class="error"');
    expect(res.body).not.toContain('data-claims');
    // A browser with no login in progress at all.
    const fresh = await new Browser().get(attackersCallback);
    expect(fresh.status).toBe(400);
    expect(fresh.body).not.toContain('data-claims');
  });

  test('the forms need the page token and our origin (403 otherwise)', async () => {
    const browser = new Browser();
    const { page, login } = await demoPage(browser);
    const crossSite = await browser.submit(page, login, {}, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const noToken = await browser.submit(page, login, { csrf: '' });
    expect(noToken.status).toBe(403);
    const otherBrowsers = await new Browser().submit(page, login);
    expect(otherBrowsers.status).toBe(403);
    const logout = await browser.request(`${t.url}/demo/logout`, { method: 'POST', form: { csrf: 'x' }, headers: { origin: t.url } });
    expect(logout.status).toBe(403);
  });

  test('log out: RP-initiated at the provider, back to /demo/', async () => {
    const browser = new Browser();
    await browser.get(await codeFor(browser));
    const page: PageResponse = await browser.get(`${t.url}/demo`);
    const out = await browser.submit(page, parseForms(page.body).find((f) => f.action === '/demo/logout')!);
    expect(out.status).toBe(303);
    expect(out.location!.pathname).toBe('/oidc/session/end');
    expect(out.location!.searchParams.get('post_logout_redirect_uri')).toBe(`${t.url}/demo/`);
    expect(out.location!.searchParams.get('id_token_hint')).toBeTruthy();
    expect((await browser.get(`${t.url}/demo`)).body).not.toContain('data-claims');
  });

  test('every text in both languages', () => {
    expect(Object.keys(HOME_MESSAGES.en).sort()).toEqual(Object.keys(HOME_MESSAGES.vi).sort());
  });
});
