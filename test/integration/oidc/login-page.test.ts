import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, discover, loginForm, textOf, type PageResponse } from '../../support/oidc-rp.js';

/**
 * The login page: CSRF protection, a strict CSP, and (issue 3, acceptance 7) failed-login
 * throttling per account and per client address, audited. Small limits so the test is quick:
 * 3 failures lock an account from one address, 6 lock an address, a lock lasts 2 s.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const LOCK_SECONDS = 2;
let t: TestService;
let config: client.Configuration;
const redirect = 'http://127.0.0.1:9/dvc/callback';

beforeAll(async () => {
  t = await startTestService({
    env: { LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '6', LOGIN_LOCK_SECONDS: String(LOCK_SECONDS), LOGIN_FAILURE_WINDOW_SECONDS: '600' },
  });
  const { secret } = await t.service.clients.add('test', { clientId: 'dvc', name: 'Cổng dịch vụ công', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
  config = await discover(t.url, 'dvc', secret);
});

afterAll(async () => {
  await t?.close();
});

/** A browser at the login page of a fresh authorization request. */
async function atLoginPage(browser = new Browser()): Promise<{ browser: Browser; page: PageResponse; url: URL }> {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { page } = await browser.follow(url, redirect);
  expect(page?.status).toBe(200);
  return { browser, page: page!, url };
}

const tryPassword = (s: { browser: Browser; page: PageResponse }, login: string, password: string) => s.browser.submit(s.page, loginForm(s.page), { login, password });

describe(`login page (${db})`, () => {
  it('has a strict CSP (no inline script or style, only our own script file, no framing) and a CSRF field', async () => {
    const { page } = await atLoginPage();
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    // One script, a file of our own origin (passkey autofill, issue 8); never inline script.
    expect(csp).toMatch(/script-src 'self';/);
    expect([...page.body.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => [m[0].match(/src="([^"]+)"/)?.[1], m[1]])).toEqual([['/static/passkeys.js', '']]);
    expect(page.body).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(page.headers.get('cache-control')).toMatch(/no-store/);
    expect(loginForm(page).fields.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('refuses a login post with a wrong CSRF token, or the token of another interaction (403 page)', async () => {
    const official = await createOfficial(t);
    const s = await atLoginPage();
    const wrong = await s.browser.submit(s.page, loginForm(s.page), { csrf: 'x'.repeat(43), login: official.login, password: official.password });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('content-type')).toMatch(/^text\/html/);
    expect(wrong.location).toBeUndefined();

    const other = await atLoginPage();
    const foreign = await s.browser.submit(s.page, loginForm(s.page), { csrf: loginForm(other.page).fields.csrf, login: official.login, password: official.password });
    expect(foreign.status).toBe(403);

    // The same form with its own token goes through.
    const ok = await tryPassword(s, official.login, official.password);
    expect(ok.status).toBe(303);
    const events = await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}`, limit: 10 });
    expect(events).toHaveLength(1);
  });

  it('refuses a cross-origin login post (403), even with the right CSRF token', async () => {
    const official = await createOfficial(t);
    const s = await atLoginPage();
    const res = await s.browser.submit(s.page, loginForm(s.page), { login: official.login, password: official.password }, { origin: 'https://attacker.example' });
    expect(res.status).toBe(403);
    expect(res.location).toBeUndefined();
    // Fetch metadata says cross-site even where a privacy setting blanked the Origin.
    const blanked = await s.browser.submit(s.page, loginForm(s.page), { login: official.login, password: official.password }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
    expect(blanked.status).toBe(403);
    expect(await t.service.audit.list({ action: 'login.success', target: `account:${official.account.id}`, limit: 10 })).toHaveLength(0);
    // The same form from its own origin goes through.
    expect((await tryPassword(s, official.login, official.password)).status).toBe(303);
  });

  it('locks an account after 3 failed logins for the lock window (429 + Retry-After, even for the right password), audited', async () => {
    const official = await createOfficial(t);
    const s = await atLoginPage();
    for (let i = 1; i <= 2; i++) {
      const res = await tryPassword(s, official.login, `sai-mat-khau-${i}-xxxx`);
      expect(res.status).toBe(401);
      expect(textOf(res.body)).toMatch(/không đúng|incorrect/i);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    const third = await tryPassword(s, official.login, 'sai-mat-khau-3-xxxx');
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBe(LOCK_SECONDS);

    // During the lock the right password is refused too, from any browser (the lock is the account's).
    const right = await tryPassword(s, official.login, official.password);
    expect(right.status).toBe(429);
    const retryAfter = Number(right.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(LOCK_SECONDS);
    expect(right.location).toBeUndefined();
    expect((await tryPassword(await atLoginPage(), official.login, official.password)).status).toBe(429);

    const target = `account:${official.account.id}`;
    const failures = await t.service.audit.list({ action: 'login.failure', target, limit: 10 });
    expect(failures).toHaveLength(3);
    expect(failures[0].details).toMatchObject({ method: 'pwd', reason: 'invalid', ip: expect.any(String), clientId: 'dvc' });
    const throttled = await t.service.audit.list({ action: 'login.throttled', target, limit: 10 });
    expect(throttled).toHaveLength(1);
    expect(throttled[0].details).toMatchObject({ lockSeconds: LOCK_SECONDS });
    expect(await t.service.audit.list({ action: 'login.refused_throttled', target, limit: 10 })).toHaveLength(2);
    expect(await t.service.audit.list({ action: 'login.success', target, limit: 10 })).toHaveLength(0);

    // After the window the right password works, and the code comes back to the portal.
    await new Promise((resolve) => setTimeout(resolve, (LOCK_SECONDS + 0.2) * 1000));
    const after = await atLoginPage();
    const done = await tryPassword(after, official.login, official.password);
    expect(done.status).toBe(303);
    const { stoppedAt } = await after.browser.follow(done, redirect);
    expect(stoppedAt?.searchParams.get('code')).toBeTruthy();
  });

  it('locks a client address after 6 failures across logins; other accounts from it are refused too', async () => {
    // The previous test left 3 failures from this address within the window.
    const victim = await createOfficial(t);
    const s = await atLoginPage();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await tryPassword(s, `khong-ton-tai-${i}`, 'mat-khau-bat-ky-1')).status);
    expect(statuses).toEqual([401, 401, 429]);
    const refused = await tryPassword(s, victim.login, victim.password);
    expect(refused.status).toBe(429);
    const locks = await t.service.audit.list({ action: 'login.throttled', limit: 10 });
    expect(locks.some((e) => e.target === null && (e.details as { key?: string }).key?.startsWith('ip:'))).toBe(true);
    const unknown = await t.service.audit.list({ action: 'login.failure', actor: 'anonymous', limit: 10 });
    expect(unknown.map((e) => (e.details as { reason: string }).reason)).toEqual(['unknown-login', 'unknown-login', 'unknown-login']);

    await new Promise((resolve) => setTimeout(resolve, (LOCK_SECONDS + 0.2) * 1000));
    const callback = await authorize(new Browser(), (await atLoginPage()).url, redirect, victim);
    expect(callback.searchParams.get('code')).toBeTruthy();
  });
});
