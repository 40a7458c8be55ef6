import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, discover, textOf } from '../../support/oidc-rp.js';

/**
 * Issue 3, acceptance 3: what must go wrong safely. A redirect URI that is not registered never
 * receives anything; a code works once, and its replay kills what it gave (RFC 6749 §4.1.2);
 * PKCE binds the code to the client that asked for it (RFC 7636 §4.6).
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let config: client.Configuration;
let official: Awaited<ReturnType<typeof createOfficial>>;
const redirect = 'http://127.0.0.1:9/mot-cua/callback';

beforeAll(async () => {
  t = await startTestService();
  const { secret } = await t.service.clients.add('test', {
    clientId: 'mot-cua',
    name: 'Hệ thống một cửa điện tử',
    redirectUris: [redirect],
    scopes: ['openid', 'profile'],
    firstParty: true,
  });
  config = await discover(t.url, 'mot-cua', secret);
  official = await createOfficial(t);
});

afterAll(async () => {
  await t?.close();
});

async function startLogin(browser: Browser, params: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  return { url, verifier, state };
}

describe(`authorization errors (${db})`, () => {
  it.each([
    ['another host', 'https://attacker.example/callback'],
    ['an extra path segment', `${redirect}/more`],
    ['an extra query', `${redirect}?next=/`],
    ['another port', redirect.replace(':9/', ':10/')],
  ])('a redirect URI that is not registered exactly (%s) gets an error page, not a redirect', async (_label, uri) => {
    const browser = new Browser();
    const { url } = await startLogin(browser, { redirect_uri: uri });
    const page = await browser.get(url);
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(textOf(page.body)).toMatch(/redirect_uri/);
    // Nothing on the page links to the unregistered URI either.
    expect(page.body).not.toContain(uri);
  });

  it('an authorization code replay gets invalid_grant and revokes the tokens the code gave', async () => {
    const browser = new Browser();
    const { url, verifier, state } = await startLogin(browser);
    const callback = await authorize(browser, url, redirect, official);
    const first = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect((await client.tokenIntrospection(config, first.access_token)).active).toBe(true);
    await expect(client.fetchUserInfo(config, first.access_token, official.account.id)).resolves.toMatchObject({ sub: official.account.id });

    await expect(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await client.tokenIntrospection(config, first.access_token)).active).toBe(false);
    await expect(client.fetchUserInfo(config, first.access_token, official.account.id)).rejects.toMatchObject({ status: 401 });
  });

  it('a wrong PKCE verifier gets invalid_grant (and the right one still works after it)', async () => {
    const browser = new Browser();
    const { url, verifier, state } = await startLogin(browser);
    const callback = await authorize(browser, url, redirect, official);
    await expect(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state })).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // oidc-provider checks PKCE before consuming the code (a mistyped verifier is not a replay).
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.sub).toBe(official.account.id);
  });

  it('without a PKCE verifier the code is refused too', async () => {
    const browser = new Browser();
    const { url, state } = await startLogin(browser);
    const callback = await authorize(browser, url, redirect, official);
    // openid-client always sends the verifier it is given; post the token request by hand.
    const res = await fetch(config.serverMetadata().token_endpoint!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`mot-cua:${(await t.service.clients.providerMetadata('mot-cua'))!.client_secret as string}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: redirect }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
    void state;
  });
});
