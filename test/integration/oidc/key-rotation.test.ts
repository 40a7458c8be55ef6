import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';

/**
 * Issue 3, acceptance 5: rotation publishes before it uses, and keeps publishing a retired key
 * until every token it signed has expired. Also: a portal's login can carry an API token
 * (resource indicator, RFC 8707), within the official's roles.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let issuer: string;
let api: string;
const portal = { id: 'cong-noi-bo', secret: '', redirect: 'http://127.0.0.1:9/noi-bo/callback' };
const machine = { id: 'dong-bo-chung-thu', secret: '' };

beforeAll(async () => {
  t = await startTestService();
  issuer = `${t.url}/oidc`;
  api = `${t.url}/api`;
  portal.secret = (
    await t.service.clients.add('test', {
      clientId: portal.id,
      name: 'Cổng nội bộ',
      redirectUris: [portal.redirect],
      scopes: ['openid', 'profile', 'offline_access', 'certs:read', 'admin'],
      firstParty: true,
    })
  ).secret!;
  machine.secret = (await t.service.clients.add('test', { clientId: machine.id, name: 'Đồng bộ chứng thư', grantTypes: ['client_credentials'], scopes: ['certs:read', 'admin'] })).secret!;
});

afterAll(async () => {
  await t?.close();
});

const publishedJwks = async () => ((await (await fetch(`${issuer}/jwks`)).json()) as JSONWebKeySet);
const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid!;
const auditEvents = (token: string) => fetch(`${t.url}/api/v1/audit/events?limit=1`, { headers: { authorization: `Bearer ${token}` } });

async function issueAll(browser: Browser, official: { login: string; password: string; account: { id: string } }) {
  const portalConfig = await discover(t.url, portal.id, portal.secret);
  // `admin` needs a high acr: the password login is stepped up with the official's passkey.
  const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
  const login = await codeLogin(portalConfig, browser, portal.redirect, official, { scope: 'openid profile admin', resource: api }, { resource: api }, passkey);
  const machineConfig = await discover(t.url, machine.id, machine.secret);
  const cc = await client.clientCredentialsGrant(machineConfig, { scope: 'certs:read admin' });
  return { idToken: login.tokens.id_token!, userApiToken: login.tokens.access_token, machineApiToken: cc.access_token };
}

describe(`signing key rotation (${db})`, () => {
  it('a login with resource=…/api gets an API token with the scopes its roles allow', async () => {
    const adminOfficial = await createOfficial(t, { roles: ['admin'] });
    const auditor = await createOfficial(t, { roles: ['auditor'] });
    const forAdmin = await issueAll(new Browser(), adminOfficial);
    const claims = decodeJwt(forAdmin.userApiToken);
    expect(decodeProtectedHeader(forAdmin.userApiToken).typ).toBe('at+jwt');
    expect(claims).toMatchObject({ aud: api, sub: adminOfficial.account.id, client_id: portal.id, scope: 'admin' });
    expect((await auditEvents(forAdmin.userApiToken)).status).toBe(200);

    // An auditor asking for `admin` through the same portal does not get it (least privilege).
    const forAuditor = await issueAll(new Browser(), auditor);
    expect(String(decodeJwt(forAuditor.userApiToken).scope ?? '')).not.toMatch(/\badmin\b/);
    expect((await auditEvents(forAuditor.userApiToken)).status).toBe(403);
  });

  it('new tokens use the new keys; tokens signed before still verify and are accepted until they expire', async () => {
    const official = await createOfficial(t, { roles: ['admin'] });
    const browser = new Browser();
    const before = await issueAll(browser, official);
    const jwksBefore = await publishedJwks();
    const oldKids = { id: kidOf(before.idToken), api: kidOf(before.machineApiToken) };
    expect(kidOf(before.userApiToken)).toBe(oldKids.api);

    const rotation = await t.service.signingKeys.rotate('test');
    expect(rotation.retired.sort()).toEqual([oldKids.id, oldKids.api].sort());
    // Published before use: the keys rotation activates were already in the JWKS.
    for (const kid of rotation.activated) expect(jwksBefore.keys.map((k) => k.kid)).toContain(kid);
    expect(await t.service.oidc.refreshKeys()).toBe(true);

    const after = await issueAll(browser, official);
    const newKids = { id: kidOf(after.idToken), api: kidOf(after.machineApiToken) };
    expect(rotation.activated).toContain(newKids.id);
    expect(rotation.activated).toContain(newKids.api);
    expect(newKids.id).not.toBe(oldKids.id);
    expect(newKids.api).not.toBe(oldKids.api);
    expect(kidOf(after.userApiToken)).toBe(newKids.api);

    // Every token, old and new, verifies against what the provider publishes now.
    const jwks = createLocalJWKSet(await publishedJwks());
    for (const idToken of [before.idToken, after.idToken]) {
      await expect(jwtVerify(idToken, jwks, { issuer, audience: portal.id })).resolves.toBeTruthy();
    }
    for (const token of [before.machineApiToken, before.userApiToken, after.machineApiToken, after.userApiToken]) {
      await expect(jwtVerify(token, jwks, { issuer, audience: api, typ: 'at+jwt' })).resolves.toBeTruthy();
      expect((await auditEvents(token)).status).toBe(200);
    }

    // The retired keys stay published at least until the last token they signed expires.
    const keys = await t.service.signingKeys.list();
    for (const kid of [oldKids.id, oldKids.api]) {
      const retired = keys.find((k) => k.kid === kid);
      expect(retired?.state).toBe('retired');
      const lastExp = Math.max(...[before.idToken, before.machineApiToken, before.userApiToken].map((x) => decodeJwt(x).exp!));
      expect(retired!.removeAfter!.getTime()).toBeGreaterThanOrEqual(lastExp * 1000);
    }

    // A refresh after rotation signs its ID token with the new key as well.
    const portalConfig = await discover(t.url, portal.id, portal.secret);
    const again = await codeLogin(portalConfig, browser, portal.redirect, undefined, { scope: 'openid profile offline_access', prompt: 'consent' });
    const refreshed = await client.refreshTokenGrant(portalConfig, again.tokens.refresh_token!);
    expect(kidOf(refreshed.id_token!)).toBe(newKids.id);
  });
});
