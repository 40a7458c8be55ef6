import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, codeLogin, createOfficial, discover, parseForms, passkeyCeremony, textOf, type PageResponse, openAccountPage, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey, SoftAuthenticator } from '../../support/soft-authenticator.js';
import { ACR } from '../../../oidc/scopes.js';

/**
 * Issue 8: passkeys registered on the account page, passwordless login, a counter that goes
 * backwards (acceptance 2), and step-up for administration scopes (acceptance 4). The
 * authenticator is a software one with a real P-256 key; the server's verifier is the real one.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let api: string;
const portal = { id: 'cong-quan-tri', secret: '', redirect: 'http://127.0.0.1:9/callback' };

beforeAll(async () => {
  t = await startTestService();
  api = `${t.url}/api`;
  portal.secret = (
    await t.service.clients.add('test', {
      clientId: portal.id,
      name: 'Cổng quản trị chứng thư',
      redirectUris: [portal.redirect],
      scopes: ['openid', 'profile', 'certs:read', 'certs:revoke', 'admin'],
      firstParty: true,
    })
  ).secret!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const passkeyButton = (page: PageResponse) => /<button\b[^>]*data-passkey-login[^>]*>/.exec(page.body)?.[0];

const auditActions = (action: string, target: string) => t.service.audit.list({ action, target, limit: 50 });

const accountPageAfterPassword = (browser: Browser, official: { login: string; password: string }) => openAccountPage(t.url, browser, official);

/** After a password login, the first passkey needs an administrator's enrolment code (issue 16). */
async function registerThroughAccountPage(browser: Browser, page: PageResponse, name: string, accountId: string): Promise<SoftAuthenticator> {
  const form = /<form\b[^>]*data-passkey-register[^>]*>/.exec(page.body)![0];
  const csrf = /data-csrf="([^"]+)"/.exec(form)![1];
  const { code: enrolmentCode } = await t.service.codes.issueNow({ accountId, purpose: 'enrolment', actor: 'test' });
  const options = await browser.json(`${t.url}/account/passkeys/options`, { enrolmentCode }, { 'x-csrf-token': csrf });
  expect(options.status).toBe(200);
  expect(options.body).toMatchObject({ rp: { id: t.service.passkeys.settings.rpId }, authenticatorSelection: { residentKey: 'required', userVerification: 'required' } });
  const authenticator = new SoftAuthenticator(t.service.passkeys.settings.origins[0], t.service.passkeys.settings.rpId);
  const created = await browser.json(`${t.url}/account/passkeys`, { name, enrolmentCode, response: authenticator.create(options.body as never) }, { 'x-csrf-token': csrf });
  expect(created.status).toBe(201);
  return authenticator;
}

describe(`passkeys (${db})`, () => {
  it('registers a passkey on the account page, renames and deletes it, each audited', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    let page = await accountPageAfterPassword(browser, official);
    expect(textOf(page.body)).toContain('Bạn chưa đăng ký khoá truy cập nào.');
    await registerThroughAccountPage(browser, page, 'Máy tính cơ quan', official.account.id);
    page = await browser.get(`${t.url}/account`);
    expect(textOf(page.body)).toContain('Máy tính cơ quan');
    const [stored] = await t.service.passkeys.list(official.account.id);
    expect(stored).toMatchObject({ name: 'Máy tính cơ quan', counter: 0, transports: ['internal'], aaguid: '00000000-0000-0000-0000-000000000000', deviceType: 'singleDevice', backedUp: false });
    expect(stored.publicKey.length).toBeGreaterThan(64);

    const rename = parseForms(page.body).find((f) => f.action.endsWith('/rename'))!;
    const renamed = await browser.submit(page, rename, { name: 'Khoá USB' });
    expect(renamed.status).toBe(303);
    expect((await t.service.passkeys.list(official.account.id))[0].name).toBe('Khoá USB');

    // A form without the page's token, or from another site, changes nothing.
    expect((await browser.submit(page, rename, { name: 'X', csrf: 'forged' })).status).toBe(403);
    expect((await browser.submit(page, rename, { name: 'X' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // Another person's passkey cannot be touched from this session.
    const other = await createOfficial(t);
    await registerSoftPasskey(t.service.passkeys, other.account);
    const othersId = (await t.service.passkeys.list(other.account.id))[0].id;
    // Deleting needs the enrolment gate too (issue 16): a code, which a refused deletion does not spend.
    const { code: enrolmentCode } = await t.service.codes.issueNow({ accountId: official.account.id, purpose: 'enrolment', actor: 'test' });
    const foreign = await browser.submit(page, { ...rename, action: `/account/passkeys/${othersId}/delete` }, { enrolmentCode });
    expect(foreign.status).toBe(404);
    expect(await t.service.passkeys.list(other.account.id)).toHaveLength(1);

    const del = parseForms(page.body).find((f) => f.action.endsWith('/delete'))!;
    expect((await browser.submit(page, del, { enrolmentCode })).status).toBe(303);
    expect(await t.service.passkeys.list(official.account.id)).toEqual([]);
    const target = `account:${official.account.id}`;
    for (const action of ['passkey.register', 'passkey.rename', 'passkey.delete']) expect(await auditActions(action, target)).toHaveLength(1);
  });

  it('logs in without a password with a discoverable passkey; the ID token says amr hwk/user/mfa and acr high', async () => {
    const official = await createOfficial(t);
    const registering = new Browser();
    const passkey = await registerThroughAccountPage(registering, await accountPageAfterPassword(registering, official), 'Điện thoại', official.account.id);
    const browser = new Browser();
    const config = await discover(t.url, portal.id, portal.secret);
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce });
    const { page: login } = await browser.follow(url);
    // The login page offers passkeys: a link to the passkey page and the autofill script.
    const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(login!.body)![0];
    expect(login!.body).toContain('<script src="/static/passkeys.js" defer></script>');
    expect(login!.body).toContain('autocomplete="username webauthn"');
    const passkeyPage = await browser.get(new URL(/href="([^"]+)"/.exec(link)![1], login!.url));
    expect(passkeyPage.status).toBe(200);
    expect(passkeyPage.headers.get('content-security-policy')).toContain("script-src 'self'");
    const next = await passkeyCeremony(browser, passkeyPage, passkeyButton(passkeyPage)!, passkey);
    const { stoppedAt } = await browser.follow(next, portal.redirect);
    const tokens = await client.authorizationCodeGrant(config, stoppedAt!, { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(official.account.id);
    expect(claims.acr).toBe(ACR.high);
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    const [stored] = await t.service.passkeys.list(official.account.id);
    expect(stored.counter).toBe(1);
    expect(stored.lastUsedAt).toBeInstanceOf(Date);
  });

  it('the passkey page embeds its ceremony options: a challenge of its own, bound to the interaction, serving once', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    const open = async () => {
      const browser = new Browser();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const { page } = await browser.follow(url);
      const uid = interactionUid(page!);
      const passkeyPage = await browser.get(`${t.url}/interaction/${uid}/passkey`);
      expect(passkeyPage.status).toBe(200);
      expect(passkeyPage.headers.get('cache-control')).toBe('no-store');
      const button = passkeyButton(passkeyPage)!;
      const csrf = /data-csrf="([^"]+)"/.exec(button)![1];
      const options = JSON.parse(unescape(/data-options-json="([^"]*)"/.exec(button)![1])) as { challenge: string; rpId: string; userVerification: string; allowCredentials: unknown[] };
      return { browser, uid, csrf, options };
    };
    const a = await open();
    const b = await open();
    expect(a.options).toMatchObject({ rpId: t.service.passkeys.settings.rpId, userVerification: 'required', allowCredentials: [] });
    expect(a.options.challenge).not.toBe(b.options.challenge);
    const verify = (s: typeof a, challenge: string) => s.browser.json(`${t.url}/interaction/${s.uid}/passkey/verify`, passkey.get({ challenge }), { 'x-csrf-token': s.csrf });
    // Another interaction's challenge: refused (its seal names another interaction).
    const crossed = await verify(a, b.options.challenge);
    expect(crossed.status).toBe(401);
    expect(String(crossed.body.detail)).toMatch(/unknown or already used challenge/);
    // No CSRF token: refused before the challenge is touched.
    expect((await a.browser.json(`${t.url}/interaction/${a.uid}/passkey/verify`, passkey.get({ challenge: a.options.challenge }), {})).status).toBe(403);
    expect((await verify(a, a.options.challenge)).status).toBe(200);
    // The same challenge again: spent.
    const replay = await verify(a, a.options.challenge);
    expect(replay.status).toBe(401);
    expect(String(replay.body.detail)).toMatch(/unknown or already used challenge/);
    // A retry asks the options call for a fresh challenge (the script does so after a failure).
    const again = await b.browser.json(`${t.url}/interaction/${b.uid}/passkey/options`, {}, { 'x-csrf-token': b.csrf });
    expect(again.status).toBe(200);
    expect((await verify(b, String(again.body.challenge))).status).toBe(200);
  });

  it('the login page embeds the autofill’s options: a challenge of its own, bound to the interaction, serving once, behind the CSRF token and the origin checks; the login through it is acr high', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const open = async () => {
      const browser = new Browser();
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce });
      const { page } = await browser.follow(url);
      expect(page!.status).toBe(200);
      const uid = interactionUid(page!);
      const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(page!.body)![0];
      const options = JSON.parse(unescapeHtml(/data-options-json="([^"]*)"/.exec(link)![1])) as { challenge: string; rpId: string; userVerification: string; allowCredentials: unknown[] };
      const csrf = parseForms(page!.body)[0].fields.csrf;
      return { browser, page: page!, uid, csrf, options, verifier, nonce };
    };
    type Opened = Awaited<ReturnType<typeof open>>;
    const verify = (s: Opened, assertion: unknown, headers: Record<string, string> = { 'x-csrf-token': s.csrf }) => s.browser.json(`${t.url}/interaction/${s.uid}/passkey/verify`, assertion, headers);
    const [a, b, c] = [await open(), await open(), await open()];
    expect(a.options).toMatchObject({ rpId: t.service.passkeys.settings.rpId, userVerification: 'required', allowCredentials: [] });
    expect(new Set([a, b, c].map((s) => s.options.challenge)).size).toBe(3);
    expect(a.page.headers.get('cache-control')).toBe('no-store');

    // Another interaction's challenge: refused (its seal names another interaction); nothing is
    // spent by the attempt, so it cannot burn another person's ceremony: b still logs in with it.
    const crossed = await verify(a, passkey.get({ challenge: b.options.challenge }));
    expect(crossed.status).toBe(401);
    expect(String(crossed.body.detail)).toMatch(/unknown or already used challenge/);
    expect((await verify(b, passkey.get({ challenge: b.options.challenge }))).status).toBe(200);
    expect((await verify(b, passkey.get({ challenge: b.options.challenge }))).status).toBe(401);
    // No CSRF token, a forged one, a cross-site call: refused before the challenge is touched.
    expect((await verify(a, passkey.get({ challenge: a.options.challenge }), {})).status).toBe(403);
    expect((await verify(a, passkey.get({ challenge: a.options.challenge }), { 'x-csrf-token': b.csrf })).status).toBe(403);
    expect((await verify(a, passkey.get({ challenge: a.options.challenge }), { 'x-csrf-token': a.csrf, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).status).toBe(403);
    // Signed for another origin (a phishing site relaying the page's challenge): refused.
    const phished = await verify(a, passkey.get({ challenge: a.options.challenge }, { origin: 'https://tinnhiem.example.com' }));
    expect(phished.status).toBe(401);
    expect(String(phished.body.detail)).toMatch(/origin/i);
    // The same key answering for another RP ID: refused.
    const otherRp = SoftAuthenticator.restore({ ...passkey.state(), rpId: 'evil.example' });
    const wrongRp = await verify(c, otherRp.get({ challenge: c.options.challenge }));
    expect(wrongRp.status).toBe(401);
    expect(String(wrongRp.body.detail)).toMatch(/rp ?id/i);

    // The autofill's login completes (acr high, amr of the passkey); its assertion replayed is refused.
    const d = await open();
    const assertion = passkey.get({ challenge: d.options.challenge });
    const ok = await verify(d, assertion);
    expect(ok.status).toBe(200);
    expect((await verify(d, assertion)).status).toBe(401);
    const { stoppedAt } = await d.browser.follow(new URL(String(ok.body.location), t.url), portal.redirect);
    const tokens = await client.authorizationCodeGrant(config, stoppedAt!, { pkceCodeVerifier: d.verifier, expectedNonce: d.nonce, idTokenExpected: true });
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: ACR.high, amr: ['hwk', 'user', 'mfa'] });
  });

  it('refuses an assertion whose counter went backwards, and audits it (acceptance 2)', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const start = async () => {
      const browser = new Browser();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const { page } = await browser.follow(url);
      const uid = interactionUid(page!);
      const passkeyPage = await browser.get(`${t.url}/interaction/${uid}/passkey`);
      const button = passkeyButton(passkeyPage)!;
      const csrf = /data-csrf="([^"]+)"/.exec(button)![1];
      const options = await browser.json(`${t.url}/interaction/${uid}/passkey/options`, {}, { 'x-csrf-token': csrf });
      return { browser, uid, csrf, challenge: String(options.body.challenge) };
    };
    // Three good logins: the counter is at 5.
    for (const counter of [1, 3, 5]) {
      const s = await start();
      const ok = await s.browser.json(`${t.url}/interaction/${s.uid}/passkey/verify`, passkey.get({ challenge: s.challenge }, { counter }), { 'x-csrf-token': s.csrf });
      expect(ok.status).toBe(200);
    }
    // A clone presents 4 (and then 5) on fresh challenges: refused, audited, the stored counter kept.
    for (const counter of [4, 5]) {
      const s = await start();
      const cloned = await s.browser.json(`${t.url}/interaction/${s.uid}/passkey/verify`, passkey.get({ challenge: s.challenge }, { counter }), { 'x-csrf-token': s.csrf });
      expect(cloned.status).toBe(403);
      expect(cloned.body).toMatchObject({ type: 'urn:tinnhiem:problem:forbidden', detail: expect.stringMatching(/counter went backwards/) });
    }
    const events = await auditActions('passkey.counter_regression', `account:${official.account.id}`);
    expect(events.map((e) => [e.details.stored, e.details.presented])).toEqual(expect.arrayContaining([[5, 4], [5, 5]]));
    expect((await t.service.passkeys.list(official.account.id))[0].counter).toBe(5);

    // The same signed assertion sent twice: the challenge serves once.
    const s = await start();
    const assertion = passkey.get({ challenge: s.challenge }, { counter: 6 });
    expect((await s.browser.json(`${t.url}/interaction/${s.uid}/passkey/verify`, assertion, { 'x-csrf-token': s.csrf })).status).toBe(200);
    const s2 = await start();
    const replay = await s2.browser.json(`${t.url}/interaction/${s2.uid}/passkey/verify`, assertion, { 'x-csrf-token': s2.csrf });
    expect(replay.status).toBe(401);
  });

  it('two assertions with the same counter at once (a clone racing its original): one passes, the other is refused and audited; a challenge serves once under a race', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const context = { ip: '10.30.0.1' };
    const [o1, o2] = [await t.service.passkeys.authenticationOptions('interaction:race-1'), await t.service.passkeys.authenticationOptions('interaction:race-2')];
    const results = await Promise.allSettled([
      t.service.passkeys.authenticate('interaction:race-1', passkey.get(o1, { counter: 7 }), context),
      t.service.passkeys.authenticate('interaction:race-2', passkey.get(o2, { counter: 7 }), context),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/counter went backwards/);
    expect((await t.service.passkeys.list(official.account.id))[0].counter).toBe(7);
    const events = await auditActions('passkey.counter_regression', `account:${official.account.id}`);
    expect(events.map((e) => [e.details.stored, e.details.presented])).toEqual([[7, 7]]);

    // One signed assertion sent twice at once on its challenge: it serves once.
    const o3 = await t.service.passkeys.authenticationOptions('interaction:race-3');
    const assertion = passkey.get(o3, { counter: 8 });
    const twice = await Promise.allSettled([t.service.passkeys.authenticate('interaction:race-3', assertion, context), t.service.passkeys.authenticate('interaction:race-3', assertion, context)]);
    expect(twice.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((twice.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/unknown or already used challenge/);
  });

  it('refuses malformed, foreign-origin and forged ceremonies with 4xx problems', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const browser = new Browser();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const { page } = await browser.follow(url);
    const uid = interactionUid(page!);
    const csrf = parseForms(page!.body)[0].fields.csrf;
    const base = `${t.url}/interaction/${uid}/passkey`;
    expect((await browser.json(`${base}/options`, {}, {})).status).toBe(403); // no token
    expect((await browser.json(`${base}/options`, {}, { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' })).status).toBe(403);
    const options = await browser.json(`${base}/options`, {}, { 'x-csrf-token': csrf });
    expect(options.body.allowCredentials).toEqual([]); // discoverable: no username first
    const bad = await browser.json(`${base}/verify`, { id: 'x' }, { 'x-csrf-token': csrf });
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe('urn:tinnhiem:problem:validation-failed');
    // Signed for another origin (a phishing site relaying the challenge).
    const phished = await browser.json(`${base}/verify`, passkey.get({ challenge: String(options.body.challenge) }, { origin: 'https://tinnhiem.example.com' }), { 'x-csrf-token': csrf });
    expect(phished.status).toBe(401);
    expect(String(phished.body.detail)).toMatch(/origin/i);
  });

  it('asking for certs:revoke after a password-only login triggers step-up; after the passkey the token carries the scope (acceptance 4)', async () => {
    const officer = await createOfficial(t, { roles: ['ra-officer'] });
    const passkey = await registerSoftPasskey(t.service.passkeys, officer.account);
    const config = await discover(t.url, portal.id, portal.secret);
    const browser = new Browser();

    // A password login for reading only: low acr, no step-up.
    const reading = await codeLogin(config, browser, portal.redirect, officer, { scope: 'openid profile certs:read', resource: api }, { resource: api });
    expect(reading.tokens.claims()).toMatchObject({ acr: ACR.low, amr: ['pwd'] });
    expect(decodeJwt(reading.tokens.access_token).scope).toBe('certs:read');

    // Now certs:revoke in the same browser session: the provider asks for a stronger factor.
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile certs:read certs:revoke', resource: api, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const { page } = await browser.follow(url);
    expect(page!.status).toBe(200);
    expect(page!.url.pathname).toMatch(/^\/interaction\/[^/]+\/passkey$/);
    expect(textOf(page!.body)).toContain('Xác thực bổ sung');
    expect(textOf(page!.body)).toContain('certs:revoke');
    const uid = page!.url.pathname.split('/')[2];
    // The password cannot answer it.
    const csrf = /data-csrf="([^"]+)"/.exec(passkeyButton(page!)!)![1];
    // The page's embedded options allow only this account's passkeys.
    expect(/data-options-json="([^"]*)"/.exec(passkeyButton(page!)!)![1]).toContain(`&quot;allowCredentials&quot;:[{&quot;id&quot;:&quot;${passkey.id}&quot;`);
    const again = await browser.request(`${t.url}/interaction/${uid}/login`, { method: 'POST', form: { csrf, login: officer.login, password: officer.password }, headers: { origin: t.url } });
    expect(again.status).toBe(403);
    // A passkey of another account cannot either (step-up proves the same person).
    const stranger = await createOfficial(t, { roles: ['ra-officer'] });
    const strangers = await registerSoftPasskey(t.service.passkeys, stranger.account);
    const options = await browser.json(`${t.url}/interaction/${uid}/passkey/options`, {}, { 'x-csrf-token': csrf });
    expect((options.body.allowCredentials as Array<{ id: string }>).map((c) => c.id)).toEqual([passkey.id]);
    const wrong = await browser.json(`${t.url}/interaction/${uid}/passkey/verify`, strangers.get({ challenge: String(options.body.challenge) }), { 'x-csrf-token': csrf });
    expect(wrong.status).toBe(401);

    // The passkey page answered by the authenticator (then the consent page for the new scope).
    const callback = await authorize(browser, page!.url, portal.redirect, undefined, passkey);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true }, { resource: api });
    expect(tokens.claims()).toMatchObject({ sub: officer.account.id, acr: ACR.high, amr: ['pwd', 'hwk', 'user', 'mfa'] });
    expect(String(decodeJwt(tokens.access_token).scope).split(' ').sort()).toEqual(['certs:read', 'certs:revoke']);
    // RFC 9068 §2.2.1: the API token says how the person authenticated, so the API can check it.
    expect(decodeJwt(tokens.access_token)).toMatchObject({ acr: ACR.high, amr: ['pwd', 'hwk', 'user', 'mfa'] });
    // The API accepts it for a revocation (404: the serial does not exist, the token passed).
    const revoke = await fetch(`${api}/v1/certificates/7fffffff/revoke`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(revoke.status).toBe(404);
    await revoke.arrayBuffer();
    const stepUps = await auditActions('login.success', `account:${officer.account.id}`);
    expect(stepUps.map((e) => e.details.step ?? e.details.method)).toEqual(expect.arrayContaining(['pwd', 'second-factor']));
  });

  it('an official whose roles do not allow an administration scope is not asked to step up', async () => {
    const official = await createOfficial(t, { roles: ['official'] });
    const config = await discover(t.url, portal.id, portal.secret);
    const result = await codeLogin(config, new Browser(), portal.redirect, official, { scope: 'openid certs:read certs:revoke', resource: api }, { resource: api });
    expect(result.tokens.claims()).toMatchObject({ acr: ACR.low });
    expect(decodeJwt(result.tokens.access_token).scope).toBe('certs:read');
  });

  it('the API asks for step-up itself (RFC 9470) when a person’s token for an administration scope is below high acr', async () => {
    const official = await createOfficial(t, { roles: ['ra-officer'] });
    // Tokens signed with the provider's own active key, as it would mint them, at each level.
    const { privateJwks } = await t.service.signingKeys.load();
    const jwk = privateJwks.find((k) => k.kty === 'EC')!;
    const key = await importJWK(jwk, 'ES256');
    const token = (acr?: string) =>
      new SignJWT({ scope: 'certs:revoke', client_id: portal.id, ...(acr && { acr }) })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
        .setIssuer(`${t.url}/oidc`)
        .setAudience(api)
        .setSubject(official.account.id)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    const call = async (bearer: string) => fetch(`${api}/v1/certificates/7fffffff/revoke`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: '{}' });
    for (const acr of [ACR.low, ACR.substantial, undefined, 'urn:other:acr:high']) {
      const res = await call(await token(acr));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="tinnhiem", error="insufficient_user_authentication", error_description="a stronger authentication is required", acr_values="${ACR.high}"`);
      expect(await res.json()).toMatchObject({ error: 'insufficient_user_authentication', acrValues: ACR.high });
    }
    const high = await call(await token(ACR.high));
    expect(high.status).toBe(404);
    await high.arrayBuffer();
  });
});
