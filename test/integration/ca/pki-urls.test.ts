import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { officialHolder, opensslCsr, run, tmp, writeFile } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { bakedLocalUrls } from '../../../src/certificates/pki-urls.js';
import { pkiBaseUrl } from '../../../src/config/pki-base-url.js';
import { loadConfig } from '../../../src/config/load-config.js';

/**
 * Issue 18, defect 5 (docs/ca.md, "URL settings"): CDP/AIA/OCSP URLs followed PUBLIC_URL, so the
 * README's https URL put https:// revocation pointers into every certificate, and a CA made with
 * PUBLIC_URL unset baked http://localhost:3000 into a 10-year issuing CA without a word.
 */
let withBase: TestService;
let dir: string;

beforeAll(async () => {
  // The OIDC issuer is https (behind a TLS proxy); relying parties fetch CRLs and OCSP over http.
  withBase = await startTestService({ publicUrl: 'https://id.soctrang.gov.vn', env: { PKI_BASE_URL: 'http://pki.soctrang.gov.vn' } });
  dir = tmp();
});
afterAll(async () => {
  await withBase?.close();
});

describe('the base URL', () => {
  it('is PKI_BASE_URL, else the host of PUBLIC_URL over plain http', () => {
    expect(pkiBaseUrl(loadConfig({ env: { PUBLIC_URL: 'https://id.soctrang.gov.vn', PKI_BASE_URL: 'http://pki.soctrang.gov.vn' } }))).toBe('http://pki.soctrang.gov.vn');
    expect(pkiBaseUrl(loadConfig({ env: { PUBLIC_URL: 'https://id.soctrang.gov.vn' } }))).toBe('http://id.soctrang.gov.vn');
    expect(pkiBaseUrl(loadConfig({ env: { PUBLIC_URL: 'https://id.soctrang.gov.vn:8443/base' } }))).toBe('http://id.soctrang.gov.vn:8443/base');
    expect(() => loadConfig({ env: { PKI_BASE_URL: 'https://pki.soctrang.gov.vn' } })).toThrow(/ca\.pkiBaseUrl|PKI_BASE_URL/);
  });
});

describeWithProgram('openssl', 'openssl')('certificates', () => {
  it('carry http:// CDP, freshest-CRL, OCSP and caIssuers URLs under PKI_BASE_URL, never PUBLIC_URL', async () => {
    const { ra, ca } = withBase.service.certificates;
    const request = await ra.submit('client:requester', { csr: opensslCsr(), profileId: 'official-signing', holder: officialHolder('094185000555') });
    const outcome = await ra.approve('client:officer', request.request.id);
    const leaf = writeFile(dir, 'leaf.pem', withBase.service.certificates.pem(await ca.certificate(outcome.issued!.serial)));
    const text = run('openssl', ['x509', '-in', leaf, '-noout', '-text']).out;
    const issuer = (await ca.defaultIssuer()).id;
    expect(text).toContain(`URI:http://pki.soctrang.gov.vn/crl/${issuer}.crl`);
    expect(text).toContain(`URI:http://pki.soctrang.gov.vn/crl/${issuer}-delta.crl`);
    expect(text).toContain('OCSP - URI:http://pki.soctrang.gov.vn/ocsp');
    expect(text).toContain(`CA Issuers - URI:http://pki.soctrang.gov.vn/ca/${issuer}.crt`);
    expect(text).not.toContain('https://');
    expect(text).not.toContain('id.soctrang.gov.vn');
    // The issuing CA made at start points at the same base.
    const issuing = (await ca.issuers()).find((i) => i.id === issuer)!;
    expect(bakedLocalUrls(issuing.certificate!)).toEqual([]);
  });

  it('`ca show` reports a CA certificate that baked in a localhost URL', async () => {
    const local = await startTestService({ publicUrl: 'http://localhost:3000' });
    try {
      const issuing = (await local.service.certificates.ca.issuers()).find((i) => i.role === 'issuing')!;
      expect(bakedLocalUrls(issuing.certificate!)).toEqual(expect.arrayContaining([expect.stringMatching(/^http:\/\/localhost:3000\/crl\//)]));
      // What it baked in keeps being served, wherever the request arrives.
      const crl = await fetch(`${local.url}/crl/${issuing.parentId}.crl`);
      expect(crl.status).toBe(200);
    } finally {
      await local.close();
    }
  });
});
