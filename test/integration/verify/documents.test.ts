import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, TEST_PASSPHRASE, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { runCli } from '../../support/run-cli.js';
import { minimalPdf } from '../validation/validation-support.js';
import { upload } from './verify-support.js';

/**
 * Issue 23, acceptance 3: an agency registers a document (API, scope documents:register; CLI),
 * the QR code encodes /verify/{id}, and that page says "registered and unchanged" for the file,
 * "does not match" for another, and "not registered" for an unknown id. Registrations are audited.
 */
let t: TestService;
let registrar: Awaited<ReturnType<typeof apiClient>>;
let validatorOnly: Awaited<ReturnType<typeof apiClient>>;
const decision = minimalPdf('Quyet dinh so 45/QD-UBND');

beforeAll(async () => {
  t = await startTestService({ env: { TRUST_PROXY: '1' } });
  registrar = await apiClient(t, 'van-phong-ubnd', ['documents:register']);
  validatorOnly = await apiClient(t, 'one-stop', ['signatures:validate']);
});
afterAll(async () => {
  await t?.close();
});

interface Registration {
  id: string;
  url: string;
  qrSvg: string;
  sha256: string;
}

describe('QR document registration (acceptance 3)', () => {
  let reg: Registration;

  it('POST /api/v1/documents: 201 with the id, the URL and its QR code (SVG, no script); audited', async () => {
    const res = await registrar.call('POST', '/api/v1/documents', { title: 'Quyết định số 45/QĐ-UBND', issuer: 'ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG', date: '2026-12-01', document: decision.toString('base64') });
    expect(res.status).toBe(201);
    reg = res.body as Registration;
    expect(reg.id).toMatch(/^[a-z2-7]{26}$/);
    expect(reg.url).toBe(`${t.url}/verify/${reg.id}`);
    // "Scanning": the SVG is exactly the QR code of the verification URL.
    expect(reg.qrSvg).toBe(await QRCode.toString(reg.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    expect(reg.qrSvg).not.toMatch(/<script|on\w+=/i);
    const audit = await t.service.db.knex('audit_events').where({ action: 'document.register', target: `document:${reg.id}` });
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe('client:van-phong-ubnd');
  });

  it('in the OpenAPI document, behind documents:register', async () => {
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, { post?: { security?: unknown } }> };
    expect(doc.paths['/api/v1/documents']?.post?.security).toEqual([{ bearer: ['documents:register'] }]);
  });

  it('least privilege: signatures:validate alone cannot register; bad input is a 400', async () => {
    expect((await validatorOnly.call('POST', '/api/v1/documents', { title: 'x', issuer: 'y', sha256: 'a'.repeat(64) })).status).toBe(403);
    expect((await registrar.call('POST', '/api/v1/documents', { title: 'x', issuer: 'y' })).status).toBe(400);
    expect((await registrar.call('POST', '/api/v1/documents', { title: 'x', issuer: 'y', sha256: 'zz' })).status).toBe(400);
  });

  it('the URL shows what was registered; the file: "registered and unchanged"; another: "does not match"', async () => {
    const page = await (await fetch(`${reg.url}?lang=en`)).text();
    expect(page).toContain('Quyết định số 45/QĐ-UBND');
    expect(page).toContain('ỦY BAN NHÂN DÂN TỈNH SÓC TRĂNG');
    expect(page).toContain('2026-12-01');
    expect(page).toContain(`/verify/${reg.id}/qr.svg`);
    const qr = await fetch(`${t.url}/verify/${reg.id}/qr.svg`);
    expect(qr.headers.get('content-type')).toMatch(/image\/svg\+xml/);
    const post = (file: Buffer) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(file)]), 'held.pdf');
      return fetch(`${reg.url}?lang=en`, { method: 'POST', body: form, headers: { 'x-forwarded-for': '198.51.100.60' } });
    };
    expect(await (await post(decision)).text()).toContain('Registered and unchanged');
    const other = await (await post(minimalPdf('Quyet dinh so 46/QD-UBND'))).text();
    expect(other).toContain('Does not match');
    expect(other).not.toContain('Registered and unchanged');
  });

  it('an unknown id: "not registered" (404), for a well-formed and a malformed id', async () => {
    for (const id of ['abcdefghijklmnopqrstuvwxyz', 'not-an-id']) {
      const res = await fetch(`${t.url}/verify/${id}?lang=en`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('Not registered');
    }
    const res = await upload(t, decision, { address: '198.51.100.61' });
    expect(res.status).toBe(200); // /verify itself is not a registration id
  });
});

describe('tinnhiem document register', () => {
  let db: TestDatabase;
  afterAll(async () => {
    await db?.destroy();
  });

  it('registers a file from the command line, writes its QR code, and the service finds it', async () => {
    db = await createTestDatabase();
    await db.close();
    const dir = tmp('tinnhiem-doc-cli-');
    const env = { ...db.env, DATA_DIR: db.env.DATA_DIR ?? dir, MASTER_PASSPHRASE: TEST_PASSPHRASE, PUBLIC_URL: 'https://xacthuc.soctrang.gov.vn' };
    expect((await runCli(['init'], env)).code).toBe(0);
    const file = join(dir, 'cong-van.pdf');
    writeFileSync(file, minimalPdf('Cong van 7/UBND'));
    const out = await runCli(['document', 'register', file, '--title', 'Công văn số 7/UBND', '--issuer', 'UBND tỉnh', '--date', '2026-11-30', '--qr', join(dir, 'qr.svg'), '--json'], env);
    expect(out.code).toBe(0);
    const reg = JSON.parse(out.stdout) as { id: string; url: string };
    expect(reg.url).toBe(`https://xacthuc.soctrang.gov.vn/verify/${reg.id}`);
    expect(readFileSync(join(dir, 'qr.svg'), 'utf8')).toBe(await QRCode.toString(reg.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
    expect((await runCli(['document', 'register', file, '--title', ' ', '--issuer', 'x'], env)).code).not.toBe(0);
    const service = await startTestService({ database: db });
    try {
      const found = await service.service.documents.find(reg.id);
      expect(found).toMatchObject({ title: 'Công văn số 7/UBND', issuer: 'UBND tỉnh', documentDate: '2026-11-30', registeredBy: expect.stringMatching(/^cli:/) });
    } finally {
      await service.close();
    }
  });
});
