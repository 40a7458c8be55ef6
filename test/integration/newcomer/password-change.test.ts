import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, parseForms, type PageResponse, openAccountPage } from '../../support/oidc-rp.js';

/**
 * Issue 21: the account page's password change. A stolen password alone cannot change the
 * password (the owner would be locked out): the step-up of docs/security.md is needed (acr high,
 * DVCQG LoA2, or an enrolment code). The form is guarded (origin, session token); the policy
 * refuses the username and the national ID; a change ends every session of the account.
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

const passwordForm = (page: PageResponse) => parseForms(page.body).find((f) => f.action === '/account/password')!;
const changes = async (accountId: string) => (await t.service.audit.list({ target: `account:${accountId}`, limit: 100 })).filter((e) => e.action === 'account.password_change');

describe(`changing one's password on the account page (${db})`, () => {
  it('a password-only session (a thief with the password) is refused: 403 step-up, nothing changed', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const page = await accountPage(browser, official);
    expect(page.body).toContain('id="password-step-up"');
    const res = await browser.submit(page, passwordForm(page), { password: 'mật-khẩu-của-kẻ-trộm', confirm: 'mật-khẩu-của-kẻ-trộm' });
    expect(res.status).toBe(403);
    expect(res.body).toContain('changing the password needs a stronger login');
    const json = await browser.request(`${t.url}/account/password`, { method: 'POST', form: { ...passwordForm(page).fields, password: 'mật-khẩu-của-kẻ-trộm', confirm: 'mật-khẩu-của-kẻ-trộm' }, headers: { origin: t.url, accept: 'application/json' } });
    expect(json.status).toBe(403);
    expect(JSON.parse(json.body)).toMatchObject({ type: 'urn:tinnhiem:problem:step-up-required' });
    expect(await changes(official.account.id)).toEqual([]);
    // The owner's password still works.
    await accountPage(new Browser(), official);
  });

  it('with an enrolment code: changed, every session ended, the code used once, audited', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const page = await accountPage(browser, official);
    const { code } = await t.service.codes.issueNow({ accountId: official.account.id, purpose: 'enrolment', actor: 'test' });
    const fresh = 'một-mật-khẩu-mới-đủ-dài';
    const res = await browser.submit(page, passwordForm(page), { password: fresh, confirm: fresh, enrolmentCode: code });
    expect(res.status).toBe(303);
    expect(res.location?.pathname).toBe('/account');
    // The session is over: the account page asks for a login again.
    const again = await browser.get(`${t.url}/account`);
    expect(again.status).toBe(303);
    expect(again.location?.pathname).toBe('/oidc/auth');
    const [event] = await changes(official.account.id);
    expect(event.details).toMatchObject({ basis: 'enrolment-code' });
    expect(event.details.endedSessionRows).toBeGreaterThan(0);
    await accountPage(new Browser(), { login: official.login, password: fresh });
    await expect(accountPage(new Browser(), official)).rejects.toThrow(/login refused/);

    // The same code a second time: refused (single use).
    const b2 = new Browser();
    const p2 = await accountPage(b2, { login: official.login, password: fresh });
    const reuse = await b2.submit(p2, passwordForm(p2), { password: 'lần-thứ-hai-đủ-dài', confirm: 'lần-thứ-hai-đủ-dài', enrolmentCode: code });
    expect(reuse.status).toBeGreaterThanOrEqual(400);
    expect(reuse.status).toBeLessThan(500);
    expect(await changes(official.account.id)).toHaveLength(1);
  });

  it('the policy: not the username, not the national ID, not a common password, both fields the same', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const page = await accountPage(browser, official);
    for (const [password, confirm, message] of [
      [`${official.login}-2026!`, `${official.login}-2026!`, 'the username'],
      [`x${official.account.nationalId}`, `x${official.account.nationalId}`, 'the national ID'],
      ['mật-khẩu-dài-một', 'mật-khẩu-dài-hai', 'Hai mật khẩu không khớp'],
      ['ngắn', 'ngắn', 'at least 10'],
      ['Password123', 'Password123', 'most common passwords'],
    ]) {
      const { code } = await t.service.codes.issueNow({ accountId: official.account.id, purpose: 'enrolment', actor: 'test' });
      const res = await browser.submit(page, passwordForm(page), { password, confirm, enrolmentCode: code });
      expect([res.status, res.body.includes(message)]).toEqual([400, true]);
    }
    expect(await changes(official.account.id)).toEqual([]);
  });

  it('the form is guarded: another origin, or no session token → 403', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const page = await accountPage(browser, official);
    const { code } = await t.service.codes.issueNow({ accountId: official.account.id, purpose: 'enrolment', actor: 'test' });
    const fields = { password: 'csrf-mật-khẩu-mới', confirm: 'csrf-mật-khẩu-mới', enrolmentCode: code };
    const crossSite = await browser.submit(page, passwordForm(page), fields, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const noToken = await browser.submit(page, passwordForm(page), { ...fields, csrf: 'sai' });
    expect(noToken.status).toBe(403);
    expect(await changes(official.account.id)).toEqual([]);
  });
});
