import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MESSAGES } from '../../src/web/locales/messages.js';
import { describeWithBrowser, launchChromium, collectPageErrors } from '../support/browser.js';
import { createOfficial, outgoingRequestsAsInProduction } from '../support/oidc-rp.js';
import { recordingServer, type RecordingServer } from '../support/test-servers.js';
import { addPortal, newCitizen, portalAuthorizationUrl, redeem, startFederation, type FederationSetup, type Portal } from '../support/federation.js';

/**
 * Issue 7, acceptance 1 in Chromium: the portal's authorization request, our login page's "log in
 * with DVCQG" button, the simulator's page (pick a citizen and LoA2), and back to the portal with
 * a code whose ID token carries the mapped acr, amr and vn_identity claims.
 */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describeWithBrowser('log in with DVCQG in Chromium (issue 7, acceptance 1)', () => {
  let f: FederationSetup;
  let portal: Portal;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let portalServer: RecordingServer;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    await outgoingRequestsAsInProduction();
    f = await startFederation();
    // The portal: a loopback server that answers its redirect URI (as a portal's callback would).
    portalServer = await recordingServer();
    portal = await addPortal(f.t, 'cong-chromium', { origin: portalServer.url });
    browser = await launchChromium();
    context = await browser.newContext({ locale: 'vi-VN' });
    page = await context.newPage();
    collectPageErrors(page, consoleErrors);
  });

  afterAll(async () => {
    await browser?.close();
    await portalServer?.close();
    await f?.close();
  });

  test('portal → tinnhiem → DVCQG simulator → tinnhiem → portal', async () => {
    const person = newCitizen(f.sim, { HoVaTen: 'Đặng Thị Mỹ Duyên' });
    const start = await portalAuthorizationUrl(portal, { acr_values: 'urn:tinnhiem:acr:substantial' });
    await page.goto(start.url.toString());
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(MESSAGES.vi['login.title']);

    await page.getByRole('link', { name: 'Tài khoản Cổng dịch vụ công quốc gia (VNeID)' }).click();
    await page.waitForURL((url) => url.origin === f.sim.url && url.pathname.startsWith('/interaction/'));
    expect(await page.textContent('main')).toContain('Mức yêu cầu: LoA2');
    await page.check(`input[name="person"][value="${person.TechID}"]`);
    await page.selectOption('#loa', 'LoA2');
    await Promise.all([page.waitForURL((url) => url.toString().startsWith(portal.redirect)), page.click('#dvcqg-login')]);

    const redirect = new URL(page.url());
    expect(redirect.searchParams.get('state')).toBe(start.state);
    const tokens = await redeem(portal, start, redirect);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ acr: 'urn:tinnhiem:acr:substantial', amr: ['fed'] });
    const userinfo = await client.fetchUserInfo(portal.config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ name: 'Đặng Thị Mỹ Duyên', vn_national_id: person.SoDinhDanh, vn_account_type: 'citizen', vn_upstream: { id: 'dvcqg', subject: person.TechID, level: 'LoA2' } });
    expect(consoleErrors).toEqual([]);
  });

  /** axe-core on the current page: no serious or critical violation. */
  async function axeSerious(): Promise<string[]> {
    await page.evaluate(AXE_SOURCE);
    return page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string; impact: string | null }> }> } }).axe;
      const result = await axe.run(document, { resultTypes: ['violations'] });
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    });
  }

  test("an official's link page (accessible), the official's password, then the portal", async () => {
    const official = await createOfficial(f.t);
    const person = newCitizen(f.sim, { SoDinhDanh: official.account.nationalId!, HoVaTen: official.account.fullName });
    const fresh = await context.browser()!.newContext({ locale: 'vi-VN' });
    const tab = await fresh.newPage();
    const start = await portalAuthorizationUrl(portal);
    await tab.goto(start.url.toString());
    await tab.getByRole('link', { name: 'Tài khoản Cổng dịch vụ công quốc gia (VNeID)' }).click();
    await tab.waitForURL((url) => url.origin === f.sim.url);
    await tab.check(`input[name="person"][value="${person.TechID}"]`);
    await Promise.all([tab.waitForURL((url) => url.pathname.endsWith('/federation-link')), tab.click('#dvcqg-login')]);
    expect(await tab.getByRole('heading', { level: 1 }).textContent()).toBe(MESSAGES.vi['federation.link.title']);
    page = tab;
    expect(await axeSerious()).toEqual([]);

    await tab.getByLabel(MESSAGES.vi['login.password'], { exact: true }).fill('sai mật khẩu');
    await tab.getByRole('button', { name: MESSAGES.vi['federation.link.submit'] }).click();
    await tab.getByRole('alert').waitFor();
    expect(await tab.getByRole('alert').textContent()).toBe(MESSAGES.vi['federation.link.error']);

    await tab.getByLabel(MESSAGES.vi['login.password'], { exact: true }).fill(official.password);
    await Promise.all([tab.waitForURL((url) => url.toString().startsWith(portal.redirect)), tab.getByRole('button', { name: MESSAGES.vi['federation.link.submit'] }).click()]);
    const tokens = await redeem(portal, start, new URL(tab.url()));
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, amr: ['fed', 'pwd'] });
    await fresh.close();
  });
});
