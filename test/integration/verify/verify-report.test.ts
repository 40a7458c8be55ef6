import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, run, tmp, writeFile } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { b64, caFiles, type ReportBody } from '../validation/validation-support.js';
import { portalFixtures, upload, type PortalFixtures } from './verify-support.js';

/**
 * Issue 23, acceptance 1 (the evidence): the report downloaded as a PDF is signed by the service's
 * validation-report signer, a certificate of its own CA, and validates as TOTAL_PASSED through the
 * API and on /verify itself; poppler's pdfsig agrees.
 */
let t: TestService;
let f: PortalFixtures;
let api: Awaited<ReturnType<typeof apiClient>>;
let reportPdf: Buffer;

beforeAll(async () => {
  t = await startTestService({ env: { TRUST_PROXY: '1' } });
  f = await portalFixtures(t, 'REPORT');
  api = await apiClient(t, 'report-checker', ['signatures:validate']);
  const res = await upload(t, f.revoked, { format: 'pdf', address: '198.51.100.50', lang: 'vi' });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pdf');
  reportPdf = Buffer.from(await res.arrayBuffer());
});
afterAll(async () => {
  await t?.close();
});

describe('the signed PDF report', () => {
  it('says what the cards say (text without diacritics), never a full personal identifier', () => {
    const text = reportPdf.toString('latin1');
    expect(text).toContain('/SubFilter /ETSI.CAdES.detached');
    expect(text).toContain('REVOKED_NO_POE');
    expect(text).toContain('Nguoi Ky carol');
    expect(text).toContain('********0013');
    expect(text).not.toContain('094185000013');
  });

  it('validates as TOTAL_PASSED through the API: PAdES-B, chain to our root, signer good in the registry', async () => {
    const res = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ document: b64(reportPdf) }) });
    const report = (await res.json()) as ReportBody;
    expect(res.status).toBe(200);
    expect(report.indication).toBe('TOTAL_PASSED');
    expect(report.signatures).toHaveLength(1);
    expect(report.signatures[0]).toMatchObject({ format: 'PAdES-B', indication: 'TOTAL_PASSED', signedAttributes: { signingCertificate: 'match', messageDigest: 'match' } });
    expect(report.signatures[0].signer?.name).toMatch(/Validation Reports$/);
    expect(report.signatures[0].chain.at(-1)?.trustAnchor).toBe(true);
    expect(report.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'good' });
    expect(report.document).toMatchObject({ indication: 'TOTAL_PASSED', changes: [] });
  });

  it('/verify validates its own report as TOTAL_PASSED', async () => {
    const page = await (await upload(t, reportPdf, { address: '198.51.100.51', lang: 'en' })).text();
    expect(page).toContain('data-indication="TOTAL_PASSED"');
    expect(page).toContain('The signature is valid');
  });

  it('the report signer is a service certificate: the RA refuses its profile on request', async () => {
    const csr = run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/C=VN/O=X/CN=Forged Reports']).out;
    await expect(t.service.certificates.ra.submit('test:requester', { csr, profileId: 'validation-report-signer' })).rejects.toMatchObject({ kind: 'policyViolation' });
  });
});

describeWithProgram('pdfsig', 'poppler-utils')('pdfsig on the signed report', () => {
  it('pdfsig: signature valid, total document signed, with our root in its NSS database', async () => {
    const dir = tmp('tinnhiem-report-nss-');
    const ca = await caFiles(t, dir);
    run('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password']);
    run('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'tinnhiem-root', '-t', 'CT,C,C', '-i', ca.root]);
    run('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'tinnhiem-issuing', '-t', ',,', '-i', ca.issuing]);
    const file = writeFile(dir, 'report.pdf', reportPdf);
    const out = await new Promise<string>((resolve) => execFile('pdfsig', ['-nssdir', `sql:${dir}`, file], { timeout: 60_000 }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`)));
    expect(out).toMatch(/Signature Validation: Signature is Valid\./);
    expect(out).toMatch(/Total document signed/);
    expect(out).toMatch(/ETSI\.CAdES\.detached/);
  });
});
