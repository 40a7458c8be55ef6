import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, codeLogin, createOfficial, discover, loginForm, textOf } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';
import { ACR } from '../../../oidc/scopes.js';

/**
 * Issue 21: OIDC request parameters the provider used to ignore (ui_locales, login_hint, an
 * essential acr, acr_values for clients that require them), client credentials with a scope the
 * client is not registered for, PAR required per client, and discovery built from PUBLIC_URL only.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let config: client.Configuration;
let strict: client.Configuration;
const redirect = 'http://127.0.0.1:9/dvc/callback';
const strictRedirect = 'http://127.0.0.1:9/strict/callback';
const machine = { id: 'he-thong-tra-cuu-21', secret: '' };
const essentialHigh = JSON.stringify({ id_token: { acr: { essential: true, values: [ACR.high] } } });

beforeAll(async () => {
  // One trusted proxy: X-Forwarded-Host is then believed for the client address, never for URLs.
  t = await startTestService({ env: { TRUST_PROXY: '1' } });
  const { secret } = await t.service.clients.add('test', { clientId: 'dvc', name: 'Cổng dịch vụ công', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
  config = await discover(t.url, 'dvc', secret);
  const strictClient = await t.service.clients.add('test', {
    clientId: 'strict',
    name: 'Cổng thuế',
    redirectUris: [strictRedirect],
    scopes: ['openid', 'profile'],
    firstParty: true,
    acrValuesEssential: true,
    requirePushedAuthorizationRequests: true,
  });
  strict = await discover(t.url, 'strict', strictClient.secret);
  machine.secret = (await t.service.clients.add('test', { clientId: machine.id, name: 'Hệ thống tra cứu', grantTypes: ['client_credentials'], scopes: ['certs:read'] })).secret!;
});

afterAll(async () => {
  await t?.close();
});

async function authorizationUrl(c: client.Configuration, redirectUri: string, extra: Record<string, string> = {}): Promise<URL> {
  return client.buildAuthorizationUrl(c, {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    ...extra,
  });
}

describe(`OIDC request parameters (${db})`, () => {
  it('ui_locales=en shows the login page in English, over a Vietnamese Accept-Language (OIDC Core §3.1.2.1)', async () => {
    const browser = new Browser();
    const { page } = await browser.follow(await authorizationUrl(config, redirect, { ui_locales: 'en-GB en vi' }), redirect);
    expect(page?.status).toBe(200);
    expect(page!.body).toMatch(/<html lang="en">/);
    expect(textOf(page!.body)).toMatch(/Sign in to continue to Cổng dịch vụ công/);
    // An explicit choice on the page (?lang=vi) still wins.
    const switched = await browser.get(new URL(`${page!.url.pathname}?lang=vi`, page!.url));
    expect(switched.body).toMatch(/<html lang="vi">/);
  });

  it('ui_locales naming only languages we lack falls back to the usual choice', async () => {
    const { page } = await new Browser().follow(await authorizationUrl(config, redirect, { ui_locales: 'fr de' }), redirect);
    expect(page!.body).toMatch(/<html lang="vi">/);
  });

  it('login_hint prefills the username field (OIDC Core §3.1.2.1)', async () => {
    const { page } = await new Browser().follow(await authorizationUrl(config, redirect, { login_hint: 'can-bo-"x"' }), redirect);
    expect(loginForm(page!).fields.login).toBe('can-bo-"x"');
    // Escaped, not interpreted.
    expect(page!.body).toContain('value="can-bo-&quot;x&quot;"');
  });

  it('an essential acr claim at high: a password login is stepped up with the passkey, and the ID token says high', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    const browser = new Browser();
    const login = await codeLogin(config, browser, redirect, official, { scope: 'openid profile', claims: essentialHigh }, {}, passkey);
    expect(login.tokens.claims()!.acr).toBe(ACR.high);
    expect(browser.visited.some((v) => /\/passkey$/.test(v))).toBe(true);
  });

  it('an essential acr claim at high, no way to step up: unmet_authentication_requirements (OIDC Core §3.1.2.6), not a code at low', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirect,
      scope: 'openid profile',
      claims: essentialHigh,
      state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const { page } = await browser.follow(url, redirect);
    const after = await browser.submit(page!, loginForm(page!), { login: official.login, password: official.password });
    expect(after.status).toBe(303);
    const { stoppedAt } = await browser.follow(after, redirect);
    expect(stoppedAt?.searchParams.get('error')).toBe('unmet_authentication_requirements');
    expect(stoppedAt?.searchParams.get('code')).toBeNull();
    expect(stoppedAt?.searchParams.get('state')).toBe('st');
  });

  it('an essential acr claim with a level we do not have: unmet_authentication_requirements', async () => {
    const official = await createOfficial(t);
    const browser = new Browser();
    const url = await authorizationUrl(config, redirect, { claims: JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:elsewhere:loa:4'] } } }) });
    const { page, stoppedAt } = await browser.follow(url, redirect);
    const callback = stoppedAt ?? (await browser.follow(await browser.submit(page!, loginForm(page!), { login: official.login, password: official.password }), redirect)).stoppedAt;
    expect(callback?.searchParams.get('error')).toBe('unmet_authentication_requirements');
  });

  it('the claims parameter releases no claim beyond the scopes the client is registered for', async () => {
    const official = await createOfficial(t);
    const claims = JSON.stringify({ id_token: { vn_national_id: { essential: true }, name: null }, userinfo: { vn_national_id: null, email: null } });
    const login = await codeLogin(config, new Browser(), redirect, official, { scope: 'openid profile', claims });
    const idToken = login.tokens.claims()!;
    expect(idToken.name).toBe(official.account.fullName);
    expect(idToken.vn_national_id).toBeUndefined();
    const userinfo = await client.fetchUserInfo(config, login.tokens.access_token, idToken.sub);
    expect(userinfo.vn_national_id).toBeUndefined();
    expect(userinfo.email).toBeUndefined();
  });

  it('acr_values is voluntary for a client that does not require it: a password login returns low', async () => {
    const official = await createOfficial(t);
    const login = await codeLogin(config, new Browser(), redirect, official, { scope: 'openid profile', acr_values: ACR.high });
    expect(login.tokens.claims()!.acr).toBe(ACR.low);
  });

  it('acr_values is essential for a client registered with acr_values_essential (our policy), through PAR', async () => {
    const official = await createOfficial(t);
    const verifier = client.randomPKCECodeVerifier();
    const url = await client.buildAuthorizationUrlWithPAR(strict, {
      redirect_uri: strictRedirect,
      scope: 'openid profile',
      acr_values: ACR.high,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = new Browser();
    const { page } = await browser.follow(url, strictRedirect);
    const after = await browser.submit(page!, loginForm(page!), { login: official.login, password: official.password });
    const { stoppedAt } = await browser.follow(after, strictRedirect);
    expect(stoppedAt?.searchParams.get('error')).toBe('unmet_authentication_requirements');
  });

  it('a client registered with require_pushed_authorization_requests: a plain authorization request is refused', async () => {
    const url = await authorizationUrl(strict, strictRedirect);
    const { page, stoppedAt } = await new Browser().follow(url, strictRedirect);
    const error = stoppedAt?.searchParams.get('error') ?? textOf(page?.body ?? '');
    expect(error).toMatch(/invalid_request/);
    const discovery = (await (await fetch(`${t.url}/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBe(`${t.url}/oidc/request`);
  });

  it('client credentials with a scope the client is not registered for: invalid_scope (RFC 6749 §5.2), no token', async () => {
    const c = await discover(t.url, machine.id, machine.secret);
    await expect(client.clientCredentialsGrant(c, { scope: 'admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(client.clientCredentialsGrant(c, { scope: 'certs:read admin' })).rejects.toMatchObject({ error: 'invalid_scope' });
    await expect(client.clientCredentialsGrant(c, { scope: 'no-such-scope' })).rejects.toMatchObject({ error: 'invalid_scope' });
    const ok = await client.clientCredentialsGrant(c, { scope: 'certs:read' });
    expect(ok.scope).toBe('certs:read');
    expect(decodeJwt(ok.access_token).scope).toBe('certs:read');
  });
});

describe(`discovery from PUBLIC_URL only (${db})`, () => {
  const urlsOf = (doc: Record<string, unknown>) =>
    Object.entries(doc)
      .filter(([, v]) => typeof v === 'string' && /^https?:/.test(v))
      .map(([k, v]) => [k, v as string]);

  /** fetch() drops a Host header: node:http sends it as given. */
  function getWithHeaders(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    });
  }

  it.each([
    ['Host', { host: 'evil.example' }],
    ['X-Forwarded-Host behind the trusted proxy', { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
    ['Host and X-Forwarded-Host together', { host: 'evil.example:8443', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }],
  ])('%s does not change a URL of the discovery document', async (_name, headers) => {
    const res = await getWithHeaders(`${t.url}/oidc/.well-known/openid-configuration`, headers);
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.body) as Record<string, unknown>;
    expect(doc.issuer).toBe(`${t.url}/oidc`);
    expect(doc.token_endpoint).toBe(`${t.url}/oidc/token`);
    expect(doc.jwks_uri).toBe(`${t.url}/oidc/jwks`);
    const urls = urlsOf(doc);
    expect(urls.length).toBeGreaterThan(5);
    for (const [, u] of urls) expect(u.startsWith(`${t.url}/`)).toBe(true);
  });

  it('every redirect of a login stays on PUBLIC_URL whatever X-Forwarded-Host says (resume URL included)', async () => {
    const official = await createOfficial(t);
    const browser = new Browser({ headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    const { page } = await browser.follow(await authorizationUrl(config, redirect), redirect);
    const after = await browser.submit(page!, loginForm(page!), { login: official.login, password: official.password });
    expect(after.status).toBe(303);
    const locations: URL[] = [after.location!];
    let hop = after;
    while (hop.location && !hop.location.toString().startsWith(redirect)) {
      hop = await browser.get(hop.location);
      if (hop.location) locations.push(hop.location);
    }
    expect(hop.location?.searchParams.get('code')).toBeTruthy();
    for (const l of locations.slice(0, -1)) expect(l.origin).toBe(new URL(t.url).origin);
  });

  it('is cacheable (public, max-age=300)', async () => {
    const res = await fetch(`${t.url}/oidc/.well-known/openid-configuration`);
    expect(res.headers.get('cache-control')).toMatch(/public/);
    expect(res.headers.get('cache-control')).toMatch(/max-age=300/);
    await res.arrayBuffer();
  });
});
