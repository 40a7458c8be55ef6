import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, parseForms, type PageResponse, openAccountPage } from '../../support/oidc-rp.js';
import { addPortal, portalAuthorizationUrl, redeem } from '../../support/federation.js';

/**
 * Issue 21: the account page lists the account's sessions (another device's can be ended, not
 * another account's) and the consents given to portals (withdrawing one ends that portal's
 * tokens); the forms are guarded; each change is audited.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;

beforeAll(async () => {
  t = await startTestService();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const accountPage = (browser: Browser, official: { login: string; password: string }) => openAccountPage(t.url, browser, official);

const endForms = (page: PageResponse) => parseForms(page.body).filter((f) => /^\/account\/sessions\/[^/]+\/end$/.test(f.action));
const actions = async (accountId: string, action: string) => (await t.service.audit.list({ target: `account:${accountId}`, limit: 100 })).filter((e) => e.action === action);

describe(`sessions and consents on the account page (${db})`, () => {
  it("lists the sessions; ends another device's; never the current one nor another account's", async () => {
    const official = await createOfficial(t);
    const laptop = new Browser();
    const phone = new Browser();
    await accountPage(phone, official);
    const page = await accountPage(laptop, official);
    expect(page.body.match(/data-session=/g)).toHaveLength(2);
    const [phoneForm] = endForms(page);
    expect(endForms(page)).toHaveLength(1); // the current session has no "end" button

    // Another account cannot end it (its own token, the other account's session uid).
    const intruder = await createOfficial(t);
    const intruderBrowser = new Browser();
    const intruderPage = await accountPage(intruderBrowser, intruder);
    const csrf = parseForms(intruderPage.body).find((f) => f.action === '/account/password')!.fields.csrf;
    const foreign = await intruderBrowser.request(`${t.url}${phoneForm.action}`, { method: 'POST', form: { csrf }, headers: { origin: t.url } });
    expect(foreign.status).toBe(404);
    // Nor a cross-site form.
    const crossSite = await laptop.submit(page, phoneForm, {}, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect((await phone.get(`${t.url}/account`)).status).toBe(200);

    const ended = await laptop.submit(page, phoneForm);
    expect(ended.status).toBe(303);
    const phoneAgain = await phone.get(`${t.url}/account`);
    expect(phoneAgain.status).toBe(303);
    expect(phoneAgain.location?.pathname).toBe('/oidc/auth');
    expect((await laptop.get(`${t.url}/account`)).status).toBe(200);
    expect(await actions(official.account.id, 'account.session_end')).toHaveLength(1);

    // The current session, named directly: refused.
    const own = /data-session="([^"]+)"/.exec((await laptop.get(`${t.url}/account`)).body)![1];
    const self = await laptop.request(`${t.url}/account/sessions/${own}/end`, { method: 'POST', form: { csrf: parseForms(page.body).find((f) => f.action === '/account/password')!.fields.csrf }, headers: { origin: t.url } });
    expect(self.status).toBe(400);
  });

  it("lists a portal's consent; withdrawing it ends the portal's tokens", async () => {
    const official = await createOfficial(t);
    const portal = await addPortal(t, `cong-dong-y-${process.pid}`, { firstParty: false });
    const browser = new Browser();
    const start = await portalAuthorizationUrl(portal, { scope: 'openid profile offline_access', prompt: 'consent' });
    const redirect = await authorize(browser, start.url, portal.redirect, official);
    const tokens = await redeem(portal, start, redirect);
    expect(await client.fetchUserInfo(portal.config, tokens.access_token, tokens.claims()!.sub)).toMatchObject({ sub: official.account.id });
    expect(tokens.refresh_token).toBeTruthy();

    const { page } = await browser.follow(`${t.url}/account`);
    expect(page!.body).toContain(`data-consent="${portal.id}"`);
    expect(page!.body).not.toContain('data-consent="tinnhiem-account"');
    const withdraw = parseForms(page!.body).find((f) => f.action.endsWith('/withdraw'))!;
    const res = await browser.submit(page!, withdraw);
    expect(res.status).toBe(303);
    expect((await browser.get(`${t.url}/account`)).body).not.toContain(`data-consent="${portal.id}"`);
    await expect(client.fetchUserInfo(portal.config, tokens.access_token, tokens.claims()!.sub)).rejects.toThrow();
    await expect(client.refreshTokenGrant(portal.config, tokens.refresh_token!)).rejects.toThrow();
    expect(await actions(official.account.id, 'account.consent_withdraw')).toHaveLength(1);
  });
});
