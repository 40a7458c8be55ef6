import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, outgoingRequestsAsInProduction, codeLogin, createOfficial, discover, parseForms } from '../../support/oidc-rp.js';
import { recordingServer, type RecordingServer } from '../../support/test-servers.js';

/**
 * Issue 3, acceptance 1: openid-client as a real relying party against a running instance, the
 * login typed into the real server-rendered form over HTTP.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let backchannel: RecordingServer;
let official: Awaited<ReturnType<typeof createOfficial>>;
const portal = { id: 'cong-dvc', secret: '', redirect: '', postLogout: '' };
const second = { id: 'quan-ly-van-ban', secret: '', redirect: '', postLogout: '' };

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  t = await startTestService();
  backchannel = await recordingServer();
  portal.redirect = 'http://127.0.0.1:9/cong-dvc/callback';
  portal.postLogout = 'http://127.0.0.1:9/cong-dvc/';
  second.redirect = 'http://localhost:9/vb/callback';
  second.postLogout = 'http://localhost:9/vb/';
  const a = await t.service.clients.add('test', {
    clientId: portal.id,
    name: 'Cổng dịch vụ công tỉnh',
    redirectUris: [portal.redirect],
    postLogoutRedirectUris: [portal.postLogout],
    scopes: ['openid', 'profile', 'email', 'vn_identity', 'vn_official', 'offline_access'],
    firstParty: true,
  });
  portal.secret = a.secret!;
  const b = await t.service.clients.add('test', {
    clientId: second.id,
    name: 'Hệ thống quản lý văn bản',
    redirectUris: [second.redirect],
    postLogoutRedirectUris: [second.postLogout],
    backchannelLogoutUri: `${backchannel.url}/backchannel-logout`,
    scopes: ['openid', 'profile', 'offline_access'],
    idTokenSignedResponseAlg: 'ES256',
  });
  second.secret = b.secret!;
  official = await createOfficial(t, { roles: ['ra-officer'], position: 'Phó trưởng phòng' });
});

afterAll(async () => {
  await backchannel?.close();
  await t?.close();
});

describe(`OpenID provider with openid-client as the relying party (${db})`, () => {
  it('code + PKCE through the login form: ID token, userinfo, refresh rotation, introspection, revocation, RP-initiated logout', async () => {
    const config = await discover(t.url, portal.id, portal.secret);
    expect(config.serverMetadata().issuer).toBe(`${t.url}/oidc`);
    expect(config.serverMetadata().code_challenge_methods_supported).toContain('S256');

    const browser = new Browser();
    // offline_access needs prompt=consent (OIDC Core §11); the portal is first-party, so the
    // consent step is a one-click confirmation of what it asked for.
    const { callback, tokens } = await codeLogin(config, browser, portal.redirect, official, { prompt: 'consent' });
    expect(callback.searchParams.get('iss')).toBe(`${t.url}/oidc`);
    expect(browser.visited.some((v) => /\/interaction\/[^/]+\/login$/.test(v))).toBe(true);

    // openid-client validated the ID token (signature, iss, aud, nonce, exp); check what it says.
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(official.account.id);
    expect(claims.acr).toBe('urn:tinnhiem:acr:low');
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.aud).toBe(portal.id);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'vn_identity', 'vn_official', 'offline_access']));

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({
      sub: official.account.id,
      name: 'Nguyễn Thị Minh Khai',
      family_name: 'Nguyễn',
      given_name: 'Khai',
      email: official.account.email,
      email_verified: true,
      vn_national_id: official.account.nationalId,
      vn_account_type: 'official',
      vn_agency: 'Sở Thông tin và Truyền thông',
      vn_unit: 'Phòng Công nghệ thông tin',
      vn_position: 'Phó trưởng phòng',
      vn_roles: ['ra-officer'],
    });

    // Refresh with rotation: a new refresh token each time, the used one refused afterwards.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(official.account.id);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // Reusing a rotated refresh token is treated as theft: the whole grant is revoked
    // (oidc-provider), so the newest refresh token is dead too. Log in again for the rest.
    const again = await codeLogin(config, browser, portal.redirect, undefined, { prompt: 'consent' });
    const access = again.tokens.access_token;
    expect((await client.tokenIntrospection(config, again.tokens.refresh_token!)).active).toBe(true);
    const introspected = await client.tokenIntrospection(config, access);
    expect(introspected).toMatchObject({ active: true, client_id: portal.id, sub: official.account.id });
    await client.tokenRevocation(config, access, { token_type_hint: 'access_token' });
    expect((await client.tokenIntrospection(config, access)).active).toBe(false);
    await expect(client.fetchUserInfo(config, access, official.account.id)).rejects.toBeTruthy();

    // oidc-provider revokes the token's whole grant (RFC 7009 §2.1 allows it): the refresh token
    // issued with it is dead as well.
    expect((await client.tokenIntrospection(config, again.tokens.refresh_token!)).active).toBe(false);
    await expect(client.refreshTokenGrant(config, again.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // RP-initiated logout: the confirmation page, its form (with oidc-provider's xsrf), then
    // back to the registered post-logout URI with the state.
    const endSession = client.buildEndSessionUrl(config, { id_token_hint: again.tokens.id_token!, post_logout_redirect_uri: portal.postLogout, state: 'sau-dang-xuat' });
    const confirm = await browser.get(endSession);
    expect(confirm.status).toBe(200);
    expect(confirm.headers.get('content-security-policy')).not.toMatch(/unsafe-inline/);
    const form = parseForms(confirm.body).find((f) => f.fields.xsrf);
    expect(form).toBeDefined();
    const done = await browser.submit(confirm, form!, { logout: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location?.toString()).toBe(`${portal.postLogout}?state=sau-dang-xuat`);

    // The session is gone: a new authorization request asks for the password again.
    const fresh = await browser.follow(client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }), portal.redirect);
    expect(fresh.stoppedAt).toBeUndefined();
    expect(parseForms(fresh.page!.body).some((f) => f.action.endsWith('/login'))).toBe(true);
  });

  it('back-channel logout: logging out of one portal sends a valid logout token to the other', async () => {
    const configA = await discover(t.url, portal.id, portal.secret);
    const configB = await discover(t.url, second.id, second.secret);
    const browser = new Browser();
    const a = await codeLogin(configA, browser, portal.redirect, official);
    // Single sign-on: the second portal needs no password, only the consent page (not first-party).
    const verifierB = client.randomPKCECodeVerifier();
    const urlB = client.buildAuthorizationUrl(configB, {
      redirect_uri: second.redirect,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifierB),
      code_challenge_method: 'S256',
      state: 'b',
    });
    const before = browser.visited.length;
    const callbackB = await authorize(browser, urlB, second.redirect);
    expect(browser.visited.slice(before).some((v) => v.endsWith('/confirm'))).toBe(true);
    expect(browser.visited.slice(before).some((v) => v.endsWith('/login'))).toBe(false);
    const b = await client.authorizationCodeGrant(configB, callbackB, { pkceCodeVerifier: verifierB, expectedState: 'b', idTokenExpected: true });
    const sidB = b.claims()!.sid;
    expect(sidB).toBeTruthy();
    expect(decodeProtectedHeader(b.id_token!).alg).toBe('ES256');

    const confirm = await browser.get(client.buildEndSessionUrl(configA, { id_token_hint: a.tokens.id_token!, post_logout_redirect_uri: portal.postLogout }));
    const done = await browser.submit(confirm, parseForms(confirm.body).find((f) => f.fields.xsrf)!, { logout: 'yes' });
    expect(done.location?.toString()).toBe(portal.postLogout);

    const delivered = await backchannel.next();
    expect(delivered.method).toBe('POST');
    expect(delivered.path).toBe('/backchannel-logout');
    expect(delivered.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const logoutToken = new URLSearchParams(delivered.body).get('logout_token')!;
    // OIDC Back-Channel Logout 1.0 §2.6: verify it like an ID token, plus events and no nonce.
    const jwks = createRemoteJWKSet(new URL(configB.serverMetadata().jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: `${t.url}/oidc`, audience: second.id, typ: 'logout+jwt', maxTokenAge: '2 minutes' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload.sid).toBe(sidB);
    expect(payload.sub).toBe(official.account.id);
    expect(payload.nonce).toBeUndefined();
    expect(payload.jti).toBeTruthy();

    // The second portal's tokens went with the session (its grant was revoked at logout).
    expect((await client.tokenIntrospection(configB, b.access_token)).active).toBe(false);
  });

  it('another account in the same browser (prompt=login, a shared workstation): its password login ends the earlier session after the confirmation, the login in flight goes on, and the code names the new account', async () => {
    const config = await discover(t.url, portal.id, portal.secret);
    const browser = new Browser();
    const first = await codeLogin(config, browser, portal.redirect, official);
    const other = await createOfficial(t);
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, prompt: 'login' });
    const { page } = await browser.follow(url, portal.redirect);
    const form = parseForms(page!.body).find((f) => f.action.endsWith('/login'))!;
    const answer = await browser.submit(page!, form, { login: other.login, password: other.password });
    expect(answer.status).toBe(303);
    // oidc-provider asks to end the earlier account's session first: no code before that.
    const { page: confirm, stoppedAt: early } = await browser.follow(answer, portal.redirect);
    expect(early).toBeUndefined();
    const logout = parseForms(confirm!.body).find((f) => f.fields.logout === 'yes');
    expect(logout).toBeDefined();
    const ended = await browser.submit(confirm!, logout!, {});
    // Ending the earlier session's grant left this login's interaction in place (until 2026-12-07
    // it was deleted with the grant's rows: "interaction session not found").
    const callback = await authorize(browser, ended.location!, portal.redirect);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, idTokenExpected: true });
    expect(tokens.claims()?.sub).toBe(other.account.id);
    // The earlier account's tokens ended with its session; the new account's work.
    expect((await client.tokenIntrospection(config, first.tokens.access_token)).active).toBe(false);
    expect((await client.fetchUserInfo(config, tokens.access_token, other.account.id)).sub).toBe(other.account.id);
  });
});
