import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial } from '../../support/oidc-rp.js';
import { adminConsole, formTo } from '../../support/admin-console.js';

/**
 * Issue 21: the console's account actions (reset password, unlock, end sessions): at once for an
 * official, through dual control (a second administrator) for an administrator or RA officer;
 * each audited.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let c: ReturnType<typeof adminConsole>;

beforeAll(async () => {
  t = await startTestService();
  c = adminConsole(t);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const events = async (accountId: string, action: string) => (await t.service.audit.list({ target: `account:${accountId}`, limit: 100 })).filter((e) => e.action === action);
const accountPageOf = (browser: Browser, official: { login: string; password: string }) => authorize(browser, `${t.url}/account`, `${t.url}/account/callback`, official);

/** Locks the account's password login with wrong passwords (the throttle of docs/security.md). */
async function lockOut(login: string): Promise<void> {
  for (let i = 0; i < 12; i++) {
    const r = await t.service.accounts.loginWithPassword({ login, password: `sai-mật-khẩu-${i}`, ip: '203.0.113.7' });
    if (r.ok === false && r.reason === 'throttled') return;
  }
  throw new Error('the account never locked');
}

describe(`console account actions (${db})`, () => {
  it("an official's account: unlock, end sessions, reset password, at once and audited", async () => {
    const admin = await c.officer(['admin']);
    const browser = new Browser();
    await c.signInStrongly(browser, admin.who, admin.passkey);
    const official = await createOfficial(t);
    const phone = new Browser();
    await accountPageOf(phone, official);
    let page = await browser.get(`${t.url}/admin/accounts/${official.account.id}`);
    expect(page.status).toBe(200);

    await lockOut(official.login);
    const unlocked = await browser.submit(page, formTo(page, '/unlock'), { confirm: 'yes' });
    expect(unlocked.location?.search).toBe('?done=unlocked');
    expect((await t.service.accounts.loginWithPassword({ login: official.login, password: official.password, ip: '203.0.113.7' })).ok).toBe(true);
    expect(await events(official.account.id, 'account.unlock')).toHaveLength(1);

    page = await browser.get(`${t.url}/admin/accounts/${official.account.id}`);
    const ended = await browser.submit(page, formTo(page, '/end-sessions'), { confirm: 'yes' });
    expect(ended.location?.search).toBe('?done=sessionsEnded');
    expect((await phone.get(`${t.url}/account`)).status).toBe(303);
    expect((await events(official.account.id, 'account.sessions_end'))[0].details.endedSessionRows).toBeGreaterThan(0);

    // Without the confirmation box: refused, nothing done.
    page = await browser.get(`${t.url}/admin/accounts/${official.account.id}`);
    expect((await browser.submit(page, formTo(page, '/reset-password'), { confirm: '' })).status).toBe(400);
    const reset = await browser.submit(page, formTo(page, '/reset-password'), { confirm: 'yes' });
    expect(reset.status).toBe(200);
    expect(reset.headers.get('cache-control')).toBe('no-store');
    const generated = /data-one-time-code>([^<]+)</.exec(reset.body)![1];
    expect(generated).toMatch(/^[a-z2-9]{20}$/);
    expect((await t.service.accounts.loginWithPassword({ login: official.login, password: generated, ip: '203.0.113.9' })).ok).toBe(true);
    // A login with it stops at "set your password" (test/integration/newcomer/set-password.test.ts).
    await expect(accountPageOf(new Browser(), { login: official.login, password: generated })).rejects.toThrow(/login refused: 200/);
    await expect(accountPageOf(new Browser(), official)).rejects.toThrow(/login refused: 401/);
    expect(await events(official.account.id, 'account.password_set')).toHaveLength(1);
  });

  it("an RA officer's account: each action waits for a second administrator", async () => {
    const first = await c.officer(['admin']);
    const second = await c.officer(['admin']);
    const officer = await c.officer(['ra-officer']);
    const browser = new Browser();
    await c.signInStrongly(browser, first.who, first.passkey);
    const page = await browser.get(`${t.url}/admin/accounts/${officer.who.account.id}`);

    await lockOut(officer.who.login);
    const unlock = await browser.submit(page, formTo(page, '/unlock'), { confirm: 'yes' });
    expect(unlock.location?.search).toBe('?done=changePending');
    const reset = await browser.submit(page, formTo(page, '/reset-password'), { confirm: 'yes' });
    expect(reset.body).toContain('data-one-time-code');
    const generated = /data-one-time-code>([^<]+)</.exec(reset.body)![1];
    // Nothing happened yet: still locked, the old password still the password.
    expect(await events(officer.who.account.id, 'account.unlock')).toEqual([]);
    expect(await events(officer.who.account.id, 'account.password_set')).toEqual([]);

    const pending = await t.service.accountChanges.list({ status: 'pending', accountId: officer.who.account.id });
    expect(pending.map((p) => p.kind).sort()).toEqual(['password', 'unlock']);
    // The requester cannot approve their own; the second administrator can.
    await expect(t.service.accountChanges.approve(first.actor, pending[0].id)).rejects.toThrow(/dual control/);
    for (const change of pending) await t.service.accountChanges.approve(second.actor, change.id);
    expect(await events(officer.who.account.id, 'account.unlock')).toHaveLength(1);
    expect((await t.service.accounts.loginWithPassword({ login: officer.who.login, password: generated, ip: '203.0.113.8' })).ok).toBe(true);
  });
});
