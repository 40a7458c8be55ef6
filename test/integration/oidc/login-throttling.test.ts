import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, discover, loginForm, passkeyCeremony, type PageResponse, interactionUid } from '../../support/oidc-rp.js';
import { registerSoftPasskey } from '../../support/soft-authenticator.js';

/**
 * Login throttling that cannot be raced (issue 16, acceptance 4; docs/security.md, "Login
 * throttling"). The service sits behind one trusted proxy (TRUST_PROXY=1): each request's real
 * address is the rightmost X-Forwarded-For entry, which the test writes as the proxy would.
 * Small bounds: 5 failures per (account, address), 30 per address, 8 per account; a lock of an
 * (account, address) or an address lasts 10 s, an account's 10 minutes.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const LOCK_SECONDS = 10;
let t: TestService;
let config: client.Configuration;
const redirect = 'http://127.0.0.1:9/dvc/callback';

beforeAll(async () => {
  t = await startTestService({
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS: '5',
      LOGIN_MAX_FAILURES_PER_ADDRESS: '30',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '8',
      LOGIN_FAILURE_WINDOW_SECONDS: '600',
      LOGIN_LOCK_SECONDS: String(LOCK_SECONDS),
      LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS: '600',
      LOGIN_ACCOUNT_LOCK_SECONDS: '600',
      // The hash queue's own refusals are the flood test's subject (login-flood.test.ts): here every
      // admitted password waits for its verification, however loaded the machine.
      LOGIN_HASH_WAIT_MS: '60000',
    },
  });
  const { secret } = await t.service.clients.add('test', { clientId: 'dvc', name: 'Cổng dịch vụ công', redirectUris: [redirect], scopes: ['openid', 'profile'], firstParty: true });
  config = await discover(t.url, 'dvc', secret);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** What the trusted proxy sends on: whatever the client wrote, then the address it saw. */
const proxied = (real: string, forged?: string) => ({ 'x-forwarded-for': forged ? `${forged}, ${real}` : real });

/** A browser behind the proxy at `real`, on the login page of a fresh authorization request. */
async function atLoginPage(real: string): Promise<{ browser: Browser; page: PageResponse; uid: string }> {
  const browser = new Browser({ headers: proxied(real) });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const { page } = await browser.follow(url, redirect);
  expect(page?.status).toBe(200);
  return { browser, page: page!, uid: interactionUid(page!) };
}

const tryPassword = (s: { browser: Browser; page: PageResponse }, login: string, password: string, headers: Record<string, string> = {}) =>
  s.browser.submit(s.page, loginForm(s.page), { login, password }, headers);

const events = (action: string, target?: string) => t.service.audit.list({ action, target, limit: 500 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`login throttling (${db})`, () => {
  it('60 parallel wrong passwords on one account from one address: at most 5 are checked, the rest 429, the right one too until the lock ends', async () => {
    const official = await createOfficial(t);
    const target = `account:${official.account.id}`;
    const s = await atLoginPage('203.0.113.10');
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => tryPassword(s, official.login, `sai-mat-khau-${i}-xxxx`)));
    const statuses = results.map((r) => r.status);
    expect(results.filter((r) => r.status !== 401 && r.status !== 429).map((r) => `${r.status} ${r.body.slice(0, 300)}`)).toEqual([]);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
    // Each checked password is one audited failure: no more than the bound, however many raced
    // (per lock: a machine slower than the lock checks 5 more once it has ended).
    const periods = 1 + Math.floor((performance.now() - started) / 1000 / LOCK_SECONDS);
    const failures = await events('login.failure', target);
    expect(failures.length).toBeLessThanOrEqual(5 * periods);
    expect(statuses.filter((status) => status === 401).length).toBeLessThan(5 * periods);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(60 - 5 * periods);
    for (const r of results.filter((x) => x.status === 429)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Every attempt that was not checked was refused and audited as such.
    expect((await events('login.refused_throttled', target)).length + failures.length).toBe(60);
    const locks = await events('login.throttled', target);
    expect(locks).toHaveLength(Math.ceil(failures.length / 5));
    expect(locks[0].details).toMatchObject({ scope: 'account-address', lockSeconds: LOCK_SECONDS, ip: '203.0.113.10' });

    // The right password from that address is refused too, unchecked, while the lock lasts (a
    // machine slow enough to outlast the lock already showed more checks above: then it is over).
    const lockEnds = locks[0].occurredAt.getTime() + LOCK_SECONDS * 1000;
    const right = await tryPassword(await atLoginPage('203.0.113.10'), official.login, official.password);
    if (Date.now() < lockEnds - 500) {
      expect(right.status).toBe(429);
      expect(Number(right.headers.get('retry-after'))).toBeLessThanOrEqual(LOCK_SECONDS);
      expect(await events('login.success', target)).toHaveLength(0);
      expect((await events('login.failure', target)).length).toBe(failures.length);
    }

    await sleep(Math.max(0, lockEnds + 300 - Date.now()));
    const after = await tryPassword(await atLoginPage('203.0.113.10'), official.login, official.password);
    expect(after.status).toBe(303);
    expect((await events('login.success', target)).length).toBeGreaterThanOrEqual(1);
  });

  it('behind one trusted hop, a rotating X-Forwarded-For still locks the real address (the rightmost entry)', async () => {
    // oidc-provider's own Koa application takes the address the same way.
    expect(t.service.oidc.provider.proxy).toBe(true);
    expect(t.service.oidc.provider.maxIpsCount).toBe(1);
    const real = '198.51.100.77';
    const s = await atLoginPage(real);
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push((await tryPassword(s, `khong-ton-tai-${i}`, 'mat-khau-bat-ky-1', proxied(real, `10.${i}.0.1`))).status);
    }
    expect(statuses.slice(0, 29).every((status) => status === 401)).toBe(true);
    expect(statuses[29]).toBe(429);
    const unknown = (await events('login.failure')).filter((e) => (e.details as { reason?: string }).reason === 'unknown-login');
    expect(unknown.length).toBeGreaterThanOrEqual(30);
    expect(unknown.slice(0, 30).every((e) => (e.details as { ip: string }).ip === real)).toBe(true);
    expect((await events('login.throttled')).some((e) => (e.details as { key?: string }).key === `ip:${real}`)).toBe(true);

    // Another forged entry changes nothing: a real official from that address is refused.
    const official = await createOfficial(t);
    expect((await tryPassword(s, official.login, official.password, proxied(real, '10.200.0.1'))).status).toBe(429);
    // The same official from another address logs in: the lock is the address's.
    expect((await tryPassword(await atLoginPage('198.51.100.78'), official.login, official.password)).status).toBe(303);
  });

  it('an administrator setting the password ends every lock on it', async () => {
    const official = await createOfficial(t);
    const s = await atLoginPage('203.0.113.30');
    for (let i = 0; i < 5; i++) await tryPassword(s, official.login, `sai-mat-khau-${i}-xxxx`);
    expect((await tryPassword(await atLoginPage('203.0.113.30'), official.login, official.password)).status).toBe(429);
    const fresh = 'Mật-khẩu-mới-đủ-dài-2026';
    await t.service.accounts.setPassword('test', official.login, fresh);
    expect((await tryPassword(await atLoginPage('203.0.113.30'), official.login, fresh)).status).toBe(303);
  });

  it('a password locked by a stranger (the account bound, from several addresses) leaves the passkey login open', async () => {
    const official = await createOfficial(t);
    const target = `account:${official.account.id}`;
    const passkey = await registerSoftPasskey(t.service.passkeys, official.account);
    // 5 failures from each of two addresses: 8 lock the account from every address.
    for (const address of ['192.0.2.1', '192.0.2.2']) {
      const s = await atLoginPage(address);
      for (let i = 0; i < 5; i++) await tryPassword(s, official.login, `sai-mat-khau-${address}-${i}`);
    }
    expect((await events('login.throttled', target)).some((e) => (e.details as { scope?: string }).scope === 'account')).toBe(true);
    const elsewhere = await tryPassword(await atLoginPage('192.0.2.3'), official.login, official.password);
    expect(elsewhere.status).toBe(429);
    expect(Number(elsewhere.headers.get('retry-after'))).toBeGreaterThan(LOCK_SECONDS);

    // The official's passkey still logs in, from the stranger's own address even.
    const s = await atLoginPage('192.0.2.1');
    const passkeyPage = await s.browser.get(`${t.url}/interaction/${s.uid}/passkey`);
    expect(passkeyPage.status).toBe(200);
    const button = /<button\b[^>]*data-passkey-login[^>]*>/.exec(passkeyPage.body)![0];
    const next = await passkeyCeremony(s.browser, passkeyPage, button, passkey);
    const { stoppedAt } = await s.browser.follow(next, redirect);
    expect(stoppedAt?.searchParams.get('code')).toBeTruthy();
    const successes = await events('login.success', target);
    expect(successes).toHaveLength(1);
    expect(successes[0].details).toMatchObject({ method: 'passkey', ip: '192.0.2.1' });
  });
});
