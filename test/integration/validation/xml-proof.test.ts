import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { timestampToken } from './proof-support.js';
import { b64, caFiles, issueSigner, opensslTsa, type ReportBody, type Signer } from './validation-support.js';
import { ALG, canonicalSignatureValue, invoice, qualifyingProperties, signatureTemplate, withSignatureTimestamp, XADES, xmlsecSign, xmlsecVerifies } from './xml-support.js';

/**
 * Issue 22, acceptance 3 and 4: XML attacks get a 400 while the server keeps answering; an
 * invoice with the seller's and the tax authority's signatures gives two reports; a XAdES-T
 * signature time-stamp is the proof of existence that makes a signer revoked later pass.
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let dir: string;
let ca: { root: string; issuing: string; issuingPem: string };
let seller: Signer;
let authority: Signer;

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'invoice-system', ['signatures:validate']);
  dir = tmp('tinnhiem-xmlproof-');
  ca = await caFiles(t, dir);
  seller = await issueSigner(t, dir, 'seller', 'rsa', '094185000071');
  authority = await issueSigner(t, dir, 'cqt', 'ec', '094185000072');
});
afterAll(async () => {
  await t?.close();
});

type XmlReport = ReportBody & { summary: { total: number; passed: number; failed: number; indeterminate: number }; signatures: Array<ReportBody['signatures'][number] & { xml: { role: string | null; xades: { policy: { identifier: string | null } | null; signingTime: string | null } | null } }> };

async function validateXml(xml: Buffer | string): Promise<XmlReport> {
  const res = await api.call('POST', '/api/v1/signatures/validate', { kind: 'xml', document: b64(Buffer.from(xml)) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as XmlReport;
}

async function postXml(xml: string | Buffer): Promise<{ status: number; body: { type?: string; detail?: string }; ms: number }> {
  const started = performance.now();
  const r = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/xml' }, body: typeof xml === 'string' ? xml : new Uint8Array(xml) });
  return { status: r.status, body: (await r.json()) as { type?: string; detail?: string }, ms: performance.now() - started };
}

const NBAN = "/HDon/DSCKS/NBan/*[local-name()='Signature']";
const CQT = "/HDon/DSCKS/CQT/*[local-name()='Signature']";

describeWithProgram('xmlsec1', 'xmlsec1')('XML attacks are refused (issue 22, acceptance 3)', () => {
  const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)].join('');
  const attacks: Array<[string, string]> = [
    ['an XML bomb (billion laughs)', `<?xml version="1.0"?><!DOCTYPE HDon [${lol}]><HDon><DLHDon Id="data">&lol9;</DLHDon></HDon>`],
    ['an external entity', '<?xml version="1.0"?><!DOCTYPE HDon [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><HDon><DLHDon Id="data">&xxe;</DLHDon></HDon>'],
    ['a DTD (external subset)', '<?xml version="1.0"?><!DOCTYPE HDon SYSTEM "http://127.0.0.1:9/hdon.dtd"><HDon/>'],
    ['an undeclared entity reference', '<HDon><DLHDon Id="data">&xxe;</DLHDon></HDon>'],
    ['a 200,000-deep document', `${'<a>'.repeat(200_000)}${'</a>'.repeat(200_000)}`],
    ['a million empty elements', `<a>${'<b/>'.repeat(1_000_000)}</a>`],
    ['an element with 100,000 attributes (quadratic duplicate checks)', `<a ${Array.from({ length: 100_000 }, (_, i) => `a${i}=""`).join(' ')}/>`],
  ];
  for (const [name, xml] of attacks) {
    it(`${name}: 400 within the time budget, while the server answers other requests`, async () => {
      const other = async () => {
        const started = performance.now();
        const r = await fetch(`${t.url}/healthz`);
        return { status: r.status, ms: performance.now() - started };
      };
      const [attack, ...others] = await Promise.all([postXml(xml), other(), other(), other()]);
      expect(attack.status).toBe(400);
      expect(attack.body.type).toMatch(/bad-signature-input/);
      expect(attack.ms).toBeLessThan(5_000); // the budget is 20 s; the scan takes milliseconds
      for (const o of others) {
        expect(o.status).toBe(200);
        expect(o.ms).toBeLessThan(5_000);
      }
    });
  }

  it('the refusals name the reason', async () => {
    expect((await postXml(attacks[0][1])).body.detail).toMatch(/DTD/);
    expect((await postXml(attacks[4][1])).body.detail).toMatch(/nested more than 100 deep/);
    expect((await postXml(attacks[5][1])).body.detail).toMatch(/more than 5000 elements/);
    expect((await postXml(attacks[6][1])).body.detail).toMatch(/more than 64 attributes/);
    // Also as JSON with kind "xml" and as a PDF-less document without kind (detected as XML).
    const res = await api.call('POST', '/api/v1/signatures/validate', { document: b64(Buffer.from(attacks[1][1])) });
    expect(res.status).toBe(400);
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('the largest invoice accepted', () => {
  it('about 5,000 elements validate while /healthz keeps answering', async () => {
    const items = Array.from({ length: 1_200 }, (_, i) => `<HHDVu><STT>${i + 1}</STT><THHDVu>Hàng hoá ${i}</THHDVu><DGia>1000</DGia></HHDVu>`).join('');
    const template = invoice({ seller: signatureTemplate({ id: 'big', refs: [{ uri: '#data', transforms: [ALG.exc] }] }) }).replace('<NDHDon>', `<NDHDon><DSHHDVu>${items}</DSHHDVu>`);
    const signed = xmlsecSign(template, seller);
    let polling = true;
    let slowest = 0;
    const poll = (async () => {
      while (polling) {
        const started = performance.now();
        await fetch(`${t.url}/healthz`);
        slowest = Math.max(slowest, performance.now() - started);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = performance.now();
    const r = await validateXml(signed);
    const took = performance.now() - started;
    polling = false;
    await poll;
    expect(r.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED' });
    process.stderr.write(`largest invoice: ${signed.length} bytes validated in ${took.toFixed(0)} ms; slowest /healthz meanwhile ${slowest.toFixed(0)} ms (machine shared)\n`);
    // The event loop is not held for the whole validation: on a loaded machine both stretch, so
    // the bound is 3 s or three quarters of the validation's own time, whichever is longer.
    expect(slowest).toBeLessThan(Math.max(3_000, took * 0.75));
    // A few hundred elements more and it is refused before parsing.
    const over = template.replace('<NDHDon>', `<NDHDon>${'<x/>'.repeat(300)}`);
    expect((await postXml(over)).status).toBe(400);
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('an invoice with the seller\'s and the tax authority\'s signatures (issue 22, acceptance 4)', () => {
  it('gives two reports, each naming its role and what it covers; xmlsec1 verifies both', async () => {
    const template = invoice({
      seller: signatureTemplate({ id: 'seller', refs: [{ uri: '#data', transforms: [ALG.exc] }] }),
      taxAuthority: signatureTemplate({ id: 'cqt', method: ALG.ecdsaSha256, refs: [{ uri: '#data', transforms: [ALG.exc] }, { uri: '#mccqt', transforms: [ALG.exc] }] }),
    });
    const bySeller = xmlsecSign(template, seller, { xpath: NBAN });
    const both = xmlsecSign(bySeller.toString('utf8'), authority, { xpath: CQT });
    expect(xmlsecVerifies(both, ca, NBAN)).toBe(true);
    expect(xmlsecVerifies(both, ca, CQT)).toBe(true);
    const r = await validateXml(both);
    expect(r.signatures).toHaveLength(2);
    expect(r.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', signer: { name: 'Người Ký seller' }, xml: { role: 'seller', references: [{ covers: { path: '/HDon[1]/DLHDon[1]' } }] } });
    expect(r.signatures[1]).toMatchObject({ indication: 'TOTAL_PASSED', signer: { name: 'Người Ký cqt' }, xml: { role: 'tax-authority', references: [{ covers: { path: '/HDon[1]/DLHDon[1]' } }, { covers: { id: 'mccqt', path: '/HDon[1]/MCCQT[1]' } }] } });
    expect(r.summary).toEqual({ total: 2, passed: 2, failed: 0, indeterminate: 0 });

    // The tax authority's signature must cover the tax-authority code.
    const noCode = xmlsecSign(invoice({ taxAuthority: signatureTemplate({ id: 'cqt', method: ALG.ecdsaSha256, refs: [{ uri: '#data', transforms: [ALG.exc] }] }) }), authority, { xpath: CQT });
    expect(xmlsecVerifies(noCode, ca, CQT)).toBe(true);
    const bad = await validateXml(noCode);
    expect(bad.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
    expect(bad.signatures[0].errors.join(' ')).toMatch(/does not cover \/HDon\[1\]\/MCCQT\[1\]/);
  });
});

describeWithProgram('openssl', 'openssl')('XAdES-T: the signature time-stamp is the proof of existence (issue 22, acceptance 4)', () => {
  it('a signer revoked after a time-stamped signature passes; without the time-stamp REVOKED_NO_POE', async () => {
    const tsa = opensslTsa();
    await t.service.validation.trust.add('test:operator', readFileSync(join(tsa.dir, 'tsa.pem')), 'anchor', 'test TSA', true);
    const signer = await issueSigner(t, dir, 'xades', 'rsa', '094185000073');
    const template = invoice({
      seller: signatureTemplate({
        id: 'xs',
        c14n: ALG.exc,
        refs: [{ uri: '#data', transforms: [ALG.exc] }, { uri: '#xs-sp', type: 'http://uri.etsi.org/01903#SignedProperties', transforms: [ALG.exc] }],
        object: qualifyingProperties('xs', signer.pem, { policy: true }),
      }),
    });
    const signed = xmlsecSign(template, signer, { idAttrs: ['DLHDon', `${XADES}:SignedProperties`] });
    expect(xmlsecVerifies(signed, ca)).toBe(true);
    const stamped = withSignatureTimestamp(signed, timestampToken(canonicalSignatureValue(signed, 'xs'), tsa));
    expect(xmlsecVerifies(stamped, ca)).toBe(true); // the unsigned properties do not disturb the signature

    const before = await validateXml(stamped);
    expect(before.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', format: 'XAdES-T', validationTimeSource: 'timestamp', poe: { source: 'signature-timestamp' }, timestamp: { indication: 'TOTAL_PASSED', messageImprintMatches: true } });
    expect(before.signatures[0].xml.xades).toMatchObject({ policy: { identifier: 'urn:oid:2.16.704.1.2.1' } });
    expect(before.signatures[0].claimedTimes.signingTime).not.toBeNull();

    await new Promise((r) => setTimeout(r, 1100));
    await t.service.certificates.ca.changeStatus({ actor: 'test:officer', serial: signer.serial, issuerId: signer.issuerId, action: 'revoke', reason: 'superseded' });
    const withStamp = await validateXml(stamped);
    expect(withStamp.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', format: 'XAdES-T', validationTimeSource: 'timestamp' });
    expect(withStamp.signatures[0].revocation[0]).toMatchObject({ source: 'registry', status: 'revoked' });
    const withoutStamp = await validateXml(signed);
    expect(withoutStamp.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', format: 'XAdES-EPES', validationTimeSource: 'current' });

    // A time-stamp over another signature value proves nothing.
    const foreign = withSignatureTimestamp(signed, timestampToken(Buffer.from('another signature'), tsa));
    const f = await validateXml(foreign);
    expect(f.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'REVOKED_NO_POE', timestamp: { messageImprintMatches: false } });
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('mutated signed XML', () => {
  it('every byte-level mutation of a signed XAdES invoice gets a report or a 400, never a 500', async () => {
    const template = invoice({
      seller: signatureTemplate({ id: 'm', c14n: ALG.exc, refs: [{ uri: '#data', transforms: [ALG.enveloped, ALG.exc] }, { uri: '#m-sp', type: 'http://uri.etsi.org/01903#SignedProperties', transforms: [ALG.exc] }], object: qualifyingProperties('m', seller.pem) }),
    });
    const signed = xmlsecSign(template, seller, { idAttrs: ['DLHDon', `${XADES}:SignedProperties`] });
    let state = 22;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const statuses = new Map<number, number>();
    for (let i = 0; i < 150; i++) {
      const m = Buffer.from(signed);
      for (let j = 0; j <= next(3); j++) {
        const at = next(m.length);
        const op = next(3);
        if (op === 0) m[at] = next(256);
        else if (op === 1) m[at] = '<>"=/&#x'.charCodeAt(next(8));
        else m.copyWithin(at, next(m.length));
      }
      const r = await postXml(m);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect([200, 400]).toContain(r.status);
    }
    expect(statuses.get(200)).toBeGreaterThan(0);
  });
});
