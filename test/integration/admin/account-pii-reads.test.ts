import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial } from '../../support/oidc-rp.js';
import { adminConsole } from '../../support/admin-console.js';

/**
 * docs/ca.md, "Personal data": an official's national ID is shown in full on the console's account
 * page only to those whose scopes allow it (administrators), and the read is recorded; so is a
 * search of accounts by number, which tells whether a person has an account.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
let t: TestService;
let ui: ReturnType<typeof adminConsole>;

beforeAll(async () => {
  t = await startTestService();
  ui = adminConsole(t);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe(`personal data on the console's account pages (${db})`, () => {
  it("an official's national ID on the account page, and a search of accounts by number, are audited reads", async () => {
    const admin = await ui.officer(['admin']);
    const browser = new Browser();
    await ui.signInStrongly(browser, admin.who, admin.passkey);
    const person = await createOfficial(t);
    const id = person.account.nationalId!;
    const reads = () => t.service.audit.list({ action: 'certificate.read_pii', actor: admin.actor, limit: 100 });
    const before = (await reads()).length;
    // docs/ca.md, "Personal data": shown in full to an administrator, the read recorded against the account.
    const page = await browser.get(`${t.url}/admin/accounts/${person.account.id}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(id);
    let after = await reads();
    expect(after.length).toBe(before + 1);
    expect(after[0]).toMatchObject({ target: `account:${person.account.id}`, details: { accounts: [person.account.id] } });
    // Looking a person up by number tells whether they have an account: recorded with the number.
    const found = await browser.get(`${t.url}/admin/accounts?search=${id}`);
    expect(found.body).toContain(`href="/admin/accounts/${person.account.id}"`);
    after = await reads();
    expect(after.length).toBe(before + 2);
    expect(after[0]).toMatchObject({ target: null, details: { query: { q: id } } });
    // A search by name is not a lookup by number: nothing recorded.
    await browser.get(`${t.url}/admin/accounts?search=${encodeURIComponent('Nguyễn')}`);
    expect((await reads()).length).toBe(before + 2);
    // An auditor reading the log sees the number looked up masked.
    const auditor = await ui.officer(['auditor']);
    const auditorBrowser = new Browser();
    await ui.signInStrongly(auditorBrowser, auditor.who, auditor.passkey);
    const log = await auditorBrowser.get(`${t.url}/admin/audit?action=certificate.read_pii`);
    expect(log.status).toBe(200);
    expect(log.body).not.toContain(id);
    // Nor can an auditor open the account page at all.
    expect((await auditorBrowser.get(`${t.url}/admin/accounts/${person.account.id}`)).status).toBe(403);
  });
});
