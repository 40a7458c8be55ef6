import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { startTestService, type TestService } from '../../support/test-app.js';
import { authorize, Browser, createOfficial, parseForms, textOf, type PageResponse } from '../../support/oidc-rp.js';
import { adminConsole, formTo } from '../../support/admin-console.js';
import { officialHolder, opensslCsr, run, tmp, writeFile } from '../../support/ca-helpers.js';
import { ADMIN_MESSAGES } from '../../../src/web/admin/admin-messages.js';

/**
 * Issue 9: the administration console over HTTP, as a browser without script would use it:
 * sign-in through the provider, roles (403 for others), form tokens and same-origin posts,
 * step-up before changes, dual control, bad input shown on the page with nothing written, and
 * every change audited with the officer as the actor.
 */
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded';
const vi = ADMIN_MESSAGES.vi;
let t: TestService;
let callback: string;
let ui: ReturnType<typeof adminConsole>;

beforeAll(async () => {
  t = await startTestService();
  callback = `${t.url}/admin/callback`;
  ui = adminConsole(t);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const signIn = (...args: Parameters<typeof ui.signIn>) => ui.signIn(...args);
const signInStrongly = (...args: Parameters<typeof ui.signInStrongly>) => ui.signInStrongly(...args);
const officer = (...args: Parameters<typeof ui.officer>) => ui.officer(...args);

/** A multipart post as the browser sends the CSR upload form. */
async function upload(browser: Browser, page: PageResponse, action: string, fields: Record<string, string>, file?: { name: string; data: Buffer | string }, headers: Record<string, string> = {}) {
  const target = new URL(action, page.url);
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  if (file) body.append(file.name, new Blob([typeof file.data === 'string' ? file.data : new Uint8Array(file.data)]), 'request.csr');
  const res = await fetch(target, { method: 'POST', body, redirect: 'manual', headers: { cookie: browser.jar.header(target), origin: target.origin, 'sec-fetch-site': 'same-origin', 'accept-language': 'vi', ...headers } });
  const location = res.headers.get('location');
  return { status: res.status, body: await res.text(), location: location ? new URL(location, target) : undefined, url: target, headers: res.headers } as PageResponse;
}

async function issueThroughRa(holderId: string) {
  const outcome = await t.service.certificates.ra.submit('test', { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder(holderId) });
  const approved = await t.service.certificates.ra.approve('test-2', outcome.request.id);
  return approved.issued!.serial;
}

describe(`administration console (${db})`, () => {
  it('without a session a page signs in through the provider as the console client; a post is refused', async () => {
    const browser = new Browser();
    const first = await browser.get(`${t.url}/admin/certificates?status=good`);
    expect(first.status).toBe(303);
    expect(first.location!.pathname).toBe('/oidc/auth');
    expect(first.location!.searchParams.get('client_id')).toBe('tinnhiem-admin');
    expect(first.location!.searchParams.get('response_type')).toBe('none');
    const post = await browser.request(`${t.url}/admin/certificates/01/revoke`, { method: 'POST', form: { csrf: 'x', confirm: 'yes' }, headers: { origin: t.url } });
    expect(post.status).toBe(401);

    // After the login the console returns to the page first asked for.
    const who = await createOfficial(t, { roles: ['auditor'] });
    const back = await authorize(browser, first.location!, callback, who);
    const { page } = await browser.follow(back);
    expect(page!.status).toBe(200);
    expect(page!.url.pathname + page!.url.search).toBe('/admin/certificates?status=good');
    expect(page!.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page!.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page!.body).not.toMatch(/<script\b/);
    expect(page!.body).not.toMatch(/\sstyle=/);
  });

  it('the dashboard counts certificates by profile and status, and pending requests', async () => {
    const auditor = await createOfficial(t, { roles: ['auditor'] });
    const browser = new Browser();
    const row = (page: PageResponse, profile: string) => {
      const m = new RegExp(`<th scope="row"><a href="/admin/certificates\\?profile=${profile}">${profile}</a></th>((?:<td class="num">\\d+</td>){5})</tr>`).exec(page.body);
      if (!m) throw new Error(`no row for ${profile}: ${textOf(page.body).slice(0, 500)}`);
      return [...m[1].matchAll(/\d+/g)].map((x) => Number(x[0]));
    };
    const before = row(await signIn(browser, auditor), 'official-signing');
    const serial = await issueThroughRa('094190005010');
    await issueThroughRa('094190005011');
    await t.service.certificates.ca.changeStatus({ actor: 'test', serial, action: 'revoke', reason: 'superseded' });
    const pending = await t.service.certificates.ra.submit('test', { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder('094190005012', 'Võ Thị Chờ Duyệt') });
    const page = await browser.get(`${t.url}/admin`);
    // good, hold, revoked, expired, total
    const [good, hold, revoked, expired, total] = row(page, 'official-signing');
    expect([good, hold, revoked, expired, total]).toEqual([before[0] + 1, before[1], before[2] + 1, before[3], before[4] + 2]);
    for (const status of ['good', 'revoked'] as const) {
      expect((await t.service.certificates.search({ profileId: 'official-signing', status, limit: 1 })).total).toBe(status === 'good' ? good : revoked);
    }
    expect(page.body).toContain(`href="/admin/requests/${pending.request.id}"`);
    expect(textOf(page.body)).toContain('Võ Thị Chờ Duyệt');
    // Expiring soon: counted as the registry page counts, exact below its limit.
    for (const days of [30, 60, 90]) {
      const { total } = await t.service.certificates.search({ status: 'good', expiresWithinDays: days, limit: 1 });
      expect(new RegExp(`expiresWithinDays=${days}">[^<]*</a></td><td class="num">([^<]*)</td>`).exec(page.body)?.[1]).toBe(String(total));
    }

    // The search page passes its filters to the registry.
    const revokedList = await browser.get(`${t.url}/admin/certificates?status=revoked&profile=official-signing`);
    expect(revokedList.body).toContain(`href="/admin/certificates/${serial}"`);
    // An auditor holds no certs:read:pii (docs/ca.md, "Personal data"): numbers masked, no search by them.
    const detail = await browser.get(`${t.url}/admin/certificates/${serial}`);
    expect(detail.body).not.toContain('094190005010');
    expect(detail.body).toContain('CCCD:********5010');
    const byId = await browser.get(`${t.url}/admin/certificates?nationalId=094190005011`);
    expect(byId.body).not.toContain(`href="/admin/certificates/${serial}"`);
    expect(textOf(byId.body)).toContain('needs the scope certs:read:pii');
    // An RA officer sees them, and each page that showed them, or looked a person up, is audited.
    const ra = await officer(['ra-officer']);
    const raBrowser = new Browser();
    await signInStrongly(raBrowser, ra.who, ra.passkey);
    const readsBefore = (await t.service.audit.list({ action: 'certificate.read_pii', actor: ra.actor })).length;
    expect((await raBrowser.get(`${t.url}/admin/certificates/${serial}`)).body).toContain('094190005010');
    const found = await raBrowser.get(`${t.url}/admin/certificates?nationalId=094190005011`);
    expect(found.body).toContain('094190005011');
    const reads = await t.service.audit.list({ action: 'certificate.read_pii', actor: ra.actor });
    expect(reads.length).toBe(readsBefore + 2);
    expect(reads[1]).toMatchObject({ target: `certificate:${serial}` });
    expect(reads[0].details).toMatchObject({ query: { nationalId: '094190005011' } });
    // That record keeps the number looked up; an auditor reading the log sees it masked.
    const log = await browser.get(`${t.url}/admin/audit?action=certificate.read_pii`);
    expect(log.status).toBe(200);
    expect(log.body).toContain('********5011');
    expect(log.body).not.toMatch(/094190005011|094190005010/);
    const bogus = await browser.get(`${t.url}/admin/certificates?status=%3Cscript%3E&expiresWithinDays=abc&offset=-1`);
    expect(bogus.status).toBe(200);
    expect(bogus.body).not.toContain('<script>');
  });

  it('an official without a console role gets 403 on every page and action', async () => {
    const { who } = await officer(['official']);
    const browser = new Browser();
    const dashboard = await signIn(browser, who);
    expect(dashboard.status).toBe(403);
    expect(textOf(dashboard.body)).toContain(vi['forbidden.body']);
    for (const path of ['/admin/certificates', '/admin/requests', '/admin/portals', '/admin/accounts', '/admin/audit', '/admin/trust']) {
      expect((await browser.get(`${t.url}${path}`)).status).toBe(403);
    }
    const post = await browser.request(`${t.url}/admin/accounts`, { method: 'POST', form: { csrf: 'x' }, headers: { origin: t.url } });
    expect(post.status).toBe(403);
    // An RA officer may work on certificates but not on portals, accounts or the trust store.
    const ra = await officer(['ra-officer']);
    const raBrowser = new Browser();
    expect((await signIn(raBrowser, ra.who)).status).toBe(200);
    for (const path of ['/admin/portals', '/admin/accounts', '/admin/trust']) expect((await raBrowser.get(`${t.url}${path}`)).status).toBe(403);
  });

  it('refuses a form without the session’s token or from another site, and changes nothing', async () => {
    const serial = await issueThroughRa('094190005001');
    const ra = await officer(['ra-officer']);
    const browser = new Browser();
    await signInStrongly(browser, ra.who, ra.passkey);
    const page = await browser.get(`${t.url}/admin/certificates/${serial}`);
    expect(page.status).toBe(200);
    const revoke = formTo(page, '/revoke');
    const forged = await browser.submit(page, revoke, { csrf: 'forged-token', confirm: 'yes', reason: 'keyCompromise' });
    expect(forged.status).toBe(403);
    expect(textOf(forged.body)).toContain(vi['error.csrf']);
    const crossSite = await browser.submit(page, revoke, { confirm: 'yes' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    // Another browser's (another session's) token is no good either.
    const other = new Browser();
    const ra2 = await officer(['ra-officer']);
    await signInStrongly(other, ra2.who, ra2.passkey);
    const stolen = await other.submit(page, revoke, { confirm: 'yes' });
    expect(stolen.status).toBe(403);
    expect((await t.service.certificates.ca.certificate(serial)).status).toBe('good');
    expect(await t.service.audit.list({ action: 'certificate.revoke', target: `certificate:${serial}` })).toEqual([]);
  });

  it('a change after a password login asks for step-up first; after the passkey it is done and audited with the officer as actor', async () => {
    const serial = await issueThroughRa('094190005002');
    const ra = await officer(['ra-officer']);
    const browser = new Browser();
    await signIn(browser, ra.who);
    let page = await browser.get(`${t.url}/admin/certificates/${serial}`);
    expect(textOf(page.body)).toContain(vi['stepup.notice']);
    const asked = await browser.submit(page, formTo(page, '/hold'), { confirm: 'yes', comment: 'nghi lộ khoá' });
    expect(asked.status).toBe(303);
    expect(asked.location!.pathname).toBe('/admin/step-up');
    expect((await t.service.certificates.ca.certificate(serial)).status).toBe('good');

    // The step-up goes through the provider's passkey page (a password cannot answer it)…
    const { page: stepUp } = await browser.follow(asked.location!);
    expect(stepUp!.url.pathname).toMatch(/^\/interaction\/[^/]+\/passkey$/);
    const back = await authorize(browser, stepUp!.url, callback, undefined, ra.passkey);
    const { page: returned } = await browser.follow(back);
    // …and comes back to the certificate, now with the stronger login.
    expect(returned!.url.pathname).toBe(`/admin/certificates/${serial}`);
    expect(textOf(returned!.body)).toContain(vi['user.level.high']);
    page = returned!;
    const held = await browser.submit(page, formTo(page, '/hold'), { confirm: 'yes', comment: 'nghi lộ khoá' });
    expect(held.status).toBe(303);
    expect(held.location!.search).toBe('?done=hold');
    expect((await t.service.certificates.ca.certificate(serial)).status).toBe('hold');
    const [event] = await t.service.audit.list({ action: 'certificate.hold', target: `certificate:${serial}` });
    expect(event.actor).toBe(ra.actor);

    // Without the confirmation box nothing happens.
    page = await browser.get(`${t.url}/admin/certificates/${serial}`);
    const unconfirmed = await browser.submit(page, formTo(page, '/release'), { comment: 'x', confirm: '' });
    expect(unconfirmed.status).toBe(400);
    expect(textOf(unconfirmed.body)).toContain(vi['error.confirm']);
    expect(unconfirmed.body).toContain(`href="/admin/certificates/${serial}?lang=en"`);
    expect((await t.service.certificates.ca.certificate(serial)).status).toBe('hold');
  });

  it('bad input: an unreadable CSR is shown on the request page with what was typed, and nothing is written', async () => {
    const ra = await officer(['ra-officer']);
    const browser = new Browser();
    await signInStrongly(browser, ra.who, ra.passkey);
    const page = await browser.get(`${t.url}/admin/requests`);
    const form = formTo(page, '/admin/requests');
    const before = (await t.service.certificates.ra.list(undefined, 1000)).length;
    const seqBefore = (await t.service.audit.list({ limit: 1 }))[0].seq;
    const fields = { ...form.fields, profile: 'official-signing', cn: 'Lê Văn Tám', uidType: 'CCCD', uidValue: '094190005003', o: 'SỞ Y TẾ', l: 'Sóc Trăng' };

    const garbage = await upload(browser, page, form.action, { ...fields, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----' });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatch(/<p class="error" role="alert"/);
    expect(textOf(garbage.body)).toMatch(/CSR|PKCS#10|request/i);
    expect(garbage.body).toContain('value="Lê Văn Tám"');
    const binary = await upload(browser, page, form.action, fields, { name: 'csrFile', data: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]) });
    expect(binary.status).toBe(400);
    const empty = await upload(browser, page, form.action, fields);
    expect(empty.status).toBe(400);
    expect(textOf(empty.body)).toContain(vi['error.csrMissing']);
    // A readable CSR whose holder breaks the profile (no national ID) is refused the same way.
    const policy = await upload(browser, page, form.action, { ...fields, uidValue: '' }, { name: 'csrFile', data: opensslCsr() });
    expect(policy.status).toBe(400);
    expect(textOf(policy.body)).toMatch(/UID|CCCD/);
    const forged = await upload(browser, page, form.action, { ...fields, csrf: 'forged' }, { name: 'csrFile', data: opensslCsr() });
    expect(forged.status).toBe(403);
    expect((await t.service.certificates.ra.list(undefined, 1000)).length).toBe(before);
    const written = (await t.service.audit.list({ limit: 100 })).filter((e) => e.seq > seqBefore);
    expect(written.map((e) => e.action).filter((a) => a !== 'certificate.read_pii')).toEqual([]); // only what the pages showed
  });

  it('dual control: the requester cannot approve; a second officer approves, the certificate downloads and is revoked', async () => {
    const first = await officer(['ra-officer']);
    const second = await officer(['ra-officer']);
    const a = new Browser();
    await signInStrongly(a, first.who, first.passkey);
    let page = await a.get(`${t.url}/admin/requests`);
    const created = await upload(
      a,
      page,
      '/admin/requests',
      { ...formTo(page, '/admin/requests').fields, profile: 'official-signing', cn: 'Trần Thị Thu Hà', uidType: 'CCCD', uidValue: '094190005004', o: 'SỞ TÀI CHÍNH TỈNH SÓC TRĂNG', ou: 'Phòng Ngân sách', l: 'Sóc Trăng', email: 'ttha@soctrang.gov.vn' },
      { name: 'csrFile', data: opensslCsr('ec-p256', '/CN=token') },
    );
    expect(created.status).toBe(303);
    const requestPath = created.location!.pathname;
    expect(requestPath).toMatch(/^\/admin\/requests\/[0-9a-f-]{36}$/);
    const id = requestPath.split('/').pop()!;
    page = await a.get(created.location!);
    expect(textOf(page.body)).toContain(vi['done.requested']);
    expect(textOf(page.body)).toContain(vi['req.ownRequest']);
    expect(parseForms(page.body).some((f) => f.action.endsWith('/approve'))).toBe(false);
    // Even a hand-made approval by the requester is refused by the RA.
    const self = await a.request(`${t.url}${requestPath}/approve`, { method: 'POST', form: { csrf: formTo(page, '/reject').fields.csrf, confirm: 'yes' }, headers: { origin: t.url } });
    expect(self.status).toBe(403);
    expect(textOf(self.body)).toMatch(/dual control/);

    const b = new Browser();
    await signInStrongly(b, second.who, second.passkey);
    page = await b.get(`${t.url}${requestPath}`);
    const approved = await b.submit(page, formTo(page, '/approve'), { confirm: 'yes' });
    expect(approved.status).toBe(303);
    expect(approved.location!.pathname).toMatch(/^\/admin\/certificates\/[0-9a-f]+$/);
    const serial = approved.location!.pathname.split('/').pop()!;
    const request = await t.service.certificates.ra.get(id);
    expect(request).toMatchObject({ status: 'issued', certificateSerial: serial, requestedBy: first.actor });
    expect(request.approvals.map((x) => x.approver)).toEqual([second.actor]);

    page = await b.get(approved.location!);
    expect(textOf(page.body)).toContain(vi['done.issued']);
    expect(textOf(page.body)).toContain('Trần Thị Thu Hà');
    const pem = await b.get(`${t.url}/admin/certificates/${serial}/pem`);
    expect(pem.status).toBe(200);
    expect(pem.headers.get('content-disposition')).toBe(`attachment; filename="${serial}.pem"`);
    const cert = new X509Certificate(pem.body);
    expect(cert.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(serial.replace(/^0+/, ''));
    expect(cert.subject).toContain('CN=Trần Thị Thu Hà');
    const der = await fetch(`${t.url}/admin/certificates/${serial}/der`, { headers: { cookie: b.jar.header(new URL(t.url)) } });
    expect(Buffer.from(await der.arrayBuffer()).equals(cert.raw)).toBe(true);
    const p7b = await fetch(`${t.url}/admin/certificates/${serial}/chain`, { headers: { cookie: b.jar.header(new URL(t.url)) } });
    const dir = tmp();
    const printed = run('openssl', ['pkcs7', '-inform', 'DER', '-in', writeFile(dir, 'c.p7b', Buffer.from(await p7b.arrayBuffer())), '-print_certs', '-noout']).out;
    expect(printed.match(/^subject=/gm)).toHaveLength(3);

    const revoked = await b.submit(page, formTo(page, '/revoke'), { confirm: 'yes', reason: 'keyCompromise', comment: 'mất thiết bị' });
    expect(revoked.status).toBe(303);
    const after = await t.service.certificates.ca.certificate(serial);
    expect(after).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    page = await b.get(revoked.location!);
    expect(textOf(page.body)).toContain(vi['done.revoke']);
    expect(parseForms(page.body).some((f) => f.action.endsWith('/revoke'))).toBe(false);

    // Every step in the audit log, with the officer who did it as the actor.
    const actorOf = async (action: string, target: string) => (await t.service.audit.list({ action, target })).map((e) => e.actor);
    expect(await actorOf('certificate.request', `request:${id}`)).toEqual([first.actor]);
    expect(await actorOf('certificate.approve', `request:${id}`)).toEqual([second.actor]);
    expect(await actorOf('certificate.issue', `certificate:${serial}`)).toEqual([second.actor]);
    expect(await actorOf('certificate.revoke', `certificate:${serial}`)).toEqual([second.actor]);
    // The certificate page's history shows them.
    expect(textOf(page.body)).toContain('certificate.revoke');
  });

  it('portals, accounts and the trust store: changes by an administrator, each audited with them as actor', async () => {
    const admin = await officer(['admin']);
    const browser = new Browser();
    await signInStrongly(browser, admin.who, admin.passkey);

    // Register a portal: the secret is shown once, on the response itself.
    let page = await browser.get(`${t.url}/admin/portals`);
    const registered = await browser.submit(page, formTo(page, '/admin/portals'), { clientId: 'cong-so-y-te', name: 'Cổng Sở Y tế', redirectUris: 'https://syt.soctrang.gov.vn/callback\nhttps://syt.soctrang.gov.vn/cb2', scopes: 'openid profile', authMethod: 'client_secret_basic' });
    expect(registered.status).toBe(201);
    const secret = /<code class="mono" id="client-secret">([^<]+)<\/code>/.exec(registered.body)![1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await t.service.clients.providerMetadata('cong-so-y-te'))!.client_secret).toBe(secret);
    expect((await t.service.clients.show('cong-so-y-te')).metadata.redirect_uris).toEqual(['https://syt.soctrang.gov.vn/callback', 'https://syt.soctrang.gov.vn/cb2']);
    page = await browser.get(`${t.url}/admin/portals`);
    expect(page.body).not.toContain(secret);
    const bad = await browser.submit(page, formTo(page, '/admin/portals'), { clientId: 'x y', name: 'Sai', redirectUris: 'http://evil.example/cb' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/<p class="error" role="alert"/);
    const rotated = await browser.submit(page, formTo(page, '/cong-so-y-te/rotate'), { confirm: 'yes' });
    expect(rotated.status).toBe(200);
    const newSecret = /id="client-secret">([^<]+)</.exec(rotated.body)![1];
    expect(newSecret).not.toBe(secret);
    expect((await t.service.clients.providerMetadata('cong-so-y-te'))!.client_secret).toBe(newSecret);

    // Create an official, change roles, disable.
    page = await browser.get(`${t.url}/admin/accounts`);
    const form = formTo(page, '/admin/accounts');
    const createdAccount = await browser.request(new URL(form.action, page.url), {
      method: 'POST',
      form: { csrf: form.fields.csrf, username: 'nguyen.van.moi', nationalId: '094190005099', fullName: 'Nguyễn Văn Mới', agency: 'SỞ Y TẾ', password: 'Mật-khẩu-ban-đầu-2026', roles: 'official' },
      headers: { origin: t.url },
    });
    expect(`${createdAccount.status} ${textOf(createdAccount.body)}`).toMatch(/^303/);
    const account = (await t.service.accounts.findByLogin('nguyen.van.moi'))!;
    expect(account.roles).toEqual(['official']);
    page = await browser.get(createdAccount.location!);
    expect(page.status).toBe(200);
    // Granting admin or ra-officer waits for a second administrator (test/integration/security/dual-control-people.test.ts).
    const roles = await browser.request(`${t.url}/admin/accounts/${account.id}/roles`, { method: 'POST', form: { csrf: form.fields.csrf, roles: 'auditor' }, headers: { origin: t.url } });
    expect(roles.status).toBe(303);
    expect((await t.service.accounts.findById(account.id))!.roles).toEqual(['auditor']);
    const disabled = await browser.submit(page, formTo(page, '/disable'), { confirm: 'yes' });
    expect(disabled.status).toBe(303);
    expect((await t.service.accounts.findById(account.id))!.status).toBe('disabled');
    // An administrator cannot disable themselves.
    const selfPage = await browser.get(`${t.url}/admin/accounts/${admin.who.account.id}`);
    expect((await browser.submit(selfPage, formTo(selfPage, '/disable'), { confirm: 'yes' })).status).toBe(409);

    // Trust store: add an anchor (a CA certificate made by OpenSSL), then remove it.
    const dir = tmp();
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/ca.pem`, '-subj', '/C=VN/O=Bộ Thử nghiệm/CN=Thử nghiệm Root CA', '-utf8', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const caPem = run('openssl', ['x509', '-in', `${dir}/ca.pem`]).out;
    page = await browser.get(`${t.url}/admin/trust`);
    const trustForm = formTo(page, '/admin/trust');
    const notCa = await upload(browser, page, trustForm.action, { csrf: trustForm.fields.csrf, kind: 'anchor', label: 'x', pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' });
    expect(notCa.status).toBe(400);
    const added = await upload(browser, page, trustForm.action, { csrf: trustForm.fields.csrf, kind: 'anchor', label: 'Thử nghiệm' }, { name: 'file', data: caPem });
    expect(added.status).toBe(303);
    page = await browser.get(added.location!);
    expect(textOf(page.body)).toContain('Thử nghiệm Root CA');
    const removeForm = parseForms(page.body).find((f) => f.action.endsWith('/remove'))!;
    expect((await browser.submit(page, removeForm, { confirm: 'yes' })).status).toBe(303);
    expect((await t.service.validation.trust.list()).some((e) => e.subject.includes('Thử nghiệm Root CA'))).toBe(false);

    for (const [action, target] of [
      ['client.create', 'client:cong-so-y-te'],
      ['client.rotate_secret', 'client:cong-so-y-te'],
      ['account.create', `account:${account.id}`],
      ['account.roles', `account:${account.id}`],
      ['account.disable', `account:${account.id}`],
    ]) {
      expect((await t.service.audit.list({ action, target })).map((e) => e.actor)).toEqual([admin.actor]);
    }
    const trustEvents = (await t.service.audit.list({ actor: admin.actor })).filter((e) => e.action.startsWith('trust.'));
    expect(trustEvents.map((e) => e.action).sort()).toEqual(['trust.add', 'trust.remove']);

    // The audit page lists them, with the chain verification result.
    page = await browser.get(`${t.url}/admin/audit?actor=${encodeURIComponent(admin.actor)}`);
    expect(page.status).toBe(200);
    expect(textOf(page.body)).toMatch(/Chuỗi nhật ký toàn vẹn: \d+ sự kiện/);
    expect(textOf(page.body)).toContain('client.rotate_secret');
    // And in English.
    page = await browser.get(`${t.url}/admin/audit?lang=en`);
    expect(textOf(page.body)).toMatch(/The log is intact: \d+ events/);
  });
});
