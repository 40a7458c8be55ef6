import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, discover, interactionUid, loginForm, outgoingRequestsAsInProduction } from '../../support/oidc-rp.js';

/**
 * The login page as the authorization endpoint's own answer (docs/identity.md, "Pages"): what it
 * carries, that the interaction stays bound to the browser that started it, and which answers of
 * the provider pass as they are.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let official: Awaited<ReturnType<typeof createOfficial>>;
let config: client.Configuration;
const portal = { id: 'cong-dvc-trang', secret: '', redirect: 'http://127.0.0.1:9/trang/callback' };

beforeAll(async () => {
  await outgoingRequestsAsInProduction();
  t = await startTestService();
  const added = await t.service.clients.add('test', { clientId: portal.id, name: 'Cổng dịch vụ công', redirectUris: [portal.redirect], scopes: ['openid', 'profile', 'offline_access'], firstParty: true });
  portal.secret = added.secret!;
  official = await createOfficial(t);
  config = await discover(t.url, portal.id, portal.secret);
});

afterAll(async () => {
  await t?.close();
});

const authorizationUrl = async (extra: Record<string, string> = {}) =>
  client.buildAuthorizationUrl(config, { redirect_uri: portal.redirect, scope: 'openid profile', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', ...extra });

describe(`the login page at the authorization endpoint (${db})`, () => {
  it('answers GET /oidc/auth with the login page itself: 200, the page CSP, no redirect, the interaction and resume cookies of its uid; /interaction/<uid> shows the same page', async () => {
    const browser = new Browser();
    const page = await browser.get(await authorizationUrl());
    expect(page.status).toBe(200);
    expect(page.location).toBeUndefined();
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const uid = interactionUid(page);
    expect(loginForm(page).action).toBe(`/interaction/${uid}/login`);
    const cookies = page.headers.getSetCookie().map((c) => c.split(';').map((p) => p.trim().toLowerCase()));
    const pathOf = (name: string) => cookies.find((c) => c[0].startsWith(`${name}=`))?.find((p) => p.startsWith('path='));
    expect(pathOf('_interaction')).toBe(`path=/interaction/${uid.toLowerCase()}`);
    expect(pathOf('_interaction_resume')).toBe(`path=/oidc/auth/${uid.toLowerCase()}`);
    const again = await browser.get(new URL(`/interaction/${uid}`, t.url));
    expect(again.status).toBe(200);
    expect(loginForm(again).action).toBe(loginForm(page).action);
  });

  it('the interaction stays bound to the browser that started it: its page’s form posted from another browser (no interaction cookie) logs nobody in', async () => {
    // Login CSRF: an attacker starts an authorization, takes the page's form (and its token) and
    // has a victim's browser post it with the attacker's password; that browser has no cookie of
    // the interaction, so the interaction is not found there.
    const attacker = new Browser({ headers: { 'x-forwarded-for': '10.31.0.1' } });
    const page = await attacker.get(await authorizationUrl());
    const victim = new Browser({ headers: { 'x-forwarded-for': '10.31.0.2' } });
    const posted = await victim.submit(page, loginForm(page), { login: official.login, password: official.password });
    expect(posted.status).toBeGreaterThanOrEqual(400);
    expect(posted.status).toBeLessThan(500);
    expect(posted.location).toBeUndefined();
    // The browser that started it logs in through the same page.
    const own = await attacker.submit(page, loginForm(page), { login: official.login, password: official.password });
    expect(own.status).toBe(303);
    const { stoppedAt } = await attacker.follow(own, portal.redirect);
    expect(stoppedAt?.searchParams.get('code')).toBeTruthy();
  });

  it('passes the provider’s other answers as they are: consent by redirect to /interaction/<uid>, prompt=none’s error to the portal, a signed-in browser straight back with a code', async () => {
    const browser = new Browser({ headers: { 'x-forwarded-for': '10.31.0.3' } });
    await authorize(browser, await authorizationUrl(), portal.redirect, official);
    // Signed in: no login page, the portal gets its code at once.
    const again = await browser.get(await authorizationUrl());
    expect(again.status).toBe(303);
    expect(again.location!.toString().startsWith(portal.redirect)).toBe(true);
    // A consent prompt: the provider's redirect to the interaction's page, the consent page there.
    const consent = await browser.get(await authorizationUrl({ scope: 'openid profile offline_access', prompt: 'consent' }));
    expect(consent.status).toBe(303);
    expect(consent.location!.pathname).toMatch(/^\/interaction\/[^/]+$/);
    const consentPage = await browser.get(consent.location!);
    expect(consentPage.body).toContain(`action="${consent.location!.pathname}/confirm"`);
    // prompt=none without a session: the error goes to the portal (OIDC Core §3.1.2.6), no page.
    const none = await new Browser().get(await authorizationUrl({ prompt: 'none' }));
    expect(none.status).toBe(303);
    expect(none.location!.searchParams.get('error')).toBe('login_required');
  });
});
