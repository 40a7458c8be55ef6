import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { officialHolder, opensslCsr, sealHolder } from '../../support/ca-helpers.js';

/**
 * Issue 23, acceptance 4: /certificates/{serial} shows the status (time and reason), validity,
 * issuer and links, and no personal identifier, e-mail or phone; a search by organisation name
 * lists organisation seals only, never an individual's certificate, even one of that organisation.
 */
const CCCD = '094185000777';
let t: TestService;
let official: string;
let seal: string;

beforeAll(async () => {
  t = await startTestService();
  const ra = t.service.certificates.ra;
  const a = await ra.submit('test:requester', { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder(CCCD, 'Trần Văn Bình') });
  official = (await ra.approve('test:officer', a.request.id)).issued!.serial;
  const s = await ra.submit('test:requester', { csr: opensslCsr(), profileId: 'organisation-seal', holder: sealHolder });
  await ra.approve('test:officer-1', s.request.id);
  seal = (await ra.approve('test:officer-2', s.request.id)).issued!.serial;
  await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: official, action: 'revoke', reason: 'affiliationChanged' });
});
afterAll(async () => {
  await t?.close();
});

const page = async (path: string) => {
  const res = await fetch(`${t.url}${path}`);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
};

describe('public certificate pages (acceptance 4)', () => {
  it("an individual's certificate by serial: status with time and reason, no identifier, e-mail, name or download", async () => {
    const { status, text } = await page(`/certificates/${official}?lang=en`);
    expect(status).toBe(200);
    expect(text).toMatch(/Revoked since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(text).toContain('affiliationChanged');
    expect(text).toContain('An individual’s certificate');
    expect(text).toMatch(/Issuing CA/);
    expect(text).toMatch(/href="http[^"]+\.crl"/);
    for (const secret of [CCCD, CCCD.slice(-4), 'ntatuyet', '@soctrang.gov.vn', 'Trần Văn Bình', `/certificates/${official}.pem`]) expect(text).not.toContain(secret);
    expect((await page(`/certificates/${official}.pem`)).status).toBe(404);
    expect((await page(`/certificates/${official}/chain.p7b`)).status).toBe(404);
  });

  it('an organisation seal: valid, its name, certificate and chain downloads', async () => {
    const { text } = await page(`/certificates/${seal}?lang=vi`);
    expect(text).toContain('Còn hiệu lực');
    expect(text).toContain('SỞ TÀI CHÍNH TỈNH SÓC TRĂNG');
    expect(text).toContain(`/certificates/${seal}.pem`);
    const pem = await page(`/certificates/${seal}.pem`);
    expect(pem.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect((await fetch(`${t.url}/certificates/${seal}/chain.p7b`)).status).toBe(200);
  });

  it("an organisation search lists the seal and never the individual of the same agency", async () => {
    const { text } = await page(`/certificates?q=${encodeURIComponent('SỞ TÀI CHÍNH')}&lang=en`);
    expect(text).toContain(`/certificates/${seal}`);
    expect(text).not.toContain(`/certificates/${official}`);
    // By the person's name or number: nothing at all.
    for (const q of ['Trần Văn Bình', CCCD, 'CCCD']) {
      const found = await page(`/certificates?q=${encodeURIComponent(q)}&lang=en`);
      expect(found.text).toContain('No certificate of an agency or organisation was found.');
      expect(found.text).not.toContain(`/certificates/${official}`);
    }
  });

  it('a serial in the search form goes to its page; unknown serials are 404 problem+json', async () => {
    const res = await fetch(`${t.url}/certificates?serial=${official.toUpperCase()}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/certificates/${official}`);
    const missing = await page('/certificates/abcdef0123456789');
    expect(missing.status).toBe(404);
    expect(missing.type).toMatch(/problem\+json/);
  });
});
