import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { run, tmp, writeFile } from '../../support/ca-helpers.js';
import { opensslSign, type ReportBody, type Signer } from '../validation/validation-support.js';
import { anyFileContains, filesUnder, portalFixtures, tableScan, upload, type PortalFixtures } from './verify-support.js';

/**
 * Issue 23, acceptance 1 (the cards, through HTTP) and 2: the public /verify page validates with
 * the API's validator, never stores an upload, and refuses over-size and over-rate uploads with
 * problem+json; a chain that ends nowhere trusted makes no outbound request even where private
 * networks are allowed.
 */
const MARKER = 'VERIFY-MARKER-7f3a9c';
let t: TestService;
let f: PortalFixtures;
let listener: Server;
let connections = 0;
let loopbackUrl: string;

beforeAll(async () => {
  listener = createServer((_req, res) => res.end('x'));
  listener.on('connection', () => connections++);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  loopbackUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/`;
  // Private networks allowed: only the "no trusted anchor, no fetch" rule keeps the loopback quiet.
  t = await startTestService({ env: { TRUST_PROXY: '1', VERIFY_MAX_BYTES: '300000', VERIFY_UPLOADS_PER_MINUTE: '12', VALIDATION_FETCH_PRIVATE_NETWORKS: 'true' } });
  f = await portalFixtures(t, MARKER);
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => listener?.close(resolve));
});

async function json(file: Buffer, address: string, o: { document?: Buffer; name?: string } = {}): Promise<ReportBody> {
  const res = await upload(t, file, { format: 'json', address, ...o });
  expect(res.headers.get('content-disposition')).toMatch(/attachment/);
  expect(res.status).toBe(200);
  return (await res.json()) as ReportBody;
}

describe('/verify (acceptance 1 and 2)', () => {
  it('GET /verify: the form, no login, the page CSP, vi and en', async () => {
    for (const [lang, text] of [['vi', 'Kiểm tra chữ ký số'], ['en', 'Check a digital signature']] as const) {
      const res = await fetch(`${t.url}/verify?lang=${lang}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
      const page = await res.text();
      expect(page).toContain(text);
      expect(page).toContain('enctype="multipart/form-data"');
      expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/);
    }
  });

  it('valid, changed after signing, revoked and forged PDFs: the verdicts of the API, identifiers cut to four digits', async () => {
    const valid = await json(f.valid, '198.51.100.10');
    expect(valid.indication).toBe('TOTAL_PASSED');
    expect(valid.signatures[0].signer?.nationalId).toBe('********0011');
    const changed = await json(f.changed, '198.51.100.10');
    expect(changed.document).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIG_CONSTRAINTS_FAILURE' });
    const revoked = await json(f.revoked, '198.51.100.10');
    expect(revoked.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' });
    const forged = await json(f.forged, '198.51.100.10');
    expect(forged.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
    for (const r of [valid, changed, revoked, forged]) expect(JSON.stringify(r)).not.toMatch(/09418500001[13]/);
  });

  it('the HTML cards: the verdict in plain words, the ETSI code, the signer, the issuing CA, revocation and changes', async () => {
    const en = await (await upload(t, f.revoked, { address: '198.51.100.11', lang: 'en' })).text();
    expect(en).toContain('The certificate has been revoked and nothing proves the signature was made before.');
    expect(en).toContain('INDETERMINATE / REVOKED_NO_POE');
    expect(en).toContain('Người Ký carol');
    expect(en).toContain('CCCD: ********0013');
    expect(en).not.toContain('094185000013');
    expect(en).toMatch(/revoked at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, reason keyCompromise/);
    const vi = await (await upload(t, f.changed, { address: '198.51.100.11', lang: 'vi' })).text();
    expect(vi).toContain('Thay đổi sau khi ký');
    expect(vi).toContain('nội dung khác (lần sửa 3): không được phép');
    expect(vi).toContain('Tài liệu: tài liệu đã bị thay đổi sau khi ký');
    const forged = await (await upload(t, f.forged, { address: '198.51.100.11', lang: 'vi' })).text();
    expect(forged).toContain('Nội dung đã bị thay đổi sau khi ký');
  });

  it('an XML e-invoice goes to the same validator by its content: TOTAL_PASSED', async () => {
    if (!f.invoice) throw new Error('xmlsec1 is needed for the invoice fixture (Debian package xmlsec1)');
    const res = await upload(t, f.invoice, { address: '198.51.100.12', name: 'invoice.xml' });
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toMatch(/<article class="signature-card passed"[^>]*data-indication="TOTAL_PASSED"/);
    expect(page).toContain('Người Ký alice');
  });

  it('uploads reach neither DATA_DIR nor any table', async () => {
    const dataDir = t.database.keyDir!;
    const filesBefore = filesUnder(dataDir);
    const before = await tableScan(t, MARKER);
    for (const pdf of [f.valid, f.changed, f.revoked, f.forged, ...(f.invoice ? [f.invoice] : [])]) {
      expect((await upload(t, pdf, { address: '198.51.100.13' })).status).toBe(200);
      expect((await upload(t, pdf, { address: '198.51.100.14', format: 'json' })).status).toBe(200);
    }
    const after = await tableScan(t, MARKER);
    expect(after.containing).toEqual([]);
    expect(after.counts).toEqual(before.counts);
    // An embedded database lives in DATA_DIR too: its pages must not hold the marker either.
    expect(anyFileContains(dataDir, Buffer.from(MARKER))).toBeNull();
    const filesAfter = filesUnder(dataDir);
    const added = [...filesAfter.keys()].filter((k) => !filesBefore.has(k));
    expect(added).toEqual([]);
  });

  it('over the size limit: 413 problem+json, before validation', async () => {
    const big = Buffer.concat([f.valid, Buffer.alloc(400_000, 0x20)]);
    const res = await upload(t, big, { address: '198.51.100.20' });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ type: 'urn:tinnhiem:problem:payload-too-large', status: 413 });
  });

  it('over the rate: 429 problem+json with Retry-After, per client address (X-Forwarded-For under TRUST_PROXY=1)', async () => {
    const junk = Buffer.from('not a signature');
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await upload(t, junk, { address: '203.0.113.77' })).status);
    expect(statuses.slice(0, 12).every((s) => s === 400)).toBe(true);
    const refused = await upload(t, junk, { address: '203.0.113.77' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ type: 'urn:tinnhiem:problem:rate-limited', status: 429 });
    // Another address is not held back by this one.
    expect((await upload(t, junk, { address: '203.0.113.78' })).status).toBe(400);
  });

  it('a cross-site form post is refused (the form guard)', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(f.valid)]), 'doc.pdf');
    const res = await fetch(`${t.url}/verify`, { method: 'POST', body: form, headers: { 'sec-fetch-site': 'cross-site', 'x-forwarded-for': '198.51.100.30' } });
    expect(res.status).toBe(403);
  });

  it('a chain that names a loopback AIA, OCSP and CRL but ends at no trust anchor: no outbound request', async () => {
    const dir = tmp('tinnhiem-verify-aia-');
    const p = (n: string) => join(dir, n);
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('root.key'), '-out', p('root.pem'), '-days', '30', '-subj', '/C=VN/CN=Unknown Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/C=VN/CN=Nguoi La']);
    writeFile(dir, 'ext.cnf', `keyUsage=critical,digitalSignature,nonRepudiation\nauthorityInfoAccess=OCSP;URI:${loopbackUrl}ocsp,caIssuers;URI:${loopbackUrl}ca.crt\ncrlDistributionPoints=URI:${loopbackUrl}ca.crl\n`);
    run('openssl', ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', '10', '-extfile', p('ext.cnf')]);
    const stranger: Signer = { key: p('leaf.key'), cert: p('leaf.pem'), serial: '', issuerId: '', pem: '' };
    const data = Buffer.from('a detached document');
    const before = connections;
    const report = await json(opensslSign(stranger, data, { detached: true }), '198.51.100.40', { document: data, name: 'sig.p7s' });
    expect(report.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' });
    expect(report.signatures[0].revocation).toEqual([]);
    expect(connections).toBe(before);
  });
});
