import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, textOf } from '../../support/oidc-rp.js';
import { addPortal, finish, newCitizen, pickAtSimulator, portalAuthorizationUrl, startFederation, toSimulator, type FederationSetup, type Portal } from '../../support/federation.js';
import { createOfficial } from '../../support/oidc-rp.js';

/**
 * Issue 21, the federation pages: the upstream's name reads once in a sentence ("Tài khoản Tài
 * khoản Cổng…", "account (VNeID) account" were shown), error pages have a language switch (the
 * callback URL cannot be loaded twice, so the page comes back from a sealed cookie), and the
 * simulator's page looks like ours.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let f: FederationSetup;
let portal: Portal;

beforeAll(async () => {
  f = await startFederation();
  portal = await addPortal(f.t, 'cong-dvc-tinh', { firstParty: true });
}, 120_000);

afterAll(async () => {
  await f?.close();
});

const doubled = /tài khoản\s+tài khoản|account\s*(\([^)]*\))?\s+account/i;

describe(`federation pages (${db})`, () => {
  it('the level error page: the upstream named once, a language switch that shows the same page in English', async () => {
    const browser = new Browser();
    const person = newCitizen(f.sim);
    const start = await portalAuthorizationUrl(portal, { acr_values: 'urn:tinnhiem:acr:substantial' });
    const callback = await pickAtSimulator(browser, await toSimulator(browser, start), String(person.TechID), 'LoA1');
    const { page } = await finish(browser, callback, portal);
    expect(page?.status).toBe(403);
    const vi = textOf(page!.body);
    expect(vi).toMatch(/Tài khoản Cổng dịch vụ công quốc gia \(VNeID\) của bạn mới đạt mức xác thực LoA1/);
    expect(vi).not.toMatch(doubled);
    const switchLink = /<a class="lang" href="([^"]+)"/.exec(page!.body)?.[1].replace(/&amp;/g, '&');
    expect(switchLink).toBe('/federation/error?lang=en');
    const en = await browser.get(new URL(switchLink!, page!.url));
    expect(en.status).toBe(403);
    expect(en.body).toContain('<html lang="en">');
    expect(textOf(en.body)).toMatch(/Your National public-service portal \(VNeID\) account has reached assurance level LoA1/);
    expect(textOf(en.body)).not.toMatch(doubled);
    // The way back to the portal is still there.
    expect(en.body).toMatch(/id="return-to-portal"/);
    expect(en.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('the language switch of an error page needs this browser’s sealed page (a forged cookie is refused)', async () => {
    const res = await new Browser().get(`${f.t.url}/federation/error?lang=en`, { cookie: 'tinnhiem_fed_error=forged' });
    expect(res.status).toBe(400);
  });

  it('the official-linking page in English names the upstream once', async () => {
    const official = await createOfficial(f.t);
    const person = newCitizen(f.sim, { SoDinhDanh: official.account.nationalId!, HoVaTen: official.account.fullName });
    const browser = new Browser({ headers: { 'accept-language': 'en' } });
    const start = await portalAuthorizationUrl(portal);
    const callback = await pickAtSimulator(browser, await toSimulator(browser, start), String(person.TechID), 'LoA2');
    const { page } = await finish(browser, callback, portal);
    expect(page?.status).toBe(200);
    expect(textOf(page!.body)).toMatch(/To link your National public-service portal \(VNeID\) account to it/);
    expect(textOf(page!.body)).not.toMatch(doubled);
  });

  it('the simulator’s login page is styled like ours (stylesheet served by the simulator, banner, card, CSP)', async () => {
    const browser = new Browser();
    const page = await toSimulator(browser, await portalAuthorizationUrl(portal));
    expect(page.body).toContain('<link rel="stylesheet" href="/static/tinnhiem.css">');
    expect(page.body).toMatch(/<header class="banner">/);
    expect(page.body).toMatch(/<main id="main" class="card">/);
    expect(page.headers.get('content-security-policy')).toMatch(/style-src 'self'/);
    const css = await fetch(new URL('/static/tinnhiem.css', page.url));
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect(await css.text()).toMatch(/\.banner/);
  });
});
