import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MESSAGES } from '../../src/web/locales/messages.js';
import { HOME_MESSAGES } from '../../src/web/locales/home-messages.js';
import { DEV_OFFICIALS, DEV_PASSWORD, seedDevelopmentData } from '../../src/dev/dev-seed.js';
import { describeWithBrowser, launchChromium, collectPageErrors } from '../support/browser.js';
import { outgoingRequestsAsInProduction } from '../support/oidc-rp.js';
import { newCitizen, startFederation, type FederationSetup } from '../support/federation.js';

/**
 * Issue 21, acceptance 1: the newcomer's first hour in Chromium, on a development instance (as
 * `serve --dev`) with the DVCQG simulator as its upstream. `/` → the demo portal → log in as
 * `canbo` → the claims → log out; again through DVCQG; axe-core finds nothing on `/`, `/demo`
 * and the account page.
 */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const vi = HOME_MESSAGES.vi;

describeWithBrowser('the newcomer path in Chromium (issue 21, acceptance 1)', () => {
  let f: FederationSetup;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    // The demo portal is a relying party inside this process: its requests to the issuer leave as in production.
    await outgoingRequestsAsInProduction();
    f = await startFederation({ development: true });
    await seedDevelopmentData(f.t.service);
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'vi-VN' });
    page = await context.newPage();
    collectPageErrors(page, consoleErrors);
  });

  afterAll(async () => {
    await browser?.close();
    await f?.close();
  });

  /** axe-core on the current page: every violation, whatever its impact. */
  async function axeViolations(): Promise<string[]> {
    await page.evaluate(AXE_SOURCE);
    return page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; nodes: unknown[] }> }> } }).axe;
      const result = await axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
    });
  }

  /** RP-initiated logout: our confirmation page (then DVCQG's, for a brokered session), then back to the demo portal, signed out. */
  async function demoLogout(throughDvcqg = false): Promise<void> {
    await page.getByRole('button', { name: vi['demo.logout'] }).click();
    await page.getByRole('heading', { level: 1, name: MESSAGES.vi['logout.title'] }).waitFor();
    if (throughDvcqg) {
      await Promise.all([page.waitForURL((url) => url.origin === f.sim.url), page.getByRole('button', { name: MESSAGES.vi['logout.yes'] }).click()]);
      await Promise.all([page.waitForURL((url) => url.origin === f.t.url && url.pathname === '/demo/'), page.getByRole('button', { name: 'Đăng xuất' }).click()]);
    } else {
      await Promise.all([page.waitForURL((url) => url.pathname === '/demo/'), page.getByRole('button', { name: MESSAGES.vi['logout.yes'] }).click()]);
    }
    await page.getByRole('button', { name: vi['demo.login'], exact: true }).waitFor();
    expect(await page.locator('[data-signed-in]').count()).toBe(0);
  }

  test('/ → demo portal → log in as canbo → claims → log out', async () => {
    await page.goto(`${f.t.url}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(vi['home.title']);
    const dev = await page.locator('[data-development]').textContent();
    expect(dev).toContain(DEV_PASSWORD);
    expect(dev).toContain('canbo');
    expect(await axeViolations()).toEqual([]);

    await page.getByRole('link', { name: vi['home.dev.demo'] }).click();
    await page.waitForURL((url) => url.pathname === '/demo');
    expect(await axeViolations()).toEqual([]);
    await page.getByRole('button', { name: vi['demo.login'], exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/oidc/auth');
    await page.getByLabel(MESSAGES.vi['login.login']).fill('canbo');
    await page.getByLabel(MESSAGES.vi['login.password'], { exact: true }).fill(DEV_PASSWORD);
    await Promise.all([page.waitForURL((url) => url.pathname === '/demo'), page.getByRole('button', { name: MESSAGES.vi['login.submit'] }).click()]);

    const canbo = DEV_OFFICIALS.find((o) => o.username === 'canbo')!;
    expect(await page.locator('[data-signed-in]').textContent()).toContain(canbo.fullName);
    const claims = JSON.parse((await page.locator('[data-claims]').textContent())!) as Record<string, unknown>;
    expect(claims).toMatchObject({ acr: 'urn:tinnhiem:acr:low', amr: ['pwd'], aud: 'demo-portal' });
    const userinfo = JSON.parse((await page.locator('[data-userinfo]').textContent())!) as Record<string, unknown>;
    expect(userinfo).toMatchObject({ sub: claims.sub, name: canbo.fullName, vn_national_id: canbo.nationalId });
    expect(await page.locator('[data-assurance]').textContent()).toContain('urn:tinnhiem:acr:low');
    expect(await axeViolations()).toEqual([]);

    // The account page, in the same single sign-on session.
    await page.goto(`${f.t.url}/account`);
    await page.getByRole('heading', { level: 1, name: MESSAGES.vi['account.title'] }).waitFor();
    expect(await axeViolations()).toEqual([]);

    await page.goto(`${f.t.url}/demo`);
    await demoLogout();
    expect(consoleErrors).toEqual([]);
  });

  test('again with DVCQG: the broker and the simulator', async () => {
    const person = newCitizen(f.sim, { HoVaTen: 'Lâm Thị Ngọc Hân' });
    await page.goto(`${f.t.url}/demo`);
    await page.getByRole('button', { name: vi['demo.loginDvcqg'] }).click();
    await page.waitForURL((url) => url.pathname === '/oidc/auth');
    await page.getByRole('link', { name: 'Tài khoản Cổng dịch vụ công quốc gia (VNeID)' }).click();
    await page.waitForURL((url) => url.origin === f.sim.url);
    await page.check(`input[name="person"][value="${person.TechID}"]`);
    await page.selectOption('#loa', 'LoA2');
    await Promise.all([page.waitForURL((url) => url.origin === f.t.url && url.pathname === '/demo'), page.click('#dvcqg-login')]);

    const claims = JSON.parse((await page.locator('[data-claims]').textContent())!) as Record<string, unknown>;
    expect(claims).toMatchObject({ acr: 'urn:tinnhiem:acr:substantial', amr: ['fed'] });
    expect(await page.locator('[data-signed-in]').textContent()).toContain('Lâm Thị Ngọc Hân');
    const userinfo = JSON.parse((await page.locator('[data-userinfo]').textContent())!) as Record<string, unknown>;
    expect(userinfo).toMatchObject({ name: 'Lâm Thị Ngọc Hân', vn_national_id: person.SoDinhDanh, vn_upstream: { id: 'dvcqg', level: 'LoA2' } });
    await demoLogout(true);
    expect(consoleErrors).toEqual([]);
  });
});
