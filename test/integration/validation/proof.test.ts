import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram, hasProgram } from '../../support/system-tools.js';
import { appendUpdate, pastCertificate, qpdfObject, qpdfReadable, signatureValueOf, timestampToken, withCounterSignature } from './proof-support.js';
import { b64, cadesPdf, caFiles, issueSigner, minimalPdf, nssDatabase, opensslSign, opensslTsa, opensslVerifies, pdfsigSign, pdfsigVerify, withTimestamp, type ReportBody, type Signer } from './validation-support.js';

/**
 * Issue 19, defects 1, 2, 4 and 5: what the validator must refuse. Every fixture comes from an
 * independent tool (openssl cms/ts, pdfsig, qpdf, faketime); each case failed before the change
 * (the verdict it used to give is named in the test).
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let dir: string;
let ca: { root: string; issuing: string; issuingPem: string };
let rsa: Signer;
let ec: Signer;
let tsa: { dir: string; root: string };
const textA = Buffer.from('Hợp đồng số 12/2026: bên A trả 100 triệu đồng\n', 'utf8');
const textB = Buffer.from('Hợp đồng số 12/2026: bên A trả 900 triệu đồng\n', 'utf8');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const utc = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'document-system', ['signatures:validate']);
  dir = tmp('tinnhiem-proof-');
  ca = await caFiles(t, dir);
  rsa = await issueSigner(t, dir, 'rsa', 'rsa', '094185000031');
  ec = await issueSigner(t, dir, 'ec', 'ec', '094185000032');
  if (hasProgram('openssl')) {
    tsa = opensslTsa();
    // The TSA's own certificate pinned as an anchor trusted for time-stamping.
    await t.service.validation.trust.add('test:operator', readFileSync(join(tsa.dir, 'tsa.pem')), 'anchor', 'test TSA', true);
  }
});
afterAll(async () => {
  await t?.close();
});

async function validate(body: Record<string, unknown>): Promise<ReportBody> {
  const res = await api.call('POST', '/api/v1/signatures/validate', body);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as ReportBody;
}

async function revoke(signer: Signer, reason: string): Promise<Date> {
  await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'revoke', reason: reason as never });
  const record = await t.service.certificates.ca.certificate(signer.serial, signer.issuerId);
  return record.revokedAt!;
}

describeWithProgram('openssl', 'openssl')('defect 1: the bytes asked about are the bytes verified (CMS)', () => {
  it('an attached CMS over text A sent with document B is TOTAL_FAILED / HASH_FAILURE (was TOTAL_PASSED)', async () => {
    const sig = opensslSign(rsa, textA);
    expect(opensslVerifies(sig, null, ca)).toBe(true);
    const forged = await validate({ signature: b64(sig), document: b64(textB) });
    expect(forged.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE', signedContent: { source: 'encapsulated', sha256: sha256(textA) } });
    expect(forged.signatures[0].errors[0]).toMatch(/encapsulates other content than the document/);
    expect(forged.indication).toBe('TOTAL_FAILED');
    // Only B's digest: the same.
    const byDigest = await validate({ signature: b64(sig), digest: { algorithm: 'sha256', value: sha256(textB) } });
    expect(byDigest.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });
    // Sent with A itself, or alone: it passes, and the report names the bytes.
    const same = await validate({ signature: b64(sig), document: b64(textA) });
    expect(same.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', signedContent: { source: 'encapsulated', length: textA.length, sha256: sha256(textA) } });
    const detached = opensslSign(rsa, textA, { detached: true });
    const named = await validate({ signature: b64(detached), document: b64(textA) });
    expect(named.signatures[0].signedContent).toEqual({ source: 'document', length: textA.length, sha256: sha256(textA), byteRange: null });
  });
});

describeWithProgram('pdfsig', 'poppler-utils')('defect 1: a detached PDF SubFilter with encapsulated content is FORMAT_FAILURE', () => {
  for (const subFilter of ['adbe.pkcs7.detached', 'ETSI.CAdES.detached'] as const) {
    it(`${subFilter}: an attached CMS over other bytes (was TOTAL_PASSED), or over the signed range itself`, async () => {
      const nss = nssDatabase(rsa, 'rsa', ca);
      const forged = cadesPdf(minimalPdf(), rsa, 'forged', { subFilter, attached: textA });
      if (hasProgram('qpdf')) expect(qpdfReadable(forged)).toBe(true);
      const pdfsig = await pdfsigVerify(forged, nss);
      expect(pdfsig[0].valid).toBe(false); // pdfsig: Digest Mismatch
      const report = await validatePdfJson(forged);
      expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', signer: null });
      expect(report.signatures[0].errors[0]).toMatch(/encapsulates content; a detached PDF signature must not \(ISO 32000-1 §12\.8\.3\.3\)/);
      expect(report.indication).toBe('TOTAL_FAILED');
      // Matching content changes nothing: the SubFilter says detached.
      const matching = cadesPdf(minimalPdf(), rsa, 'attached', { subFilter, attached: 'range' });
      expect((await validatePdfJson(matching)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
      // The honest detached one passes and names its ByteRange.
      const honest = await validatePdfJson(cadesPdf(minimalPdf(), rsa, 'honest', { subFilter }));
      expect(honest.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', signedContent: { source: 'byte-range' } });
      expect(honest.signatures[0].signedContent.byteRange).toHaveLength(4);
    });
  }
});

async function validatePdfJson(pdf: Buffer): Promise<ReportBody> {
  return validate({ document: b64(pdf) });
}

describeWithProgram('faketime', 'faketime')('defect 2: time comes only from proof', () => {
  it('revoked for keyCompromise, then a signature backdated before the revocation (faketime): REVOKED_NO_POE (was TOTAL_PASSED)', async () => {
    const mallory = await issueSigner(t, dir, 'mallory', 'rsa', '094185000033');
    await new Promise((r) => setTimeout(r, 2100));
    const revokedAt = await revoke(mallory, 'keyCompromise');
    const backdated = new Date(revokedAt.getTime() - 1500);
    const sig = opensslSign(mallory, textA, { faketime: utc(backdated) });
    const report = await validate({ signature: b64(sig) });
    const [s] = report.signatures;
    expect(Date.parse(s.claimedTimes.signingTime!)).toBeLessThan(revokedAt.getTime());
    expect(s).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', validationTimeSource: 'current', poe: null });
    // The caller's validationTime is a claim too.
    const asked = await validate({ signature: b64(sig), validationTime: backdated.toISOString() });
    expect(asked.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', claimedTimes: { requestedValidationTime: backdated.toISOString() } });
  });

  it('a certificate that expired in 2024 "signing in 2023" (faketime): OUT_OF_BOUNDS_NO_POE, with or without a past validationTime', async () => {
    const past = pastCertificate('2022-01-01 00:00:00', '2023-01-01 00:00:00', 365);
    const [root] = await t.service.validation.trust.add('test:operator', readFileSync(past.root), 'anchor', 'past root');
    const sig = opensslSign(past.signer, textA, { faketime: '2023-06-01 12:00:00' });
    expect(opensslVerifies(sig, null, { root: past.root, issuing: past.root })).toBe(false); // expired now
    const report = await validate({ signature: b64(sig) });
    expect(report.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'OUT_OF_BOUNDS_NO_POE', claimedTimes: { signingTime: '2023-06-01T12:00:00.000Z' } });
    const asked = await validate({ signature: b64(sig), validationTime: '2023-06-01T12:00:00Z' });
    expect(asked.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'OUT_OF_BOUNDS_NO_POE' });
    await t.service.validation.trust.remove('test:operator', root.sha256);
  });

  it('time-stamped before the revocation by a trusted TSA: passes; by an untrusted TSA: REVOKED_NO_POE; a supplied token counts', async () => {
    const carol = await issueSigner(t, dir, 'carol', 'ec', '094185000034');
    const stamped = await withTimestamp(opensslSign(carol, textA, { detached: true }), tsa);
    const rogue = opensslTsa();
    const rogueStamped = await withTimestamp(opensslSign(carol, textA, { detached: true }), rogue);
    const plain = opensslSign(carol, textA, { detached: true });
    const token = timestampToken(signatureValueOf(plain), tsa);
    await new Promise((r) => setTimeout(r, 1100));
    await revoke(carol, 'affiliationChanged');

    const good = await validate({ signature: b64(stamped), document: b64(textA) });
    expect(good.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', validationTimeSource: 'timestamp', poe: { source: 'signature-timestamp' } });
    expect(good.signatures[0].warnings.join(' ')).toMatch(/revoked at .* after the proven time/);
    const untrusted = await validate({ signature: b64(rogueStamped), document: b64(textA) });
    expect(untrusted.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', poe: null, timestamp: { subIndication: 'NO_CERTIFICATE_CHAIN_FOUND' } });
    const noToken = await validate({ signature: b64(plain), document: b64(textA) });
    expect(noToken.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' });
    const supplied = await validate({ signature: b64(plain), document: b64(textA), timestamps: [b64(token)] });
    expect(supplied.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', poe: { source: 'supplied-timestamp' } });
    // A token over another signature value is not this signature's proof.
    const other = await validate({ signature: b64(plain), document: b64(textA), timestamps: [b64(timestampToken(Buffer.from('another value'), tsa))] });
    expect(other.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE' });
  });

  it('a time-stamp after the revocation proves the signature was made after it: TOTAL_FAILED / REVOKED', async () => {
    const dave = await issueSigner(t, dir, 'dave', 'rsa', '094185000035');
    await revoke(dave, 'keyCompromise');
    await new Promise((r) => setTimeout(r, 1100));
    const sig = await withTimestamp(opensslSign(dave, textA), tsa);
    const report = await validate({ signature: b64(sig) });
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'REVOKED', validationTimeSource: 'timestamp' });
  });
});

const describePdf = hasProgram('pdfsig') && hasProgram('qpdf') ? describe : describeWithProgram(hasProgram('pdfsig') ? 'qpdf' : 'pdfsig', hasProgram('pdfsig') ? 'qpdf' : 'poppler-utils');
describePdf('defect 4: changes after signing reach the verdict', () => {
  it('text appended in an incremental update (qpdf reads it, pdfsig: not total): the document is INDETERMINATE (was TOTAL_PASSED)', async () => {
    const nss = nssDatabase(rsa, 'rsa', ca);
    const signed = pdfsigSign(minimalPdf(), nss, 'rsa', 'sig1');
    const appended = appendUpdate(signed, [[4, '<< /Length 44 >>\nstream\nBT /F1 18 Tf 72 700 Td (Da huy bo) Tj ET\nendstream']], 8);
    expect(qpdfReadable(appended)).toBe(true);
    expect(qpdfObject(appended, '4', true)).toContain('Da huy bo'); // what a reader shows now
    expect((await pdfsigVerify(appended, nss))[0]).toMatchObject({ valid: true, total: false });
    const report = await validatePdfJson(appended);
    expect(report.signatures[0].indication).toBe('TOTAL_PASSED');
    expect(report.document).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIG_CONSTRAINTS_FAILURE' });
    expect(report.document?.changes).toEqual([expect.objectContaining({ kind: 'other', allowed: false, afterSignatures: ['S1'], signedBy: [] })]);
    expect(report.document?.changes[0].objects[0]).toMatch(/4 0 obj: .*existing object redefined/);
    expect(report.indication).toBe('INDETERMINATE');
  });

  it('a ByteRange that stops short of the end of its revision: INDETERMINATE (pdfsig: not total)', async () => {
    const nss = nssDatabase(rsa, 'rsa', ca);
    const short = cadesPdf(minimalPdf(), rsa, 'short', { shortBy: 40 });
    expect((await pdfsigVerify(short, nss))[0]).toMatchObject({ valid: true, total: false });
    const report = await validatePdfJson(short);
    expect(report.document).toMatchObject({ indication: 'INDETERMINATE' });
    expect(report.document?.changes[0]).toMatchObject({ kind: 'other', allowed: false });
    expect(report.document?.changes[0].objects[0]).toMatch(/stops short/);
    expect(report.indication).toBe('INDETERMINATE');
  });

  it('an annotation added after an approval signature is allowed; under DocMDP P=2 it is not, P=3 allows it; P=1 forbids a second signature', async () => {
    const annot: Array<[number, string]> = [
      [9, '<< /Type /Annot /Subtype /Text /Rect [100 100 120 120] /Contents (Ghi chu) /P 3 0 R >>'],
      [3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [7 0 R 9 0 R] >>'],
    ];
    const docMdp = (p: number) => ` /Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P ${p} /V /1.2 >> >>]`;
    const approval = appendUpdate(cadesPdf(minimalPdf(), rsa, 'approve'), annot, 10);
    expect(qpdfReadable(approval)).toBe(true);
    const a = await validatePdfJson(approval);
    expect(a.document).toMatchObject({ indication: 'TOTAL_PASSED', certification: null });
    expect(a.document?.changes[0]).toMatchObject({ kind: 'annotation', allowed: true });
    const p2 = await validatePdfJson(appendUpdate(cadesPdf(minimalPdf(), rsa, 'certify', { extra: docMdp(2) }), annot, 10));
    expect(p2.document).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CONSTRAINTS_FAILURE', certification: { signature: 'S1', permissions: 2 } });
    expect(p2.indication).toBe('TOTAL_FAILED');
    const p3 = await validatePdfJson(appendUpdate(cadesPdf(minimalPdf(), rsa, 'certify', { extra: docMdp(3) }), annot, 10));
    expect(p3.document).toMatchObject({ indication: 'TOTAL_PASSED' });
    const nss = nssDatabase(rsa, 'rsa', ca);
    const certified = cadesPdf(minimalPdf(), rsa, 'certify', { extra: docMdp(1) });
    const countersigned = await validatePdfJson(pdfsigSign(certified, nss, 'rsa', 'sig2'));
    expect(countersigned.signatures.map((s) => s.indication)).toEqual(['TOTAL_PASSED', 'TOTAL_PASSED']);
    expect(countersigned.document).toMatchObject({ indication: 'TOTAL_FAILED', certification: { permissions: 1 } });
    expect(countersigned.document?.changes.find((c) => !c.allowed)?.reason).toMatch(/DocMDP P=1/);
    const twice = await validatePdfJson(pdfsigSign(cadesPdf(minimalPdf(), rsa, 'certify', { extra: docMdp(2) }), nss, 'rsa', 'sig2'));
    expect(twice.document).toMatchObject({ indication: 'TOTAL_PASSED' });
  });
});

describeWithProgram('openssl', 'openssl')('defect 5: policy and countersignatures', () => {
  it('SHA-1 under the default policy: INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE_NO_POE (was TOTAL_PASSED); the legacy policy warns', async () => {
    const sig = opensslSign(rsa, textA, { md: 'sha1' });
    expect(opensslVerifies(sig, null, ca)).toBe(true);
    const report = await validate({ signature: b64(sig) });
    expect(report).toMatchObject({ policy: 'default', indication: 'INDETERMINATE' });
    expect(report.signatures[0]).toMatchObject({ subIndication: 'CRYPTO_CONSTRAINTS_FAILURE_NO_POE', algorithms: { weak: true } });
    const legacy = await validate({ signature: b64(sig), policy: 'legacy' });
    expect(legacy).toMatchObject({ policy: 'legacy', indication: 'TOTAL_PASSED' });
    expect(legacy.signatures[0].warnings.join(' ')).toMatch(/SHA-1: weak/);
    const unknown = await api.call('POST', '/api/v1/signatures/validate', { signature: b64(sig), policy: 'lax' });
    expect(unknown.status).toBe(400);
  });

  it('an RFC 5652 countersignature made with openssl is validated and reported; a broken one fails the signature', async () => {
    const parent = opensslSign(rsa, textA);
    const countersigned = withCounterSignature(parent, ec);
    expect(opensslVerifies(countersigned, null, ca)).toBe(true);
    const report = await validate({ signature: b64(countersigned) });
    expect(report.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED' });
    expect(report.signatures[0].counterSignatures).toEqual([expect.objectContaining({ indication: 'TOTAL_PASSED', signer: expect.objectContaining({ name: 'Người Ký ec' }) })]);
    const broken = await validate({ signature: b64(withCounterSignature(parent, ec, true)) });
    expect(broken.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
    expect(broken.signatures[0].counterSignatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
  });
});
