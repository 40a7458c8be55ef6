import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { MESSAGES, type Language } from '../../src/web/locales/messages.js';
import { describeWithBrowser, launchChromium, collectPageErrors } from '../support/browser.js';
import { startTestService, type TestService } from '../support/test-app.js';

/**
 * Acceptance item 6 of issue 3: Debian's Chromium renders the login page in Vietnamese and
 * English, the screenshots are kept in test-artifacts/, and a user signs in through the page
 * (wrong password first), landing on the portal's redirect URI with a code.
 */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const CLIENT_ID = 'e2e-portal';
const CLIENT_NAME = 'Cổng dịch vụ công tỉnh';
const USERNAME = 'nguyen.van.an';
const PASSWORD = 'mật-khẩu-đúng-2024';

const b64url = (b: Buffer) => b.toString('base64url');

interface AxeResult {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

describeWithBrowser('login page in Chromium (issue 3, acceptance 6)', () => {
  let app: TestService;
  let portal: Server;
  let redirectUri: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const consoleErrors: string[] = [];
  const stylesheets: Response[] = [];
  const failedResources: string[] = [];

  /** What the page's own `securitypolicyviolation` events saw (recorded by an init script). */
  const cspViolations = () => page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);

  async function expectPageIn(lang: Language) {
    const m = MESSAGES[lang];
    expect(await page.getAttribute('html', 'lang')).toBe(lang);
    expect(await page.title()).toBe(`${m['login.title']} · ${m['app.name']}`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(m['login.title']);
    expect(await page.getByRole('main').textContent()).toContain(m['login.intro'].replace('{client}', CLIENT_NAME));
    await page.getByLabel(m['login.login'], { exact: true }).waitFor({ state: 'visible' });
    await page.getByLabel(m['login.password'], { exact: true }).waitFor({ state: 'visible' });
    expect(await page.getByRole('button', { name: m['login.submit'] }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: m['login.cancel'] }).isVisible()).toBe(true);
    // The link to the other language names it in that language.
    expect(await page.getByRole('link', { name: m['lang.switch'] }).getAttribute('lang')).toBe(lang === 'vi' ? 'en' : 'vi');
    // The stylesheet applied (banner colour, card width), with no CSP violation.
    const styles = await page.evaluate(() => ({
      banner: getComputedStyle(document.querySelector('.banner')!).backgroundColor,
      cardWidth: document.querySelector('main')!.getBoundingClientRect().width,
    }));
    expect(styles.banner).toBe('rgb(163, 18, 28)');
    expect(styles.cardWidth).toBeLessThanOrEqual(26 * 16);
    expect(await cspViolations()).toEqual([]);
    expect(failedResources).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }

  /** axe-core on the current page: no serious or critical violation (moderate ones are logged). */
  async function runAxe(label: string) {
    // The page's CSP forbids inline script, so axe is evaluated through the DevTools protocol
    // (page.evaluate), which CSP does not govern; the context keeps its CSP on.
    await page.evaluate(AXE_SOURCE);
    const { violations, passes } = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: unknown[]; passes: unknown[] }> } }).axe;
      const result = await axe.run(document, { resultTypes: ['violations'] });
      return { violations: JSON.parse(JSON.stringify(result.violations)) as unknown, passes: result.passes.length };
    });
    expect(passes).toBeGreaterThan(10); // axe did run on the page
    const found = violations as AxeResult[];
    process.stdout.write(`axe (${label}): ${passes} rules passed, ${found.length} violated\n`);
    for (const v of found) {
      process.stdout.write(`axe (${label}): ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}\n`);
    }
    expect(found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.failureSummary).join(' | ')}`)).toEqual([]);
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The portal: a tiny loopback server that answers its callback with a plain page.
    portal = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="vi"><title>Cổng</title><p>Đã đăng nhập</p></html>');
    });
    await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(portal.address() as AddressInfo).port}/callback`;

    app = await startTestService();
    await app.service.clients.add('test', {
      clientId: CLIENT_ID,
      name: CLIENT_NAME,
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code'],
      authMethod: 'none',
      scopes: ['openid', 'profile'],
      firstParty: true,
    });
    await app.service.accounts.createOfficial('test', {
      username: USERNAME,
      nationalId: '001085012345',
      fullName: 'Nguyễn Văn An',
      agency: 'Sở Thông tin và Truyền thông',
      roles: ['official'],
      password: PASSWORD,
    });

    browser = await launchChromium();
    // A browser of a Vietnamese user (Accept-Language: vi-VN); a stock en-US Chromium would get
    // the English page, since Accept-Language comes before the Vietnamese default.
    context = await browser.newContext({ locale: 'vi-VN', viewport: { width: 1024, height: 720 } });
    await context.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    page = await context.newPage();
    collectPageErrors(page, consoleErrors);
    page.on('response', (response) => {
      if (response.url().endsWith('/static/tinnhiem.css')) stylesheets.push(response);
      if (response.status() >= 400 && response.request().resourceType() !== 'document') failedResources.push(`${response.status()} ${response.url()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise<void>((resolve) => (portal ? portal.close(() => resolve()) : resolve()));
  });

  test('the authorization request shows the login page in Vietnamese by default', async () => {
    const challenge = b64url(createHash('sha256').update(verifier).digest());
    const auth = new URL('/oidc/auth', app.url);
    auth.search = new URLSearchParams({
      client_id: CLIENT_ID,
      response_type: 'code',
      scope: 'openid profile',
      redirect_uri: redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const response = await page.goto(auth.href);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/oidc/auth'); // the login page, the authorization endpoint's answer
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(stylesheets.map((r) => r.status())).toContain(200);
    await expectPageIn('vi');
    await page.screenshot({ path: `${ARTIFACTS}login-vi.png`, fullPage: true });
    await runAxe('login, vi');
  });

  test('the language link switches the page to English', async () => {
    await Promise.all([page.waitForURL(/[?&]lang=en\b/), page.getByRole('link', { name: MESSAGES.vi['lang.switch'] }).click()]);
    await expectPageIn('en');
    await page.screenshot({ path: `${ARTIFACTS}login-en.png`, fullPage: true });
    await runAxe('login, en');
  });

  test('a wrong password shows an error with role=alert and keeps the username', async () => {
    await page.getByLabel(MESSAGES.en['login.login'], { exact: true }).fill(USERNAME);
    await page.getByLabel(MESSAGES.en['login.password'], { exact: true }).fill('not-the-password-1');
    consoleErrors.length = 0;
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: MESSAGES.en['login.submit'] }).click()]);
    // Our own form carries its real Origin (the pages' referrer policy; `null` would be refused).
    expect(response.request().headers()['origin']).toBe(new URL(app.url).origin);
    expect(response.status()).toBe(401);
    await page.waitForLoadState();
    const alert = page.getByRole('alert');
    expect((await alert.textContent())?.trim()).toBe(MESSAGES.en['login.error.invalid']);
    expect(await alert.isVisible()).toBe(true);
    // The language chosen with the link is remembered, and the field points at the error.
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    const login = page.getByLabel(MESSAGES.en['login.login'], { exact: true });
    expect(await login.inputValue()).toBe(USERNAME);
    expect(await login.getAttribute('aria-invalid')).toBe('true');
    expect(await login.getAttribute('aria-describedby')).toBe('login-error');
    expect(await page.getByLabel(MESSAGES.en['login.password'], { exact: true }).inputValue()).toBe('');
    expect(await cspViolations()).toEqual([]);
    expect(failedResources).toEqual([]);
    // Chromium logs the page's own 401 status, and nothing else.
    expect(consoleErrors).toEqual([expect.stringContaining('status of 401')]);
    await page.screenshot({ path: `${ARTIFACTS}login-error-en.png`, fullPage: true });
    await runAxe('login error, en');
  });

  test('the right password lands on the redirect URI with a code and the state', async () => {
    await page.getByLabel(MESSAGES.en['login.password'], { exact: true }).fill(PASSWORD);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.getByRole('button', { name: MESSAGES.en['login.submit'] }).click()]);
    const landed = new URL(page.url());
    expect(`${landed.origin}${landed.pathname}`).toBe(redirectUri);
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('error')).toBeNull();
    const code = landed.searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    // The code is real: the portal redeems it with the PKCE verifier.
    const token = await fetch(new URL('/oidc/token', app.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: verifier }),
    });
    const body = (await token.json()) as Record<string, unknown>;
    expect(token.status).toBe(200);
    expect(body).toEqual(expect.objectContaining({ id_token: expect.any(String), access_token: expect.any(String), token_type: 'Bearer' }));
  });
});
