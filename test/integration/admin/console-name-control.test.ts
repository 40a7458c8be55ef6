import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { Browser, textOf } from '../../support/oidc-rp.js';
import { adminConsole, formTo } from '../../support/admin-console.js';
import { opensslCsr } from '../../support/ca-helpers.js';

/** Issue 18: the console's approval of a request with DNS names records how control of each was checked. */
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

  it('a TLS request is approved in the console only with how control of each name was checked (docs/ca.md, "Name policy")', async () => {
    const approver = await officer(['ra-officer']);
    const host = 'cong.soctrang.gov.vn';
    const submitted = await t.service.certificates.ra.submit('client:portal', { csr: opensslCsr(), profileId: 'tls-server', holder: { subject: { C: 'VN', O: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG', CN: host }, dnsNames: [host] } });
    const b = new Browser();
    await signInStrongly(b, approver.who, approver.passkey);
    const page = await b.get(`${t.url}/admin/requests/${submitted.request.id}`);
    const form = formTo(page, '/approve');
    expect(form.fields.ncName0).toBe(host);
    const short = await b.submit(page, form, { confirm: 'yes', ncMethod0: 'dns-change', ncEvidence0: 'ok' });
    expect(textOf(short.body)).toContain('name-control: record how control of cong.soctrang.gov.vn was checked');
    const approved = await b.submit(page, form, { confirm: 'yes', ncMethod0: 'dns-change', ncEvidence0: 'TXT _tinnhiem.cong.soctrang.gov.vn seen 2026-12-03' });
    expect(approved.status).toBe(303);
    const request = await t.service.certificates.ra.get(submitted.request.id);
    expect(request.status).toBe('issued');
    expect(request.approvals[0].nameControl).toEqual([{ name: host, method: 'dns-change', evidence: 'TXT _tinnhiem.cong.soctrang.gov.vn seen 2026-12-03' }]);
  });
