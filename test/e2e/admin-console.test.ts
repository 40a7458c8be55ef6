import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { MESSAGES } from '../../src/web/locales/messages.js';
import { ADMIN_MESSAGES } from '../../src/web/admin/admin-messages.js';
import { describeWithBrowser, launchChromium } from '../support/browser.js';
import { startTestService, type TestService } from '../support/test-app.js';
import { opensslCsr, tmp, writeFile } from '../support/ca-helpers.js';
import { firstStatus, requestFor } from '../integration/ocsp/ocsp-support.js';

/**
 * Issue 9, acceptance 1–3 in Debian's Chromium: an RA officer signs in to the console with a
 * passkey (CDP virtual authenticator), uploads a CSR with the holder's data; a second officer
 * approves it (dual control), downloads the certificate and revokes it, and the OCSP responder's
 * answer for it changes from good to revoked. axe-core, loaded into each page from
 * node_modules, finds no serious or critical violation; the audit log names each officer.
 */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const vi = ADMIN_MESSAGES.vi;
const login = MESSAGES.vi;

interface Officer {
  username: string;
  password: string;
  fullName: string;
  id: string;
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  errors: string[];
}

describeWithBrowser('administration console in Chromium (issue 9)', () => {
  let app: TestService;
  let base: string;
  let browser: Browser;
  let first: Officer;
  let second: Officer;
  let requestUrl: string;
  let serial: string;

  async function officer(username: string, fullName: string, nationalId: string, roles: Array<'ra-officer' | 'admin'>, options: { bypassCSP?: boolean } = {}): Promise<Officer> {
    const password = `Mật-khẩu-${username}-2026`;
    const account = await app.service.accounts.createOfficial('test', { username, nationalId, fullName, roles, password, agency: 'SỞ THÔNG TIN VÀ TRUYỀN THÔNG' });
    // bypassCSP only where axe-core is injected (addScriptTag writes an inline script); the
    // first officer's pages run under the real CSP, and any violation would be a console error.
    const context = await browser.newContext({ locale: 'vi-VN', acceptDownloads: true, bypassCSP: options.bypassCSP ?? false });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { username, password, fullName, id: account.id, context, page, cdp, authenticatorId, errors };
  }

  /** The officer registers a passkey on the account page (after a password login, with an enrolment code: issue 16), then forgets the session. */
  async function registerPasskey(o: Officer) {
    const { page } = o;
    const { code } = await app.service.codes.issueNow({ accountId: o.id, purpose: 'enrolment', actor: 'test' });
    await page.goto(`${base}/account`);
    await page.getByLabel(login['login.login'], { exact: true }).fill(o.username);
    await page.getByLabel(login['login.password'], { exact: true }).fill(o.password);
    await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: login['login.submit'] }).click()]);
    await page.getByLabel(login['account.name'], { exact: true }).fill('Khoá làm việc');
    await page.locator('#code-new-passkey').fill(code);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: login['account.add'] }).click()]);
    await page.getByText('Khoá làm việc').first().waitFor();
    await o.context.clearCookies();
    await page.goto('about:blank');
  }

  /** Opens the console: the provider's login page, the passkey method, the virtual authenticator. */
  async function signIn(o: Officer) {
    const { page, cdp, authenticatorId } = o;
    // Presence off while the login page's conditional (autofill) request is pending, so the
    // passkey button below is what signs in.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    await page.goto(`${base}/admin`);
    expect(new URL(page.url()).pathname).toBe('/oidc/auth'); // the login page, the authorization endpoint's answer
    await Promise.all([page.waitForURL(/\/passkey$/), page.getByRole('link', { name: login['passkey.method'] }).click()]);
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    await Promise.all([page.waitForURL(`${base}/admin`), page.getByRole('button', { name: login['passkey.start'] }).click()]);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(vi['dash.title']);
    expect(await page.textContent('.userbar')).toContain(vi['user.level.high']);
  }

  async function ocspStatus(): Promise<string> {
    const cert = await app.service.certificates.ca.certificate(serial);
    const issuer = await app.service.certificates.caCertificate(cert.issuerId);
    const res = await fetch(`${base}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(requestFor(issuer.der, serial)) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    return firstStatus(new Uint8Array(await res.arrayBuffer()));
  }

  async function axe(page: Page, name: string) {
    await page.addScriptTag({ path: AXE });
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    });
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect({ page: name, serious }).toEqual({ page: name, serious: [] });
    return violations;
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    app = await startTestService({ publicHost: 'localhost' });
    base = app.url.replace('127.0.0.1', 'localhost');
    browser = await launchChromium();
    first = await officer('ra.mot', 'Phạm Minh Một', '094190009001', ['ra-officer']);
    second = await officer('quan.tri.hai', 'Lý Thị Hai', '094190009002', ['admin'], { bypassCSP: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  test('an RA officer signs in with a passkey and uploads a CSR; dual control keeps them from approving it', async () => {
    await registerPasskey(first);
    await signIn(first);
    const { page } = first;
    await page.screenshot({ path: `${ARTIFACTS}admin-dashboard-vi.png`, fullPage: true });

    await Promise.all([page.waitForURL(`${base}/admin/requests`), page.getByRole('link', { name: vi['nav.requests'] }).click()]);
    const csr = writeFile(tmp(), 'holder.csr', opensslCsr('ec-p256', '/CN=token'));
    await page.getByLabel(vi['req.profile'], { exact: true }).selectOption('official-signing');
    await page.getByLabel(vi['req.csrFile'], { exact: true }).setInputFiles(csr);
    await page.getByLabel(vi['req.cn'], { exact: true }).fill('Đặng Thị Hồng Nhung');
    await page.getByLabel(vi['req.uidType'], { exact: true }).selectOption('CCCD');
    await page.getByLabel(vi['req.uidValue'], { exact: true }).fill('094190009100');
    await page.getByLabel(vi['req.o'], { exact: true }).fill('SỞ Y TẾ TỈNH SÓC TRĂNG');
    await page.getByLabel(vi['req.ou'], { exact: true }).fill('Phòng Kế hoạch – Tài chính');
    await page.getByLabel(vi['req.l'], { exact: true }).fill('Sóc Trăng');
    await page.getByLabel(vi['req.email'], { exact: true }).fill('dthnhung@soctrang.gov.vn');
    await Promise.all([page.waitForURL(/\/admin\/requests\/[0-9a-f-]{36}\?done=requested$/), page.getByRole('button', { name: vi['req.submit'] }).click()]);
    requestUrl = page.url().replace(/\?.*$/, '');
    expect(await page.textContent('main')).toContain(vi['done.requested']);
    expect(await page.textContent('main')).toContain(vi['req.ownRequest']);
    expect(await page.getByRole('button', { name: vi['req.approve'] }).count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}admin-request-own-vi.png`, fullPage: true });
    expect(first.errors).toEqual([]);
  });

  test('a second officer approves; the certificate downloads as PEM and the OCSP answer is good', async () => {
    await registerPasskey(second);
    await signIn(second);
    const { page } = second;
    await page.goto(requestUrl);
    expect(await page.textContent('main')).toContain('Phạm Minh Một');
    await page.locator('#approve-confirm').check();
    await page.screenshot({ path: `${ARTIFACTS}admin-request-approve-vi.png`, fullPage: true });
    await Promise.all([page.waitForURL(/\/admin\/certificates\/[0-9a-f]+\?done=issued$/), page.getByRole('button', { name: vi['req.approve'] }).click()]);
    serial = new URL(page.url()).pathname.split('/').pop()!;
    expect(await page.textContent('main')).toContain('Đặng Thị Hồng Nhung');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: vi['cert.download.pem'] }).click()]);
    expect(download.suggestedFilename()).toBe(`${serial}.pem`);
    const saved = join(ARTIFACTS, `admin-${serial}.pem`);
    await download.saveAs(saved);
    const cert = new X509Certificate(readFileSync(saved));
    expect(cert.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(serial.replace(/^0+/, ''));
    expect(cert.subject).toContain('CN=Đặng Thị Hồng Nhung');
    expect(await ocspStatus()).toBe('good');
  });

  test('the second officer revokes it with a reason and confirmation; the OCSP answer changes to revoked', async () => {
    const { page } = second;
    await page.getByLabel(vi['cert.revokeReason'], { exact: true }).selectOption('keyCompromise');
    await page.locator('#revoke-comment').fill('Thiết bị ký số bị mất');
    await page.locator('#revoke-confirm').check();
    await Promise.all([page.waitForURL(/\?done=revoke$/), page.getByRole('button', { name: vi['cert.revoke'] }).click()]);
    expect(await page.textContent('main')).toContain(vi['done.revoke']);
    expect(await page.textContent('main')).toContain(vi['status.revoked']);
    await page.screenshot({ path: `${ARTIFACTS}admin-certificate-revoked-vi.png`, fullPage: true });
    expect(await ocspStatus()).toBe('revoked');

    // Acceptance 3: each console action in the audit log with its officer as the actor.
    const request = await app.service.certificates.ra.get(requestUrl.split('/').pop()!);
    const actors = async (action: string, target: string) => (await app.service.audit.list({ action, target })).map((e) => e.actor);
    expect(await actors('certificate.request', `request:${request.id}`)).toEqual([`user:${first.id}`]);
    expect(await actors('certificate.approve', `request:${request.id}`)).toEqual([`user:${second.id}`]);
    expect(await actors('certificate.revoke', `certificate:${serial}`)).toEqual([`user:${second.id}`]);
    await page.goto(`${base}/admin/audit?target=${encodeURIComponent(`certificate:${serial}`)}`);
    expect(await page.textContent('main')).toContain('Lý Thị Hai');
    expect(await page.textContent('#chain-result')).toMatch(/Chuỗi nhật ký toàn vẹn/);
    await page.screenshot({ path: `${ARTIFACTS}admin-audit-vi.png`, fullPage: true });
  });

  test('axe-core finds no serious or critical violation on any console page, in both languages; keyboard reaches the content', async () => {
    const { page } = second;
    const request = requestUrl.replace(base, '');
    const pages = ['/admin', '/admin/certificates', `/admin/certificates/${serial}`, '/admin/certificates?status=revoked', '/admin/requests', request, '/admin/portals', '/admin/accounts', `/admin/accounts/${first.id}`, '/admin/audit', '/admin/trust'];
    // Every finding (moderate and minor ones too) goes to the artifacts for the record.
    const report: Record<string, Array<{ id: string; impact: string }>> = {};
    for (const lang of ['vi', 'en']) {
      for (const path of pages) {
        await page.goto(`${base}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        expect(await page.getAttribute('html', 'lang')).toBe(lang);
        report[`${lang} ${path}`] = (await axe(page, `${lang} ${path}`)).map((v) => ({ id: v.id, impact: v.impact }));
      }
    }
    await page.goto(`${base}/admin/portals?lang=en`);
    await page.screenshot({ path: `${ARTIFACTS}admin-portals-en.png`, fullPage: true });
    // The first Tab lands on the skip link, which moves the focus to the page's content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(ADMIN_MESSAGES.en.skip);
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(second.errors).toEqual([]);
    expect(Object.keys(report)).toHaveLength(pages.length * 2);
    writeFileSync(`${ARTIFACTS}admin-axe.json`, `${JSON.stringify(report, null, 2)}\n`);
  });
});
