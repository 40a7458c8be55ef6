import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { b64, cadesPdf, caFiles, issueSigner, minimalPdf, nssDatabase, pdfsigSign, pdfsigVerify, type ReportBody, type Signer } from './validation-support.js';

/**
 * Acceptance 2 of issue 6: PDFs signed by poppler's pdfsig (adbe.pkcs7.detached, RSA signers,
 * incremental second signatures) and PAdES ETSI.CAdES.detached PDFs whose CMS comes from
 * `openssl cms -sign -cades`; our reports agree with pdfsig's own verdicts.
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let ca: { root: string; issuing: string; issuingPem: string };
let alice: Signer;
let bob: Signer;
let nssAlice: string;
let nssBob: string;

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'one-stop-system', ['signatures:validate']);
  const dir = tmp('tinnhiem-pdf-');
  ca = await caFiles(t, dir);
  alice = await issueSigner(t, dir, 'alice', 'rsa', '094185000011');
  bob = await issueSigner(t, dir, 'bob', 'rsa', '094185000012');
  nssAlice = nssDatabase(alice, 'alice', ca);
  nssBob = nssDatabase(bob, 'bob', ca);
});
afterAll(async () => {
  await t?.close();
});

async function validatePdf(pdf: Buffer, how: 'json' | 'pdf' | 'multipart' = 'json'): Promise<ReportBody> {
  let res: Response;
  const headers = { authorization: `Bearer ${api.token}` };
  if (how === 'json') res = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ document: b64(pdf) }) });
  else if (how === 'pdf') res = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { ...headers, 'content-type': 'application/pdf' }, body: new Uint8Array(pdf) });
  else {
    const form = new FormData();
    form.append('document', new Blob([new Uint8Array(pdf)], { type: 'application/pdf' }), 'doc.pdf');
    res = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers, body: form });
  }
  const body = await res.json();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body as ReportBody;
}

const describePdf = describeWithProgram('pdfsig', 'poppler-utils');
describePdf('PDF signatures (acceptance 2)', () => {
  let once: Buffer;
  let twice: Buffer;

  beforeAll(() => {
    once = pdfsigSign(minimalPdf(), nssAlice, 'alice', 'sig1', 'Phê duyệt');
    twice = pdfsigSign(once, nssBob, 'bob', 'sig2');
  });

  it('one pdfsig signature: valid, whole document, the dictionary read (JSON, raw PDF and multipart bodies)', async () => {
    const pdfsig = await pdfsigVerify(once, nssAlice);
    expect(pdfsig).toEqual([expect.objectContaining({ field: 'sig1', valid: true, total: true })]);
    for (const how of ['json', 'pdf', 'multipart'] as const) {
      const report = await validatePdf(once, how);
      expect(report).toMatchObject({ documentType: 'pdf', indication: 'TOTAL_PASSED' });
      expect(report.signatures).toHaveLength(1);
      const [s] = report.signatures;
      expect(s).toMatchObject({ format: 'PDF-PKCS7', indication: 'TOTAL_PASSED', signer: { name: 'Người Ký alice', nationalId: '094185000011' } });
      expect(s.pdf).toMatchObject({ field: 'sig1', subFilter: 'adbe.pkcs7.detached', coversWholeDocument: true, changesAfterSigning: 'none', revision: 2, revisions: 2, reason: 'Phê duyệt' });
      expect(s.chain.map((c) => c.trustAnchor)).toEqual([false, false, true]);
      expect(s.revocation[0]).toMatchObject({ source: 'registry', status: 'good' });
    }
  });

  it('two signatures: each valid, the first covers an earlier revision, like pdfsig says', async () => {
    const pdfsig = await pdfsigVerify(twice, nssAlice);
    expect(pdfsig.map((p) => [p.field, p.valid, p.total])).toEqual([['sig1', true, false], ['sig2', true, true]]);
    const report = await validatePdf(twice);
    expect(report.signatures.map((s) => [s.pdf?.field, s.indication, s.pdf?.coversWholeDocument, s.pdf?.changesAfterSigning, s.pdf?.revision])).toEqual([
      ['sig1', 'TOTAL_PASSED', false, 'signed-revisions', 2],
      ['sig2', 'TOTAL_PASSED', true, 'none', 3],
    ]);
    expect(report.signatures[1].signer?.name).toBe('Người Ký bob');
    // The second revision holds the second signature only: allowed, and signed by S2.
    expect(report.document).toMatchObject({ indication: 'TOTAL_PASSED', certification: null });
    expect(report.document?.changes.map((c) => [c.kind, c.allowed, c.signedBy])).toEqual([['signature', true, ['S2']]]);
    expect(report.indication).toBe('TOTAL_PASSED');
  });

  it('changed after signing: an unsigned incremental update is reported; a changed signed byte is HASH_FAILURE', async () => {
    const appended = Buffer.concat([once, Buffer.from('4 0 obj\n<< /Length 10 >>\nstream\nBT ET q Q\nendstream\nendobj\n%%EOF\n', 'latin1')]);
    const pdfsig = await pdfsigVerify(appended, nssAlice);
    expect(pdfsig[0]).toMatchObject({ valid: true, total: false });
    const report = await validatePdf(appended);
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', pdf: { coversWholeDocument: false, changesAfterSigning: 'unsigned-changes' } });
    expect(report.signatures[0].warnings.join(' ')).toMatch(/changed after this signature/);
    // The document itself is not what was signed: not TOTAL_PASSED (issue 19, defect 4).
    expect(report.document).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIG_CONSTRAINTS_FAILURE' });
    expect(report.document?.changes[0]).toMatchObject({ kind: 'other', allowed: false, signedBy: [] });
    expect(report.indication).toBe('INDETERMINATE');

    const tampered = Buffer.from(once);
    const at = tampered.indexOf('Quyet dinh');
    tampered[at] = 'K'.charCodeAt(0);
    expect((await pdfsigVerify(tampered, nssAlice))[0].valid).toBe(false);
    const bad = await validatePdf(tampered);
    expect(bad.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
  });

  it('revoked signers without a time-stamp: REVOKED_NO_POE, whatever /M and signingTime claim', async () => {
    const dir = tmp('tinnhiem-pdf-rev-');
    const carol = await issueSigner(t, dir, 'carol', 'rsa', '094185000013');
    const dave = await issueSigner(t, dir, 'dave', 'rsa', '094185000014');
    const nssCarol = nssDatabase(carol, 'carol', ca);
    const nssDave = nssDatabase(dave, 'dave', ca);
    // Dave is revoked, then signs; Carol signs, then is revoked.
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: dave.serial, issuerId: dave.issuerId, action: 'revoke', reason: 'keyCompromise' });
    await new Promise((r) => setTimeout(r, 1100));
    const carolSigned = pdfsigSign(minimalPdf('Cong van 45'), nssCarol, 'carol', 'sig1');
    const both = pdfsigSign(carolSigned, nssDave, 'dave', 'sig2');
    await new Promise((r) => setTimeout(r, 1100));
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: carol.serial, issuerId: carol.issuerId, action: 'revoke', reason: 'affiliationChanged' });
    expect((await pdfsigVerify(both, nssCarol)).map((p) => p.valid)).toEqual([true, true]); // pdfsig checks no revocation here
    const report = await validatePdf(both);
    const [first, second] = report.signatures;
    expect(first).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', signer: { name: 'Người Ký carol' } });
    expect(second).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', signer: { name: 'Người Ký dave' } });
    expect(report.indication).toBe('INDETERMINATE');
  });

  it('ETSI.CAdES.detached (PAdES B) from openssl cms -cades: valid, and pdfsig agrees', async () => {
    const pades = cadesPdf(minimalPdf(), alice, 'pades1');
    expect(await pdfsigVerify(pades, nssAlice)).toEqual([expect.objectContaining({ field: 'pades1', valid: true, total: true })]);
    const report = await validatePdf(pades);
    expect(report.signatures[0]).toMatchObject({
      format: 'PAdES-B',
      indication: 'TOTAL_PASSED',
      signedAttributes: { signingCertificate: 'match', messageDigest: 'match' },
      pdf: { field: 'pades1', subFilter: 'ETSI.CAdES.detached', coversWholeDocument: true, reason: 'PAdES test' },
    });
    // Then a pdfsig signature on top: two signatures of two SubFilters.
    const mixed = pdfsigSign(pades, nssBob, 'bob', 'sig2');
    const both = await validatePdf(mixed);
    expect(both.signatures.map((s) => [s.format, s.indication])).toEqual([['PAdES-B', 'TOTAL_PASSED'], ['PDF-PKCS7', 'TOTAL_PASSED']]);
  });

  it('an unsupported SubFilter is reported, not crashed on', async () => {
    const odd = Buffer.from(once.toString('latin1').replace('/adbe.pkcs7.detached', '/adbe.pkcs7.sha1'.padEnd('/adbe.pkcs7.detached'.length)), 'latin1');
    const report = await validatePdf(odd);
    expect(report.signatures[0]).toMatchObject({ format: 'UNSUPPORTED', indication: 'INDETERMINATE' });
    expect(report.signatures[0].errors[0]).toMatch(/SubFilter adbe.pkcs7.sha1 is not supported/);
  });
});
