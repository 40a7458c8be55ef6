import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, discover, interactionUid, parseForms } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';

/**
 * The interaction's signed cookies (oidc/cookie-keys.ts, Keygrip's signatures made without
 * Keygrip since issue 20's ninth pass): a cookie whose signature is altered, not in its canonical
 * text, or taken from another cookie is not read, so neither the login page nor the resume after
 * an accepted passkey assertion goes on with it; the same request with the cookies as set goes on.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
const portal = { id: 'cong-chu-ky-cookie', secret: '', redirect: 'http://127.0.0.1:9/callback' };

beforeAll(async () => {
  t = await startTestService();
  portal.secret = (await t.service.clients.add('test', { clientId: portal.id, name: 'Cổng chữ ký cookie', redirectUris: [portal.redirect], scopes: ['openid', 'profile'], firstParty: true })).secret!;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** The cookie header `browser` would send to `url`, with `name.sig` replaced by `edit(sig)`. */
function withSignature(browser: Browser, url: URL, name: string, edit: (sig: string) => string): string {
  const pairs = browser.jar.header(url).split('; ');
  const at = pairs.findIndex((p) => p.startsWith(`${name}.sig=`));
  expect(at).toBeGreaterThanOrEqual(0);
  pairs[at] = `${name}.sig=${edit(pairs[at].slice(name.length + 5))}`;
  return pairs.join('; ');
}
const send = (url: URL, cookie: string, address: string) => fetch(url, { redirect: 'manual', headers: { cookie, 'x-forwarded-for': address, 'accept-language': 'vi' } });
/** One character of a base64url signature changed. */
const flipped = (sig: string, at: number) => sig.slice(0, at) + (sig[at] === 'A' ? 'B' : 'A') + sig.slice(at + 1);

async function loginPage(address: string) {
  const config = await discover(t.url, portal.id, portal.secret);
  const browser = new Browser({ headers: { 'x-forwarded-for': address } });
  const url = client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
  const { page } = await browser.follow(url);
  expect(page?.status).toBe(200);
  // The login page comes as the authorization endpoint's answer; its own address is the interaction's.
  return { browser, page: page!, url: new URL(`/interaction/${interactionUid(page!)}`, t.url) };
}

describe(`the interaction's signed cookies (${db})`, () => {
  it('the login page is not shown for an interaction cookie whose signature is altered, padded or another cookie’s', async () => {
    const { browser, url } = await loginPage('10.21.0.1');
    const other = await loginPage('10.21.0.2');
    const otherSig = /_interaction\.sig=([^;]+)/.exec(other.browser.jar.header(other.url))![1];
    const isLoginPage = async (res: Response) => res.status === 200 && parseForms(await res.text()).some((f) => f.fields.csrf !== undefined && 'password' in f.fields);
    for (const edit of [(s: string) => flipped(s, 0), (s: string) => flipped(s, 13), (s: string) => flipped(s, s.length - 1), (s: string) => `${s}=`, (s: string) => `${s.slice(0, 10)}.${s.slice(10)}`, (s: string) => s.slice(0, -1), () => otherSig, () => '']) {
      const res = await send(url, withSignature(browser, url, '_interaction', edit), '10.21.0.1');
      expect(res.status).toBeLessThan(500);
      expect(await isLoginPage(res)).toBe(false);
    }
    // The control: the cookies as set.
    expect(await isLoginPage(await send(url, withSignature(browser, url, '_interaction', (s) => s), '10.21.0.1'))).toBe(true);
  }, 60_000);

  it('after an accepted assertion, a resume cookie with an altered signature gives the portal no code; the one as set does', async () => {
    const official = await createOfficial(t);
    const passkey = await registerSoftPasskey(t.service.passkeys as never, official.account);
    const { browser, page } = await loginPage('10.21.0.3');
    const link = /<a\b[^>]*data-method="passkey"[^>]*>/.exec(page.body)![0];
    const options = JSON.parse(/data-options-json="([^"]*)"/.exec(link)![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { challenge: string };
    const csrf = parseForms(page.body).find((f) => f.fields.csrf)?.fields.csrf ?? '';
    const uid = interactionUid(page);
    const verified = await browser.json(new URL(`/interaction/${uid}/passkey/verify`, t.url), passkey.get(options), { 'x-csrf-token': csrf });
    expect(verified.status).toBe(200);
    const resume = new URL(String(verified.body.location), t.url);
    const codeOf = (res: Response) => {
      const location = res.headers.get('location');
      return location?.startsWith(portal.redirect) ? new URL(location).searchParams.get('code') : null;
    };
    for (const edit of [(s: string) => flipped(s, 5), (s: string) => `${s}A`]) {
      const res = await send(resume, withSignature(browser, resume, '_interaction_resume', edit), '10.21.0.3');
      expect(res.status).toBeLessThan(500);
      expect(codeOf(res)).toBeNull();
    }
    const res = await send(resume, withSignature(browser, resume, '_interaction_resume', (s) => s), '10.21.0.3');
    expect(res.status).toBe(303);
    expect(codeOf(res)).toBeTruthy();
  }, 60_000);
});
