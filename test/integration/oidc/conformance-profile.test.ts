import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, codeLogin, createOfficial, discover, loginForm } from '../../support/oidc-rp.js';

/**
 * The OpenID Connect Basic OP and Config OP certification profiles, item by item, with
 * openid-client as the relying party. Test names are the conformance suite's; the result table
 * is in docs/identity.md ("Conformance"), with the items that do not apply and why.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let issuer: string;
let basic: client.Configuration;
let post: client.Configuration;
const redirect = 'http://127.0.0.1:9/rp/callback';
const redirectWithQuery = 'http://127.0.0.1:9/rp/callback?portal=1';
let person: Awaited<ReturnType<typeof createOfficial>>;

beforeAll(async () => {
  t = await startTestService();
  issuer = `${t.url}/oidc`;
  const scopes = ['openid', 'profile', 'email', 'phone', 'offline_access'];
  const a = await t.service.clients.add('test', { clientId: 'rp-basic', name: 'RP basic', redirectUris: [redirect, redirectWithQuery], scopes });
  basic = await discover(t.url, 'rp-basic', a.secret);
  const b = await t.service.clients.add('test', { clientId: 'rp-post', name: 'RP post', redirectUris: [redirect], scopes, authMethod: 'client_secret_post' });
  post = await client.discovery(new URL(issuer), 'rp-post', {}, client.ClientSecretPost(b.secret!), { execute: [client.allowInsecureRequests] });
  person = await createOfficial(t);
});

afterAll(async () => {
  await t?.close();
});

async function start(config: client.Configuration, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const params: Record<string, string> = {
    redirect_uri: redirect,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: client.randomState(),
    ...extra,
  };
  return { url: client.buildAuthorizationUrl(config, params), verifier, params };
}

/** A browser with a session (a first login, consent given). */
async function signedIn(): Promise<{ browser: Browser; login: Awaited<ReturnType<typeof codeLogin>> }> {
  const browser = new Browser();
  const login = await codeLogin(basic, browser, redirect, person, { scope: 'openid profile' });
  return { browser, login };
}

describe(`Basic OP and Config OP profiles (${db})`, () => {
  it('OP-Discovery-Config: the required metadata; OP-Discovery-JWKs: the keys fetch and verify an ID token', async () => {
    const m = basic.serverMetadata();
    expect(m.issuer).toBe(issuer);
    for (const field of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'scopes_supported', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported', 'claims_supported']) expect(m[field]).toBeDefined();
    expect(m.response_types_supported).toContain('code');
    expect(m.id_token_signing_alg_values_supported).toContain('RS256');
    expect(m.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'phone', 'offline_access']));
    expect(m.claims_parameter_supported).toBe(true);
    const { login } = await signedIn();
    await jwtVerify(login.tokens.id_token!, createRemoteJWKSet(new URL(m.jwks_uri!)), { issuer, audience: 'rp-basic' });
  });

  it('OP-Response-code, OP-IDToken-RS256, OP-IDToken-kid, OP-nonce-code, OP-ClientAuth-Basic-Static', async () => {
    const { login } = await signedIn();
    expect(login.callback.searchParams.get('code')).toBeTruthy();
    const header = decodeProtectedHeader(login.tokens.id_token!);
    expect(header.alg).toBe('RS256');
    expect(header.kid).toBeTruthy();
    expect(login.tokens.claims()!.nonce).toBe(login.nonce);
  });

  it('OP-ClientAuth-SecretPost-Static', async () => {
    const login = await codeLogin(post, new Browser(), redirect, person, { scope: 'openid' });
    expect(login.tokens.access_token).toBeTruthy();
  });

  it('OP-nonce-NoReq-code: a code request without a nonce is fine', async () => {
    const browser = new Browser();
    const s = await start(basic);
    const callback = await authorize(browser, s.url, redirect, person);
    const tokens = await client.authorizationCodeGrant(basic, callback, { pkceCodeVerifier: s.verifier, expectedState: s.params.state, idTokenExpected: true });
    expect(tokens.claims()!.nonce).toBeUndefined();
  });

  it('OP-UserInfo-Header and OP-UserInfo-Body; OP-scope-profile, OP-scope-email, OP-scope-phone', async () => {
    const login = await codeLogin(basic, new Browser(), redirect, person, { scope: 'openid profile email phone' });
    const sub = login.tokens.claims()!.sub;
    const info = await client.fetchUserInfo(basic, login.tokens.access_token, sub);
    expect(info).toMatchObject({ sub, name: person.account.fullName, email: person.account.email });
    expect('phone_number' in info || person.account.phone === null).toBe(true);
    const body = await fetch(`${issuer}/me`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: login.tokens.access_token }) });
    expect(body.status).toBe(200);
    expect(((await body.json()) as { sub: string }).sub).toBe(sub);
  });

  it('OP-prompt-login: a signed-in person is asked to log in again', async () => {
    const { browser } = await signedIn();
    const s = await start(basic, { prompt: 'login' });
    const { page } = await browser.follow(s.url, redirect);
    expect(loginForm(page!)).toBeDefined();
  });

  it('OP-prompt-none-NotLoggedIn: login_required; OP-prompt-none-LoggedIn: a code', async () => {
    const s = await start(basic, { prompt: 'none' });
    const { stoppedAt } = await new Browser().follow(s.url, redirect);
    expect(stoppedAt?.searchParams.get('error')).toBe('login_required');
    const { browser } = await signedIn();
    const again = await browser.follow((await start(basic, { prompt: 'none' })).url, redirect);
    expect(again.stoppedAt?.searchParams.get('code')).toBeTruthy();
  });

  it('OP-Req-max_age=1: a login older than a second asks again, and auth_time is in the ID token; OP-Req-max_age=10000 does not', async () => {
    const { browser } = await signedIn();
    const long = await start(basic, { max_age: '10000' });
    expect((await browser.follow(long.url, redirect)).stoppedAt?.searchParams.get('code')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 2100));
    const s = await start(basic, { max_age: '1' });
    const callback = await authorize(browser, s.url, redirect, person);
    const tokens = await client.authorizationCodeGrant(basic, callback, { pkceCodeVerifier: s.verifier, expectedState: s.params.state, maxAge: 1, idTokenExpected: true });
    expect(typeof tokens.claims()!.auth_time).toBe('number');
    expect(browser.visited.filter((v) => /\/login$/.test(v)).length).toBe(2);
  });

  it('OP-Req-id_token_hint: with prompt=none and the hint of the signed-in person, a code', async () => {
    const { browser, login } = await signedIn();
    const s = await start(basic, { prompt: 'none', id_token_hint: login.tokens.id_token! });
    expect((await browser.follow(s.url, redirect)).stoppedAt?.searchParams.get('code')).toBeTruthy();
  });

  it('OP-Req-acr_values: the ID token carries an acr; OP-Req-claims_locales and OP-Req-NotUnderstood: accepted', async () => {
    const login = await codeLogin(basic, new Browser(), redirect, person, { scope: 'openid', acr_values: 'urn:tinnhiem:acr:low', claims_locales: 'vi', khong_hieu: 'x' });
    expect(login.tokens.claims()!.acr).toBe('urn:tinnhiem:acr:low');
  });

  it('OP-claims-essential: an essential claim the scopes allow is released', async () => {
    const claims = JSON.stringify({ userinfo: { email: { essential: true } } });
    const login = await codeLogin(basic, new Browser(), redirect, person, { scope: 'openid email', claims });
    const info = await client.fetchUserInfo(basic, login.tokens.access_token, login.tokens.claims()!.sub);
    expect(info.email).toBe(person.account.email);
  });

  it('OP-redirect_uri-NotReg, -Missing, -Query-Added, -Query-Mismatch: refused on our page, no redirect; OP-redirect_uri-Query-OK', async () => {
    for (const redirect_uri of ['https://rp.example/elsewhere', undefined, `${redirect}?extra=1`, 'http://127.0.0.1:9/rp/callback?portal=2']) {
      const s = await start(basic);
      const url = new URL(s.url);
      if (redirect_uri) url.searchParams.set('redirect_uri', redirect_uri);
      else url.searchParams.delete('redirect_uri');
      const res = await new Browser().get(url);
      expect([res.status, res.location]).toEqual([400, undefined]);
    }
    const ok = await start(basic, { redirect_uri: redirectWithQuery });
    const callback = await authorize(new Browser(), ok.url, redirectWithQuery, person);
    expect(callback.searchParams.get('portal')).toBe('1');
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('OP-Response-Missing: no response_type is an error; OP-display-page and OP-display-popup: accepted', async () => {
    const s = await start(basic);
    const url = new URL(s.url);
    url.searchParams.delete('response_type');
    const missing = await new Browser().follow(url, redirect);
    expect(missing.stoppedAt?.searchParams.get('error') ?? String(missing.page?.status)).toMatch(/invalid_request|400/);
    for (const display of ['page', 'popup']) {
      const { page } = await new Browser().follow((await start(basic, { display })).url, redirect);
      expect(page?.status).toBe(200);
    }
  });

  it('OP-OAuth-2nd: a code redeemed twice is refused (invalid_grant); OP-OAuth-2nd-Revokes: the first tokens stop working', async () => {
    const browser = new Browser();
    const s = await start(basic, { scope: 'openid profile' });
    const callback = await authorize(browser, s.url, redirect, person);
    const tokens = await client.authorizationCodeGrant(basic, callback, { pkceCodeVerifier: s.verifier, expectedState: s.params.state, idTokenExpected: true });
    await expect(client.authorizationCodeGrant(basic, callback, { pkceCodeVerifier: s.verifier, expectedState: s.params.state })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(basic, tokens.access_token, tokens.claims()!.sub)).rejects.toBeDefined();
  });
});
