import { afterAll, beforeAll, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { AppError } from '../../../src/errors/app-error.js';
import { SignatureValidationReportSchema } from '../../../src/validation/report.js';
import type { SignatureInput } from '../../../src/validation/signature-validator.js';
import { b64, cadesPdf, caFiles, issueSigner, minimalPdf, nssDatabase, opensslSign, pdfsigSign } from './validation-support.js';

/**
 * Acceptance 5 of issue 6: thousands of mutated CMS signatures and signed PDFs. Every one gets
 * a report that matches the published schema, or a 4xx problem; never a 500, never a crash.
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let cms: Buffer;
let detached: Buffer;
let pdf: Buffer;
let pades: Buffer;
const data = Buffer.from('Tờ trình số 7/TTr-STC\n'.repeat(20), 'utf8');

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'fuzzer', ['signatures:validate']);
  const dir = tmp('tinnhiem-fuzz-');
  const ca = await caFiles(t, dir);
  const rsa = await issueSigner(t, dir, 'fuzz-rsa', 'rsa', '094185000021');
  const ec = await issueSigner(t, dir, 'fuzz-ec', 'ec', '094185000022');
  cms = opensslSign(ec, data, { certfile: ca.issuing, cades: true });
  detached = opensslSign(rsa, data, { detached: true, pss: true });
  const nss = nssDatabase(rsa, 'fuzz', ca);
  pades = cadesPdf(minimalPdf(), ec, 'pades');
  pdf = pdfsigSign(pades, nss, 'fuzz', 'sig2');
});
afterAll(async () => {
  await t?.close();
});

/** A mutation of `seed`: flipped, overwritten, removed, inserted or duplicated bytes, or a truncation. */
const mutated = (seed: () => Buffer) =>
  fc
    .array(
      fc.oneof(
        fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xff, 0x30, 0x80, 0x81, 0x82, 0x84, 0x3c, 0x3e, 0x28, 0x29, 0x5b, 0x5d, 0x2f, 0x20) }),
        fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
        fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
        fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((ops) => {
      let b = Buffer.from(seed());
      for (const o of ops) {
        if (!b.length) break;
        const at = o.at % b.length;
        if (o.op === 'flip') b[at] ^= 1 << o.bit;
        else if (o.op === 'set') b[at] = o.value;
        else if (o.op === 'cut') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.length)]);
        else if (o.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
        else if (o.op === 'repeat') b = Buffer.concat([b.subarray(0, at + o.length), b.subarray(at)]);
        else b = b.subarray(0, at);
      }
      return b;
    });

async function survives(input: SignatureInput): Promise<'report' | 'problem'> {
  try {
    const report = await t.service.validation.validator.validateSignature(input);
    SignatureValidationReportSchema.parse(report);
    return 'report';
  } catch (err) {
    if (err instanceof AppError && err.status < 500) return 'problem';
    throw err;
  }
}

const describeFuzz = describeWithProgram('pdfsig', 'poppler-utils');
describeFuzz('mutated inputs (acceptance 5)', () => {
  // First: a long in-process run starves keep-alive timers, and a reused socket may be reset.
  it('300 of them through HTTP: 200 or 4xx problem+json, never 5xx', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(() => cms).map((b) => ({ signature: b64(b) })), mutated(() => pdf).map((b) => ({ document: b64(b) }))), async (body) => {
        const res = await api.call('POST', '/api/v1/signatures/validate', body);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
        if (res.status !== 200) expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      }),
      { numRuns: 300, seed: 9 },
    );
    expect(statuses.get(200)).toBeGreaterThan(0);
  });

  it('2,000 mutated attached CMS signatures', async () => {
    const outcomes = { report: 0, problem: 0 };
    await fc.assert(fc.asyncProperty(mutated(() => cms), async (sig) => { outcomes[await survives({ signature: sig })]++; }), { numRuns: 2000, seed: 6 });
    expect(outcomes.report + outcomes.problem).toBe(2000);
    expect(outcomes.report).toBeGreaterThan(100); // many mutations still parse and get a verdict
  });

  it('1,000 mutated detached RSA-PSS signatures and contents', async () => {
    await fc.assert(
      fc.asyncProperty(mutated(() => detached), fc.boolean(), mutated(() => data), async (sig, mutateData, content) => {
        await survives({ signature: sig, document: mutateData ? content : data });
      }),
      { numRuns: 1000, seed: 7 },
    );
  });

  it('1,500 mutated PAdES PDFs and 500 mutated two-signature PDFs (PAdES + pdfsig)', async () => {
    const outcomes = { report: 0, problem: 0 };
    await fc.assert(fc.asyncProperty(mutated(() => pades), async (doc) => { outcomes[await survives({ kind: 'pdf', document: doc })]++; }), { numRuns: 1500, seed: 8 });
    // pdfsig's appearance embeds a font (≈ 0.5 MB a signature): fewer runs of the big file.
    await fc.assert(fc.asyncProperty(mutated(() => pdf), async (doc) => { outcomes[await survives({ kind: 'pdf', document: doc })]++; }), { numRuns: 500, seed: 10 });
    expect(outcomes.report + outcomes.problem).toBe(2000);
    expect(outcomes.report).toBeGreaterThan(1000);
  });

});
