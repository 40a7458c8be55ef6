import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, createOfficial, parseForms } from '../../support/oidc-rp.js';
import { adminConsole, formTo } from '../../support/admin-console.js';

/**
 * Issue 16, acceptance 2 in the console: the puppet scenario (one administrator creates an RA
 * officer with a password of their choosing, to approve their own requests) stops at account
 * creation, pending a second administrator; the initiator cannot approve it; the second can, and
 * both are audited. The officer's approval code for the CLI is created in their console session.
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

const signInStrongly = (...args: Parameters<typeof ui.signInStrongly>) => ui.signInStrongly(...args);
const officer = (...args: Parameters<typeof ui.officer>) => ui.officer(...args);

describe(`dual control over people (${db})`, () => {
  it('the puppet RA officer is pending at creation; the initiator cannot approve; a second administrator can; both audited', async () => {
    const admin1 = await officer(['admin']);
    const admin2 = await officer(['admin']);
    const b1 = new Browser();
    await signInStrongly(b1, admin1.who, admin1.passkey);
    let page = await b1.get(`${t.url}/admin/accounts`);
    const form = formTo(page, '/admin/accounts');
    const created = await b1.submit(page, form, { username: 'con.roi', nationalId: '094190007001', fullName: 'Con Rối', password: 'Mật-khẩu-do-quản-trị-chọn-2026', roles: 'ra-officer' });
    expect(created.status).toBe(303);
    expect(created.location!.search).toBe('?done=changePending');
    // Nothing to log in as: the account does not exist until a second administrator approves.
    expect(await t.service.accounts.findByLogin('con.roi')).toBeNull();
    const [change] = await t.service.accountChanges.list({ status: 'pending' });
    expect(change).toMatchObject({ kind: 'create', label: 'con.roi', requestedBy: admin1.actor });
    expect(JSON.stringify(change.payload)).not.toContain('Mật-khẩu-do-quản-trị-chọn-2026');

    // The initiator sees that they cannot approve, and a forged approval is refused.
    page = await b1.get(`${t.url}/admin/accounts`);
    expect(page.body).toContain(`data-change="${change.id}"`);
    expect(parseForms(page.body).some((f) => f.action.endsWith(`/${change.id}/approve`))).toBe(false);
    const forged = await b1.request(`${t.url}/admin/account-changes/${change.id}/approve`, { method: 'POST', form: { csrf: form.fields.csrf }, headers: { origin: t.url } });
    expect(forged.status).toBe(403);
    expect(await t.service.accounts.findByLogin('con.roi')).toBeNull();

    // The second administrator approves from the console.
    const b2 = new Browser();
    await signInStrongly(b2, admin2.who, admin2.passkey);
    page = await b2.get(`${t.url}/admin/accounts`);
    const approved = await b2.submit(page, formTo(page, `/${change.id}/approve`));
    expect(approved.status).toBe(303);
    const puppet = (await t.service.accounts.findByLogin('con.roi'))!;
    expect(puppet.roles).toEqual(['ra-officer']);
    const [createEvent] = await t.service.audit.list({ action: 'account.create', target: `account:${puppet.id}` });
    expect(createEvent).toMatchObject({ actor: admin1.actor, details: { approvedBy: admin2.actor } });
    const [approveEvent] = await t.service.audit.list({ action: 'account.change_approve', target: `account:${puppet.id}` });
    expect(approveEvent).toMatchObject({ actor: admin2.actor, details: { requestedBy: admin1.actor, change: change.id } });
  });

  it('granting ra-officer and an enrolment code for an RA officer wait for a second administrator; the code works only after approval', async () => {
    const admin1 = await officer(['admin']);
    const admin2 = await officer(['admin']);
    const clerk = await createOfficial(t);
    const grant = await t.service.accountChanges.request(admin1.actor, { kind: 'roles', account: clerk.account, roles: ['official', 'ra-officer'] });
    expect(grant.status).toBe('pending');
    expect((await t.service.accounts.findById(clerk.account.id))!.roles).toEqual(['official']);
    await expect(t.service.accountChanges.approve(admin1.actor, grant.change!.id)).rejects.toThrow('nobody approves their own account change');
    await t.service.accountChanges.approve(admin2.actor, grant.change!.id);
    const officerAccount = (await t.service.accounts.findById(clerk.account.id))!;
    expect(officerAccount.roles).toEqual(['official', 'ra-officer']);

    // The enrolment code is shown to the initiator at once, and refused until approved.
    const browser = new Browser();
    await signInStrongly(browser, admin1.who, admin1.passkey);
    const page = await browser.get(`${t.url}/admin/accounts/${clerk.account.id}`);
    const shown = await browser.submit(page, formTo(page, '/enrolment-code'));
    expect(shown.status).toBe(200);
    expect(shown.headers.get('cache-control')).toBe('no-store');
    const code = /data-one-time-code>([^<]+)</.exec(shown.body)![1];
    await expect(t.service.codes.check(clerk.account.id, 'enrolment', code)).rejects.toThrow("awaits a second administrator's approval");
    const [pending] = (await t.service.accountChanges.list({ status: 'pending' })).filter((c) => c.kind === 'enrolment-code' && c.accountId === clerk.account.id);
    await t.service.accountChanges.approve(admin2.actor, pending.id);
    await expect(t.service.codes.check(clerk.account.id, 'enrolment', code)).resolves.toBeUndefined();
    // A non-administrator decides nothing.
    await expect(t.service.accountChanges.request(`user:${clerk.account.id}`, { kind: 'disable', account: admin1.who.account })).rejects.toThrow('named, active administrator');
  });

  it('one administrator cannot bring back a disabled administrator, nor give one a login certificate, alone; an ordinary official\'s are immediate', async () => {
    const admin1 = await officer(['admin']);
    const admin2 = await officer(['admin']);
    const rogue = await officer(['admin']);
    // Two administrators disable the rogue one.
    const off = await t.service.accountChanges.request(admin1.actor, { kind: 'disable', account: rogue.who.account });
    await t.service.accountChanges.approve(admin2.actor, off.change!.id);
    expect((await t.service.accounts.findById(rogue.who.account.id))!.status).toBe('disabled');

    // An accomplice enables it from the console: pending, and still disabled.
    const browser = new Browser();
    await signInStrongly(browser, admin1.who, admin1.passkey);
    const page = await browser.get(`${t.url}/admin/accounts/${rogue.who.account.id}`);
    const enabled = await browser.submit(page, formTo(page, '/enable'), { confirm: 'yes' });
    expect(enabled.status).toBe(303);
    expect(enabled.location!.search).toBe('?done=changePending');
    expect((await t.service.accounts.findById(rogue.who.account.id))!.status).toBe('disabled');
    const [enable] = (await t.service.accountChanges.list({ status: 'pending' })).filter((c) => c.kind === 'enable' && c.accountId === rogue.who.account.id);
    await expect(t.service.accountChanges.approve(admin1.actor, enable.id)).rejects.toThrow('nobody approves their own account change');
    expect((await t.service.accounts.findById(rogue.who.account.id))!.status).toBe('disabled');

    // A certificate of the accomplice's choosing registered to another administrator, for
    // certificate login as them: pending until a second administrator approves, then audited.
    const pem = readFileSync(new URL('../../fixtures/vgca/vgca-g1-chinh-phu-subca.pem', import.meta.url), 'utf8');
    const cert = await t.service.accountChanges.request(admin1.actor, { kind: 'certificate', account: admin2.who.account, certificate: pem });
    expect(cert.status).toBe('pending');
    expect(await t.service.certificateLogin.registeredCertificates(admin2.who.account.id)).toEqual([]);
    await expect(t.service.accountChanges.approve(admin1.actor, cert.change!.id)).rejects.toThrow('nobody approves their own account change');
    await expect(t.service.accountChanges.request(admin1.actor, { kind: 'certificate', account: admin2.who.account, certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' })).rejects.toThrow('certificate: ');
    expect((await t.service.accountChanges.list({ status: 'pending' })).filter((c) => c.kind === 'certificate')).toHaveLength(1);
    const admin3 = await officer(['admin']);
    await t.service.accountChanges.approve(admin3.actor, cert.change!.id);
    const [registered] = await t.service.certificateLogin.registeredCertificates(admin2.who.account.id);
    expect(registered.subjectDn).toBe('CN=Co quan chung thuc so Chinh phu,O=Ban Co yeu Chinh phu,C=VN');
    const [event] = await t.service.audit.list({ action: 'account.certificate_register', target: `account:${admin2.who.account.id}` });
    expect(event).toMatchObject({ actor: admin1.actor, details: { fingerprint: registered.fingerprint } });
    expect(event.details).toMatchObject({ approvedBy: admin3.actor });

    // An ordinary official: enabled at once, as before.
    const clerk = await createOfficial(t);
    await t.service.accounts.setStatus(admin1.actor, clerk.account.username!, 'disabled');
    expect((await t.service.accountChanges.request(admin1.actor, { kind: 'enable', account: { ...clerk.account, status: 'disabled' } })).status).toBe('done');
    expect((await t.service.accounts.findById(clerk.account.id))!.status).toBe('active');
  });

  it('an officer with passkeys proves a CLI approval with a one-time code from their console session', async () => {
    const ra = await officer(['ra-officer']);
    const prove = (approvalCode?: string, password = ra.who.password) => t.service.officerProof.prove({ login: ra.who.login, password, approvalCode, osUser: 'cli:kiemthu', command: 'cert approve' });
    expect(await prove()).toMatchObject({ ok: false, reason: 'approval-code-required' });
    const browser = new Browser();
    const dashboard = await signInStrongly(browser, ra.who, ra.passkey);
    const shown = await browser.submit(dashboard, formTo(dashboard, '/admin/approval-code'));
    expect(shown.status).toBe(200);
    const code = /data-one-time-code>([^<]+)</.exec(shown.body)![1];
    expect(await prove(code, 'not-the-password')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await prove(code)).toMatchObject({ ok: true, actor: ra.actor });
    expect(await prove(code)).toMatchObject({ ok: false, reason: 'approval-code-refused' });
    const refusals = await t.service.audit.list({ action: 'cli.officer_refused', target: `account:${ra.who.account.id}` });
    expect(refusals.map((e) => [e.actor, e.details.reason])).toEqual(expect.arrayContaining([['cli:kiemthu', 'approval-code-required'], ['cli:kiemthu', 'approval-code-refused']]));
  });
});
