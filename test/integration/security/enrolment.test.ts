import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, parseForms, passkeyCeremony, type PageResponse, openAccountPage, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey, SoftAuthenticator } from '../../support/soft-authenticator.js';

/**
 * Issue 16, acceptance 1: a password alone does not reach high assurance. From a password-only
 * session the account page refuses to register or delete a passkey or a login certificate (403,
 * a problem naming the step-up); an administrator's enrolment code allows one registration; a
 * passkey session allows it; an administrator's password reset removes the passkeys.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
const CERT = readFileSync(new URL('../../fixtures/vgca/vgca-g1-chinh-phu-subca.pem', import.meta.url), 'utf8');
const OTHER_CERT = readFileSync(new URL('../../fixtures/vgca/vgca-g1-dang-cong-san-subca.pem', import.meta.url), 'utf8');

beforeAll(async () => {
  t = await startTestService();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const accountPageAfterPassword = (browser: Browser, official: { login: string; password: string }) => openAccountPage(t.url, browser, official);

/** Signs in to the account page with a passkey alone (acr high), as the passkey page's script would. */
async function accountPageAfterPasskey(browser: Browser, passkey: SoftAuthenticator): Promise<PageResponse> {
  const { page: login } = await browser.follow(`${t.url}/account`);
  const uid = interactionUid(login!);
  const passkeyPage = await browser.get(`${t.url}/interaction/${uid}/passkey`);
  const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(passkeyPage.body)![0];
  const next = await passkeyCeremony(browser, passkeyPage, button, passkey);
  const { page } = await browser.follow(next);
  expect(page?.url.pathname).toBe('/account');
  return page!;
}

const csrfOf = (page: PageResponse) => /<form\b[^>]*data-passkey-register[^>]*data-csrf="([^"]+)"/.exec(page.body)![1];

async function tryRegister(browser: Browser, page: PageResponse, enrolmentCode?: string) {
  const headers = { 'x-csrf-token': csrfOf(page) };
  const options = await browser.json(`${t.url}/account/passkeys/options`, { enrolmentCode }, headers);
  if (options.status !== 200) return { options, created: null, authenticator: null };
  const authenticator = new SoftAuthenticator(t.service.passkeys.settings.origins[0], t.service.passkeys.settings.rpId);
  const created = await browser.json(`${t.url}/account/passkeys`, { name: 'Khoá mới', response: authenticator.create(options.body as never), enrolmentCode }, headers);
  return { options, created, authenticator };
}

const stepUpProblem = expect.objectContaining({ type: 'urn:tinnhiem:problem:step-up-required', status: 403, detail: expect.stringContaining('acr high') });

describe(`enrolment of login credentials (${db})`, () => {
  it('a password-only session registers and deletes nothing: passkeys and login certificates → 403 naming the step-up', async () => {
    const official = await createOfficial(t);
    await registerSoftPasskey(t.service.passkeys, official.account, 'Khoá của chủ tài khoản');
    await t.service.certificateLogin.registerCertificate('test', official.account.id, CERT);
    const browser = new Browser();
    const page = await accountPageAfterPassword(browser, official);
    const before = await t.service.audit.list({ target: `account:${official.account.id}`, limit: 100 });

    // Registration: the options call, and a registration posted directly (challenge from the service), both refused.
    const { options } = await tryRegister(browser, page);
    expect(options.status).toBe(403);
    expect(options.body).toEqual(stepUpProblem);
    const authenticator = new SoftAuthenticator(t.service.passkeys.settings.origins[0], t.service.passkeys.settings.rpId);
    const direct = await browser.json(`${t.url}/account/passkeys`, { name: 'X', response: authenticator.create({ challenge: 'AAAA', user: { id: 'AAAA' } } as never) }, { 'x-csrf-token': csrfOf(page) });
    expect(direct.status).toBe(403);
    expect(direct.body).toEqual(stepUpProblem);

    // Deletion of a passkey, registration and deletion of a certificate (JSON clients get the problem).
    const [passkey] = await t.service.passkeys.list(official.account.id);
    const csrf = parseForms(page.body).find((f) => f.action.endsWith('/delete'))!.fields.csrf;
    const fingerprint = (await t.service.certificateLogin.registeredCertificates(official.account.id))[0].fingerprint;
    for (const [path, form] of [
      [`/account/passkeys/${passkey.id}/delete`, { csrf }],
      ['/account/certificates', { csrf, certificate: CERT }],
      [`/account/certificates/${fingerprint}/delete`, { csrf }],
    ] as const) {
      const res = await browser.request(`${t.url}${path}`, { method: 'POST', form, headers: { origin: t.url, accept: 'application/problem+json, application/json' } });
      expect([path, res.status]).toEqual([path, 403]);
      expect(JSON.parse(res.body)).toEqual(stepUpProblem);
      // The page itself shows the same refusal to a person.
      const shown = await browser.request(`${t.url}${path}`, { method: 'POST', form, headers: { origin: t.url } });
      expect(shown.status).toBe(403);
      expect(shown.body).toContain('acr high');
    }
    expect(await t.service.passkeys.list(official.account.id)).toHaveLength(1);
    expect(await t.service.certificateLogin.registeredCertificates(official.account.id)).toHaveLength(1);
    const after = await t.service.audit.list({ target: `account:${official.account.id}`, limit: 100 });
    expect(after.length).toBe(before.length);
  });

  it('an enrolment code from an administrator allows one registration, once; it is audited and shown on the page', async () => {
    const official = await createOfficial(t);
    const admin = await createOfficial(t, { roles: ['admin'] });
    const issued = await t.service.accountChanges.request(`user:${admin.account.id}`, { kind: 'enrolment-code', account: official.account });
    expect(issued.status).toBe('done');
    const code = issued.code!;
    expect(code).toMatch(/^[A-Z2-9]{5}(-[A-Z2-9]{5}){3}$/);
    const browser = new Browser();
    const page = await accountPageAfterPassword(browser, official);
    // A wrong code, and another account's code, are refused.
    expect((await tryRegister(browser, page, 'AAAAA-BBBBB-CCCCC-DDDDD')).options.status).toBe(403);
    const { created } = await tryRegister(browser, page, code.toLowerCase());
    expect(created?.status).toBe(201);
    const [registered] = await t.service.passkeys.list(official.account.id);
    const [event] = await t.service.audit.list({ action: 'passkey.register', target: `account:${official.account.id}`, limit: 5 });
    expect(event.details).toMatchObject({ passkey: registered.id, basis: 'enrolment-code', codeIssuedBy: `user:${admin.account.id}` });
    // Single use: the same code registers nothing more.
    const again = await tryRegister(browser, page, code);
    expect(again.options.status).toBe(403);
    expect(String(again.options.body.detail)).toContain('already used');
    expect(await t.service.passkeys.list(official.account.id)).toHaveLength(1);
    const shown = await browser.get(`${t.url}/account`);
    expect(shown.body).toContain('data-credential-history');
    expect(shown.body).toContain('passkey.register (enrolment-code)');
    // The code is stored as a digest only.
    const rows = await t.service.db.knex('one_time_codes').where({ account_id: official.account.id });
    expect(JSON.stringify(rows)).not.toContain(code);
  });

  it('a passkey session (acr high) registers a passkey and a login certificate, and deletes them', async () => {
    const official = await createOfficial(t);
    const first = await registerSoftPasskey(t.service.passkeys, official.account, 'Khoá đầu tiên');
    const browser = new Browser();
    const page = await accountPageAfterPasskey(browser, first);
    expect(page.body).not.toContain('data-enrolment-needed');
    const { created } = await tryRegister(browser, page);
    expect(created?.status).toBe(201);
    expect(await t.service.passkeys.list(official.account.id)).toHaveLength(2);
    const csrf = csrfOf(page);
    const cert = await browser.request(`${t.url}/account/certificates`, { method: 'POST', form: { csrf, certificate: OTHER_CERT }, headers: { origin: t.url } });
    expect(cert.status).toBe(303);
    const [registered] = await t.service.certificateLogin.registeredCertificates(official.account.id);
    const removed = await browser.request(`${t.url}/account/certificates/${registered.fingerprint}/delete`, { method: 'POST', form: { csrf }, headers: { origin: t.url } });
    expect(removed.status).toBe(303);
    expect(await t.service.certificateLogin.registeredCertificates(official.account.id)).toHaveLength(0);
    const [event] = await t.service.audit.list({ action: 'account.certificate_remove', target: `account:${official.account.id}`, limit: 5 });
    expect(event.details).toMatchObject({ basis: 'acr-high' });
  });

  it("an administrator's password reset removes the passkeys (the attacker's passkey stops logging in), unless told otherwise", async () => {
    const official = await createOfficial(t);
    const attackers = await registerSoftPasskey(t.service.passkeys, official.account, 'Khoá của kẻ gian');
    await t.service.accounts.setPassword('test', official.login, 'Mật-khẩu-mới-sau-sự-cố-2026');
    expect(await t.service.passkeys.list(official.account.id)).toEqual([]);
    const [event] = await t.service.audit.list({ action: 'account.password_set', target: `account:${official.account.id}`, limit: 5 });
    expect(event.details).toMatchObject({ removedPasskeys: 1, keptPasskeys: false });
    // The removed passkey no longer logs in.
    const browser = new Browser();
    const { page: login } = await browser.follow(`${t.url}/account`);
    const uid = interactionUid(login!);
    const passkeyPage = await browser.get(`${t.url}/interaction/${uid}/passkey`);
    const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(passkeyPage.body)![0];
    await expect(passkeyCeremony(browser, passkeyPage, button, attackers)).rejects.toThrow(/passkey refused: (401|403|404)/);

    const kept = await createOfficial(t);
    await registerSoftPasskey(t.service.passkeys, kept.account);
    await t.service.accounts.setPassword('test', kept.login, 'Mật-khẩu-mới-giữ-khoá-2026', { keepPasskeys: true });
    expect(await t.service.passkeys.list(kept.account.id)).toHaveLength(1);
  });
});
