import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import * as client from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { MESSAGES } from '../../src/web/locales/messages.js';
import { ACR } from '../../oidc/scopes.js';
import { describeWithBrowser, launchChromium, collectPageErrors } from '../support/browser.js';
import { startTestService, type TestService } from '../support/test-app.js';

/**
 * Issue 8, acceptance 1: Debian's Chromium with a CDP virtual authenticator (internal, resident
 * keys, user verification) registers a passkey on the account page after a password login, then
 * a portal's login completes with the passkey alone; the ID token's amr/acr say so.
 *
 * WebAuthn needs a secure context whose host is a domain (never an IP address): the service's
 * public URL is http://localhost:<port> (localhost is potentially trustworthy), RP ID `localhost`.
 */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const USERNAME = 'tran.thi.binh';
const PASSWORD = 'mật-khẩu-passkey-2026';
const CLIENT_ID = 'cong-dich-vu-e2e';

describeWithBrowser('passkeys in Chromium (issue 8, acceptance 1)', () => {
  let app: TestService;
  let portal: Server;
  let redirectUri: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let secret: string;
  let base: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    portal = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="vi"><title>Cổng</title><p>Đã đăng nhập</p></html>');
    });
    await new Promise<void>((resolve) => portal.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(portal.address() as AddressInfo).port}/callback`;

    app = await startTestService({ publicHost: 'localhost' });
    base = app.url.replace('127.0.0.1', 'localhost');
    secret = (await app.service.clients.add('test', { clientId: CLIENT_ID, name: 'Cổng dịch vụ công', redirectUris: [redirectUri], scopes: ['openid', 'profile'], firstParty: true })).secret!;
    await app.service.accounts.createOfficial('test', { username: USERNAME, nationalId: '094190001234', fullName: 'Trần Thị Bình', roles: ['official'], password: PASSWORD });

    browser = await launchChromium();
    context = await browser.newContext({ locale: 'vi-VN' });
    page = await context.newPage();
    collectPageErrors(page, consoleErrors);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise<void>((resolve) => (portal ? portal.close(() => resolve()) : resolve()));
  });

  test('registers a passkey on the account page after a password login, with an enrolment code', async () => {
    await page.goto(`${base}/account`);
    // No session yet: the account page signs in through the provider's login page.
    await page.getByLabel(MESSAGES.vi['login.login'], { exact: true }).fill(USERNAME);
    await page.getByLabel(MESSAGES.vi['login.password'], { exact: true }).fill(PASSWORD);
    await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: MESSAGES.vi['login.submit'] }).click()]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(MESSAGES.vi['account.title']);
    expect(await page.textContent('main')).toContain(MESSAGES.vi['account.none']);

    // A password session needs the enrolment code an administrator issued (issue 16).
    const holder = (await app.service.accounts.list({ search: USERNAME }))[0];
    const { code } = await app.service.codes.issueNow({ accountId: holder.id, purpose: 'enrolment', actor: 'test' });
    await page.getByLabel(MESSAGES.vi['account.name'], { exact: true }).fill('Máy tính cơ quan');
    await page.locator('#code-new-passkey').fill(code);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: MESSAGES.vi['account.add'] }).click()]);
    await page.getByText('Máy tính cơ quan').first().waitFor();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0].isResidentCredential).toBe(true);
    const account = (await app.service.accounts.list({ search: USERNAME }))[0];
    const stored = await app.service.passkeys.list(account.id);
    expect(stored.map((p) => [p.name, p.credentialId])).toEqual([['Máy tính cơ quan', credentials[0].credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]]);
    await page.screenshot({ path: `${ARTIFACTS}account-passkeys-vi.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);

    // Sign out (the provider's logout page), so the next login starts without a session. The
    // account page then asks for a login again; presence is off meanwhile so the login page's
    // conditional passkey request cannot sign in behind the next test's back.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    await Promise.all([page.waitForURL(/\/oidc\/session\/end\?/), page.getByRole('link', { name: MESSAGES.vi['account.logout'] }).click()]);
    await Promise.all([page.waitForURL(/\/oidc\/auth\?/), page.getByRole('button', { name: MESSAGES.vi['logout.yes'] }).click()]);
    await page.goto('about:blank');
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
  });

  async function portalLogin(extra: Record<string, string>, act: () => Promise<void>) {
    const config = await client.discovery(new URL(`${base}/oidc`), CLIENT_ID, {}, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, state, ...extra });
    await page.goto('about:blank');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), (async () => {
      await page.goto(url.href);
      await act();
    })()]);
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    return tokens.claims()!;
  }

  test('conditional UI: the login page offers the passkey in autofill and the portal login completes with it alone', async () => {
    // The virtual authenticator answers the page's conditional request (mediation: "conditional")
    // as a user picking the passkey from the username field's autofill would: no password typed.
    // The login page came with the ceremony's options: the script calls no options endpoint.
    // The assertion goes under the resume's address and runs the resume there (issue 20, twelfth
    // pass): no request of its own to the resume.
    const optionCalls: string[] = [];
    const resumeCalls: string[] = [];
    const onRequest = (r: { url(): string; method(): string }) => {
      if (r.url().endsWith('/passkey/options')) optionCalls.push(r.url());
      if (/\/oidc\/auth\/[\w-]+(\/passkey)?$/.test(new URL(r.url()).pathname)) resumeCalls.push(`${r.method()} ${new URL(r.url()).pathname.replace(/\/auth\/[\w-]+/, '/auth/:uid')}`);
    };
    page.on('request', onRequest);
    const claims = await portalLogin({}, async () => undefined).finally(() => page.off('request', onRequest));
    expect(optionCalls).toEqual([]);
    expect(resumeCalls).toEqual(['POST /oidc/auth/:uid/passkey']);
    const account = (await app.service.accounts.list({ search: USERNAME }))[0];
    expect(claims.sub).toBe(account.id);
    expect(claims.acr).toBe(ACR.high);
    // Chromium's virtual authenticator makes device-bound credentials (no backup eligibility).
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(consoleErrors).toEqual([]);
  });

  test('the passkey button (modal ceremony, discoverable credential) logs in without a password; amr and acr say so', async () => {
    // Presence is not simulated while the login page is open, so its conditional request waits;
    // prompt=login asks for a new login although the browser has a session.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    const optionCalls: string[] = [];
    const claims = await portalLogin({ prompt: 'login' }, async () => {
      expect(new URL(page.url()).pathname).toBe('/oidc/auth'); // the login page, the authorization endpoint's answer
      await Promise.all([page.waitForURL(/\/passkey$/), page.getByRole('link', { name: MESSAGES.vi['passkey.method'] }).click()]);
      // The page came with the ceremony's options: the script calls no options endpoint (issue 20).
      page.on('request', (r) => {
        if (r.url().endsWith('/passkey/options')) optionCalls.push(r.url());
      });
      await page.screenshot({ path: `${ARTIFACTS}passkey-login-vi.png`, fullPage: true });
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await page.getByRole('button', { name: MESSAGES.vi['passkey.start'] }).click();
    });
    expect(claims.acr).toBe(ACR.high);
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(optionCalls).toEqual([]);
    const account = (await app.service.accounts.list({ search: USERNAME }))[0];
    expect((await app.service.passkeys.list(account.id))[0].lastUsedAt).toBeInstanceOf(Date);
    expect(consoleErrors).toEqual([]);
  });
});
