import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover, parseForms, textOf, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey, type SoftAuthenticator } from '../../support/soft-authenticator.js';
import { ACR } from '../../../oidc/scopes.js';

/**
 * Issue 20, twelfth pass: the passkey assertion posted under the resume's address
 * (`POST /oidc/auth/<uid>/passkey`) runs oidc-provider's resume in the same request, so the
 * portal's redirect with the code is the assertion's answer. Each check of that route is shown
 * here by the attack it stops: a replayed assertion, a cross-site call (CSRF), a call without this
 * interaction's resume cookie (another browser, or another interaction's cookie), an assertion
 * made for another interaction; and the step-up, a browser signed in as another account and the
 * form_post response mode still work.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let config: client.Configuration;
let passkey: SoftAuthenticator;
let official: Awaited<ReturnType<typeof createOfficial>>;
const portal = { id: 'cong-resume', secret: '', redirect: 'http://127.0.0.1:9/callback' };

beforeAll(async () => {
  t = await startTestService();
  portal.secret = (
    await t.service.clients.add('test', { clientId: portal.id, name: 'Cổng tiếp tục', redirectUris: [portal.redirect], scopes: ['openid', 'profile', 'certs:read', 'certs:revoke'], firstParty: true })
  ).secret!;
  config = await discover(t.url, portal.id, portal.secret);
  official = await createOfficial(t);
  passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&amp;/g, '&');

/** A portal's authorization request in a browser of its own, up to the login page and what its autofill sends. */
async function open(extra: Record<string, string> = {}, browser = new Browser()) {
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, ...extra });
  const { page } = await browser.follow(url);
  expect(page!.status).toBe(200);
  const uid = interactionUid(page!);
  const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(page!.body)![0];
  const options = JSON.parse(unescapeHtml(/data-options-json="([^"]*)"/.exec(link)![1])) as { challenge: string };
  const verifyUrl = new URL(/data-verify="([^"]*)"/.exec(link)![1], t.url);
  const csrf = parseForms(page!.body)[0].fields.csrf;
  const post = (assertion: unknown, headers: Record<string, string> = { 'x-csrf-token': csrf }, from = browser) => from.json(verifyUrl, assertion, headers);
  return { browser, uid, csrf, options, verifyUrl, post, verifier, nonce };
}
type Opened = Awaited<ReturnType<typeof open>>;

const redeem = (s: Opened, callback: URL) => client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: s.verifier, expectedNonce: s.nonce, idTokenExpected: true });
const codeOf = (location: unknown) => (typeof location === 'string' && location.startsWith(portal.redirect) ? new URL(location).searchParams.get('code') : null);

describe(`the passkey assertion resumes the interaction in its own request (${db})`, () => {
  it('answers with the portal’s redirect (the code) and the session cookie: four requests per login, acr high', async () => {
    const s = await open();
    expect(s.verifyUrl.pathname).toBe(`/oidc/auth/${s.uid}/passkey`);
    const before = s.browser.visited.length;
    const ok = await s.post(passkey.get(s.options));
    expect(ok.status).toBe(200);
    expect(codeOf(ok.body.location)).toEqual(expect.any(String));
    // No request to the resume's address: the assertion was the last request before the portal.
    expect(s.browser.visited.slice(before)).toEqual([`POST ${s.verifyUrl.toString()}`]);
    const tokens = await redeem(s, new URL(String(ok.body.location)));
    expect(tokens.claims()).toMatchObject({ sub: official.account.id, acr: ACR.high, amr: ['hwk', 'user', 'mfa'] });
    // The session cookie came with the answer: the next authorization in this browser needs no login.
    const sso = await s.browser.follow(client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }), portal.redirect);
    expect(sso.stoppedAt?.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a replayed assertion: after the login, and in a burst of one assertion only one code', async () => {
    const s = await open();
    const assertion = passkey.get(s.options);
    // The cookies as they were when the assertion was made (a replay that keeps the resume cookie).
    const cookie = s.browser.jar.header(s.verifyUrl);
    const ok = await s.post(assertion);
    expect(codeOf(ok.body.location)).toBeTruthy();
    const replayed = await s.post(assertion, { 'x-csrf-token': s.csrf, cookie });
    expect(replayed.status).toBe(400);
    expect(codeOf(replayed.body.location)).toBeNull();
    // A burst of one assertion from the page's browser: one code, the others refused with 4xx.
    const b = await open();
    const one = passkey.get(b.options);
    const answers = await Promise.all(Array.from({ length: 5 }, () => b.post(one)));
    expect(answers.filter((a) => codeOf(a.body.location))).toHaveLength(1);
    const refused = answers.filter((x) => !codeOf(x.body.location)).map((a) => a.status);
    expect(refused.every((status) => status >= 400 && status < 500)).toBe(true);
  });

  it('refuses bad input with a clear 4xx and spends nothing: another content type, malformed JSON, a body over the limit, something not an assertion', async () => {
    const s = await open();
    const assertion = passkey.get(s.options);
    const headers = { origin: s.verifyUrl.origin, 'sec-fetch-site': 'same-origin', 'x-csrf-token': s.csrf, cookie: s.browser.jar.header(s.verifyUrl) ?? '' };
    const send = (contentType: string, body: string) => fetch(s.verifyUrl, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body, redirect: 'manual' });
    const problem = async (res: Response) => ({ status: res.status, type: ((await res.json()) as { type?: string }).type });
    expect(await problem(await send('text/plain', JSON.stringify(assertion)))).toEqual({ status: 415, type: 'urn:tinnhiem:problem:unsupported-media-type' });
    expect(await problem(await send('application/json', '{"id":'))).toEqual({ status: 400, type: 'urn:tinnhiem:problem:malformed-json' });
    expect(await problem(await send('application/json', JSON.stringify({ ...assertion, padding: 'x'.repeat(2 * 1024 * 1024) })))).toEqual({ status: 413, type: 'urn:tinnhiem:problem:payload-too-large' });
    const notAnAssertion = await s.post({ id: 42, response: 'none' });
    expect(notAnAssertion.status).toBeGreaterThanOrEqual(400);
    expect(notAnAssertion.status).toBeLessThan(500);
    expect(codeOf(notAnAssertion.body.location)).toBeNull();
    // None of them spent the ceremony: the page's own call logs in.
    expect(codeOf((await s.post(assertion)).body.location)).toBeTruthy();
  });

  it('refuses a cross-site call (CSRF): no token, another interaction’s token, a cross-site origin; nothing spent', async () => {
    const [a, b] = [await open(), await open()];
    const assertion = passkey.get(a.options);
    expect((await a.post(assertion, {})).status).toBe(403);
    expect((await a.post(assertion, { 'x-csrf-token': b.csrf })).status).toBe(403);
    const crossSite = await a.post(assertion, { 'x-csrf-token': a.csrf, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(codeOf(crossSite.body.location)).toBeNull();
    // The ceremony was not spent by the refused calls: the page's own call logs in.
    expect(codeOf((await a.post(assertion)).body.location)).toBeTruthy();
  });

  it('refuses a call without this interaction’s resume cookie (another browser, or another interaction’s cookie); nothing spent', async () => {
    const [a, b] = [await open(), await open()];
    const assertion = passkey.get(a.options);
    // Another browser that learnt the page's token and challenge: no resume cookie.
    const elsewhere = await a.post(assertion, { 'x-csrf-token': a.csrf }, new Browser());
    expect(elsewhere.status).toBe(400);
    expect(String(elsewhere.body.detail)).toMatch(/expired/);
    // b's browser sending its own resume cookie (b's interaction) to a's address.
    const bCookie = b.browser.jar.header(b.verifyUrl);
    expect(bCookie).toContain('_interaction_resume=');
    const crossed = await a.post(assertion, { 'x-csrf-token': a.csrf, cookie: bCookie }, new Browser());
    expect(crossed.status).toBe(400);
    // Neither spent a's ceremony nor stored a login for it: a's own browser logs in with it.
    expect(codeOf((await a.post(assertion)).body.location)).toBeTruthy();
  });

  it('refuses an assertion made for another interaction (its sealed challenge names that one); that one is not spent', async () => {
    const [a, b] = [await open(), await open()];
    const forB = passkey.get(b.options);
    const crossed = await a.post(forB);
    expect(crossed.status).toBe(401);
    expect(String(crossed.body.detail)).toMatch(/unknown or already used challenge/);
    expect(codeOf((await b.post(forB)).body.location)).toBeTruthy();
  });

  it('a step-up answered there: only the signed-in account’s passkey, the factors added (mfa)', async () => {
    const officer = await createOfficial(t, { roles: ['ra-officer'] });
    const own = await registerSoftPasskey(t.service.passkeys as never, officer.account);
    const browser = new Browser();
    const api = `${t.url}/api`;
    const reading = await codeLogin(config, browser, portal.redirect, officer, { scope: 'openid profile certs:read', resource: api }, { resource: api });
    expect(reading.tokens.claims()).toMatchObject({ acr: ACR.low, amr: ['pwd'] });
    const verifier = client.randomPKCECodeVerifier();
    const { page } = await browser.follow(client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile certs:read certs:revoke', resource: api, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }), portal.redirect);
    expect(page!.url.pathname).toMatch(/^\/interaction\/[^/]+\/passkey$/);
    const uid = page!.url.pathname.split('/')[2];
    const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(page!.body)![0];
    const data = (name: string) => unescapeHtml(new RegExp(`data-${name}="([^"]*)"`).exec(button)![1]);
    expect(data('verify')).toBe(`/oidc/auth/${uid}/passkey`);
    const options = JSON.parse(data('options-json')) as { challenge: string };
    const verify = (assertion: unknown) => browser.json(new URL(data('verify'), t.url), assertion, { 'x-csrf-token': data('csrf') });
    // Another account's passkey cannot answer a step-up.
    expect((await verify(passkey.get(options))).status).toBe(401);
    const ok = await verify(own.get(options));
    expect(ok.status).toBe(200);
    // A first-party portal: no consent, the assertion's answer is the portal's redirect.
    expect(codeOf(ok.body.location)).toBeTruthy();
    const callback = new URL(String(ok.body.location));
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true }, { resource: api });
    expect(tokens.claims()).toMatchObject({ sub: officer.account.id, acr: ACR.high, amr: ['pwd', 'hwk', 'user', 'mfa'] });
  });

  it('a browser signed in as another account: the script is sent to the resume, which ends that session first (its confirmation), and the code names the account whose passkey answered', async () => {
    const other = await createOfficial(t);
    const otherPasskey = await registerSoftPasskey(t.service.passkeys as never, other.account);
    // This browser is signed in as `official`.
    const first = await open();
    const signedIn = await first.post(passkey.get(first.options));
    const firstTokens = await redeem(first, new URL(String(signedIn.body.location)));
    expect(firstTokens.claims()?.sub).toBe(official.account.id);
    // The portal asks for a login again (prompt=login) and the other account's passkey answers.
    const s = await open({ prompt: 'login' }, first.browser);
    const ok = await s.post(otherPasskey.get(s.options));
    expect(ok.status).toBe(200);
    // No code in that answer: the script goes to the resume.
    expect(ok.body.location).toBe(`${t.url}/oidc/auth/${s.uid}`);
    const confirm = await s.browser.get(String(ok.body.location));
    expect(confirm.status).toBe(200);
    const logout = parseForms(confirm.body).find((f) => f.fields.logout === 'yes');
    expect(logout).toBeDefined();
    // Before the earlier session ends, the portal has no code.
    expect(codeOf(confirm.location)).toBeNull();
    const ended = await s.browser.submit(confirm, logout!, {});
    const { stoppedAt } = await s.browser.follow(ended, portal.redirect);
    expect(stoppedAt?.searchParams.get('code')).toEqual(expect.any(String));
    const tokens = await redeem(s, stoppedAt!);
    expect(tokens.claims()).toMatchObject({ sub: other.account.id, acr: ACR.high });
    // The earlier account's session ended with what it gave the portal; the new one's works.
    await expect(client.fetchUserInfo(config, firstTokens.access_token, official.account.id)).rejects.toBeTruthy();
    expect((await client.fetchUserInfo(config, tokens.access_token, other.account.id)).sub).toBe(other.account.id);
  });

  it('response_mode=form_post: the script is sent to the resume, whose page posts the code', async () => {
    const s = await open({ response_mode: 'form_post' });
    const ok = await s.post(passkey.get(s.options));
    expect(ok.status).toBe(200);
    expect(ok.body.location).toBe(`${t.url}/oidc/auth/${s.uid}`);
    const page = await s.browser.get(String(ok.body.location));
    expect(page.status).toBe(200);
    const form = parseForms(page.body).find((f) => f.action === portal.redirect);
    expect(form?.fields.code).toEqual(expect.any(String));
    expect(textOf(page.body)).not.toMatch(/error/i);
  });
});
