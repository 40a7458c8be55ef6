import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../../support/test-app.js';
import { apiClient, tmp } from '../../support/ca-helpers.js';
import { describeWithProgram } from '../../support/system-tools.js';
import { b64, caFiles, issueSigner, type ReportBody, type Signer } from './validation-support.js';
import { ALG, invoice, signatureTemplate, xmlsecSign, xmlsecVerifies } from './xml-support.js';

/**
 * Issue 22, acceptance 1 and 2: XML signed by Debian's xmlsec1 with certificates of our own CA,
 * validated through the API; our cryptographic verdict must agree with `xmlsec1 --verify`.
 */
let t: TestService;
let api: Awaited<ReturnType<typeof apiClient>>;
let ca: { root: string; issuing: string; issuingPem: string };
let rsa: Signer;
let ec: Signer;

beforeAll(async () => {
  t = await startTestService();
  api = await apiClient(t, 'invoice-system', ['signatures:validate']);
  const dir = tmp('tinnhiem-xml-');
  ca = await caFiles(t, dir);
  rsa = await issueSigner(t, dir, 'rsa', 'rsa', '094185000061');
  ec = await issueSigner(t, dir, 'ec', 'ec', '094185000062');
});
afterAll(async () => {
  await t?.close();
});

export type XmlReport = ReportBody & { signatures: Array<ReportBody['signatures'][number] & { xml: { role: string | null; profile: string; references: Array<{ uri: string; covers: { id: string | null; path: string } | null; digestMatches: boolean | null }> } }> };

async function validateXml(xml: Buffer | string, extra: Record<string, unknown> = {}): Promise<XmlReport> {
  const res = await api.call('POST', '/api/v1/signatures/validate', { kind: 'xml', document: b64(Buffer.from(xml)), ...extra });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as XmlReport;
}

const seller = (o: { c14n?: string; method?: string; transforms?: string[]; digest?: string; uri?: string } = {}) =>
  signatureTemplate({ id: 'seller', c14n: o.c14n, method: o.method, refs: [{ uri: o.uri ?? '#data', transforms: o.transforms ?? [ALG.c14n], digest: o.digest }] });

const crypto = (s: { subIndication: string | null; indication: string }) => !['HASH_FAILURE', 'SIG_CRYPTO_FAILURE', 'FORMAT_FAILURE'].includes(s.subIndication ?? '');

describeWithProgram('xmlsec1', 'xmlsec1')('XML signatures agree with xmlsec1 --verify (issue 22, acceptance 1)', () => {
  const cases: Array<{ name: string; key: 'rsa' | 'ec'; c14n?: string; method?: string; transforms?: string[]; digest?: string; comment?: boolean; expect?: string }> = [
    { name: 'enveloped RSA-SHA256, C14N 1.0', key: 'rsa', transforms: [ALG.enveloped, ALG.c14n] },
    { name: 'ECDSA-SHA256, C14N 1.0', key: 'ec', method: ALG.ecdsaSha256 },
    { name: 'ECDSA-SHA384, exclusive C14N, SHA-512 digest', key: 'ec', method: ALG.ecdsaSha384, c14n: ALG.exc, transforms: [ALG.exc], digest: ALG.sha512 },
    { name: 'RSA-SHA256, exclusive C14N', key: 'rsa', c14n: ALG.exc, transforms: [ALG.enveloped, ALG.exc] },
    { name: 'RSA-SHA256, C14N 1.1', key: 'rsa', c14n: ALG.c14n11, transforms: [ALG.c14n11] },
    { name: 'RSA-SHA512, C14N with comments (a comment in the data, dropped by the #Id dereference)', key: 'rsa', method: ALG.rsaSha512, c14n: ALG.c14nComments, transforms: [ALG.c14nComments], comment: true },
    { name: 'RSA-SHA512, exclusive C14N with comments', key: 'rsa', method: ALG.rsaSha512, c14n: ALG.excComments, transforms: [ALG.excComments], comment: true },
    { name: 'RSA-SHA1 (weak: refused by the default policy without a time-stamp)', key: 'rsa', method: ALG.rsaSha1, digest: ALG.sha1, expect: 'CRYPTO_CONSTRAINTS_FAILURE_NO_POE' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const signer = c.key === 'rsa' ? rsa : ec;
      const signed = xmlsecSign(invoice({ seller: seller(c), comment: c.comment }), signer);
      expect(xmlsecVerifies(signed, ca)).toBe(true);
      const good = await validateXml(signed);
      const [s] = good.signatures;
      if (c.expect) expect(s).toMatchObject({ indication: 'INDETERMINATE', subIndication: c.expect, algorithms: { weak: true } });
      else expect(s).toMatchObject({ indication: 'TOTAL_PASSED', format: 'XMLDSig', signer: { name: `Người Ký ${c.key}` } });
      expect(good.documentType).toBe('xml');
      expect(s.xml).toMatchObject({ profile: 'e-invoice', role: 'seller', references: [{ uri: '#data', covers: { id: 'data', path: '/HDon[1]/DLHDon[1]' }, digestMatches: true }] });
      if (c.expect) expect((await validateXml(signed, { policy: 'legacy' })).signatures[0].indication).toBe('TOTAL_PASSED');

      // The content changed: xmlsec1 refuses, we say HASH_FAILURE.
      const changed = Buffer.from(signed.toString('utf8').replace('11000000', '91000000'));
      expect(xmlsecVerifies(changed, ca)).toBe(false);
      expect((await validateXml(changed)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'HASH_FAILURE' });

      // The SignatureValue changed: xmlsec1 refuses, we say SIG_CRYPTO_FAILURE.
      const text = signed.toString('utf8');
      const value = /<SignatureValue>([^<]+)<\/SignatureValue>/.exec(text)![1].replace(/\s+/g, '');
      const bytes = Buffer.from(value, 'base64');
      bytes[bytes.length - 3] ^= 0x55;
      const forged = Buffer.from(text.replace(/<SignatureValue>[^<]+<\/SignatureValue>/, `<SignatureValue>${bytes.toString('base64')}</SignatureValue>`));
      expect(xmlsecVerifies(forged, ca)).toBe(false);
      const f = (await validateXml(forged)).signatures[0];
      expect(f).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
      expect(crypto(f)).toBe(xmlsecVerifies(forged, ca));
    });
  }

  it('whole-document enveloped (URI="") and enveloping (a ds:Object) signatures of a generic document', async () => {
    const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<ns:VanBan xmlns:ns="urn:example:edoc"><ns:SoKyHieu>12/QĐ-UBND</ns:SoKyHieu>${signatureTemplate({ id: 'whole', refs: [{ uri: '', transforms: [ALG.enveloped, ALG.exc] }] })}</ns:VanBan>\n`;
    const whole = xmlsecSign(doc, rsa);
    expect(xmlsecVerifies(whole, ca)).toBe(true);
    const w = await validateXml(whole);
    expect(w.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', xml: { profile: 'xmldsig', role: null, references: [{ uri: '', covers: { id: null, path: '/' }, digestMatches: true }] } });
    const changed = Buffer.from(whole.toString('utf8').replace('12/QĐ', '13/QĐ'));
    expect(xmlsecVerifies(changed, ca)).toBe(false);
    expect((await validateXml(changed)).signatures[0].subIndication).toBe('HASH_FAILURE');

    const enveloping = xmlsecSign(signatureTemplate({ id: 'env', method: ALG.ecdsaSha256, refs: [{ uri: '#payload', transforms: [ALG.exc] }], object: '<Object Id="payload"><Data>Công văn số 45</Data></Object>' }), ec, { idAttrs: [`http://www.w3.org/2000/09/xmldsig#:Object`] });
    expect(xmlsecVerifies(enveloping, ca)).toBe(true);
    const e = await validateXml(enveloping);
    expect(e.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', xml: { references: [{ covers: { id: 'payload', path: '/Signature[1]/Object[1]' } }] } });
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('signature wrapping is FORMAT_FAILURE (issue 22, acceptance 2)', () => {
  it('the signed DLHDon moved away and a forged one in its place: xmlsec1 still verifies, we refuse', async () => {
    const signed = xmlsecSign(invoice({ seller: seller() }), rsa).toString('utf8');
    const original = /<DLHDon Id="data">[\s\S]*?<\/DLHDon>/.exec(signed)![0];
    const forgedData = original.replace(' Id="data"', ' Id="forged"').replace('11000000', '99000000');
    const wrapped = signed.replace(original, forgedData).replace('<DSCKS>', `<TTKhac>${original}</TTKhac><DSCKS>`);
    expect(xmlsecVerifies(wrapped, ca)).toBe(true); // cryptographically it holds: the moved element is intact
    const r = await validateXml(wrapped);
    expect(r.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', xml: { references: [{ covers: { id: 'data', path: '/HDon[1]/TTKhac[1]/DLHDon[1]' }, digestMatches: true }] } });
    expect(r.signatures[0].errors.join(' ')).toMatch(/exactly one DLHDon/);
  });

  it('a duplicate Id (the forged DLHDon carries the signed one\'s Id) anywhere in the document', async () => {
    const signed = xmlsecSign(invoice({ seller: seller() }), rsa).toString('utf8');
    const original = /<DLHDon Id="data">[\s\S]*?<\/DLHDon>/.exec(signed)![0];
    const forgedFirst = signed.replace(original, original.replace('11000000', '99000000')).replace('<DSCKS>', `<TTKhac><Ban Id="data">${original}</Ban></TTKhac><DSCKS>`);
    const r = await validateXml(forgedFirst);
    expect(r.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
    expect(r.signatures[0].errors[0]).toMatch(/"data" occurs more than once/);
    // Even in an otherwise harmless place (a second element with the Id of the signature).
    const dup = signed.replace('<MCCQT Id="mccqt">', '<MCCQT Id="seller">');
    expect((await validateXml(dup)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
  });

  it('the seller\'s reference to an element other than the invoice data, or to the whole document', async () => {
    const other = xmlsecSign(invoice({ seller: seller({ uri: '#mccqt' }) }), rsa);
    expect(xmlsecVerifies(other, ca)).toBe(true);
    const r = await validateXml(other);
    expect(r.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
    expect(r.signatures[0].errors.join(' ')).toMatch(/references \/HDon\[1\]\/MCCQT\[1\]/);
    const whole = xmlsecSign(invoice({ seller: seller({ uri: '', transforms: [ALG.enveloped, ALG.c14n] }) }), rsa);
    expect(xmlsecVerifies(whole, ca)).toBe(true);
    expect((await validateXml(whole)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE' });
  });
});

/**
 * RSA-PSS (RFC 6931 sha256-rsa-MGF1): Debian's xmlsec1 1.2.37 has no RSA-PSS, so xmlsec1 makes
 * the digests (signing with rsa-sha256), then the SignedInfo is rewritten for PSS and signed by
 * `openssl dgst` over its exclusive-C14N form, written out by hand from the text (a SignedInfo
 * with only default-namespace elements, one attribute each: the canonical form is the text with
 * the namespace on SignedInfo and empty elements as start/end tag pairs).
 */
describeWithProgram('xmlsec1', 'xmlsec1')('RSA-PSS XML signatures', () => {
  it('pass with the right salt length; a PSS value under another salt or PKCS#1 v1.5 fails', async () => {
    const signed = xmlsecSign(invoice({ seller: seller({ c14n: ALG.exc, transforms: [ALG.exc] }) }), rsa).toString('utf8');
    const pssUri = 'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1';
    const rewritten = signed.replace(ALG.rsaSha256, pssUri);
    const signedInfo = /<SignedInfo>[\s\S]*<\/SignedInfo>/.exec(rewritten)![0];
    const canonical = signedInfo.replace('<SignedInfo>', '<SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">').replace(/<(\w+)([^<>]*?)\/>/g, '<$1$2></$1>');
    const sign = (salt: number) => {
      const d = tmp('tinnhiem-pss-');
      const input = join(d, 'si.xml');
      writeFileSync(input, canonical);
      return execFileSync('openssl', ['dgst', '-sha256', '-sign', rsa.key, '-sigopt', 'rsa_padding_mode:pss', '-sigopt', `rsa_pss_saltlen:${salt}`, '-binary', input]);
    };
    const withValue = (v: Buffer) => rewritten.replace(/<SignatureValue>[^<]+<\/SignatureValue>/, `<SignatureValue>${v.toString('base64')}</SignatureValue>`);
    const good = await validateXml(withValue(sign(32)));
    expect(good.signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', algorithms: { signature: 'rsa-pss-sha256-mgf1' } });
    expect((await validateXml(withValue(sign(20)))).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
    // The PKCS#1 v1.5 value xmlsec1 made does not pass as PSS.
    expect((await validateXml(rewritten)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'SIG_CRYPTO_FAILURE' });
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('XML through multipart and application/xml', () => {
  it('the same invoice gives the same verdict as JSON, multipart (kind=xml) and application/xml', async () => {
    const signed = xmlsecSign(invoice({ seller: seller() }), rsa);
    const form = new FormData();
    form.set('kind', 'xml');
    form.set('document', new Blob([new Uint8Array(signed)], { type: 'application/xml' }), 'hoadon.xml');
    const multipart = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { authorization: `Bearer ${api.token}` }, body: form });
    expect(multipart.status).toBe(200);
    expect(await multipart.json()).toMatchObject({ documentType: 'xml', indication: 'TOTAL_PASSED', signatures: [{ xml: { role: 'seller' } }] });
    const raw = await fetch(`${t.url}/api/v1/signatures/validate`, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'text/xml; charset=utf-8' }, body: new Uint8Array(signed) });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toMatchObject({ documentType: 'xml', indication: 'TOTAL_PASSED' });
    // Without kind, an XML document alone is detected.
    expect((await api.call('POST', '/api/v1/signatures/validate', { document: b64(signed) })).body).toMatchObject({ documentType: 'xml', indication: 'TOTAL_PASSED' });
  });
});

describeWithProgram('xmlsec1', 'xmlsec1')('constructs we refuse to process (each one xmlsec1 accepts)', () => {
  it('an XPath transform: INDETERMINATE / FORMAT_FAILURE, never evaluated', async () => {
    const xpath = 'http://www.w3.org/TR/1999/REC-xpath-19991116';
    const template = invoice({ seller: seller({ transforms: [ALG.c14n] }) }).replace(`<Transform Algorithm="${ALG.c14n}"/>`, `<Transform Algorithm="${xpath}"><XPath>not(ancestor-or-self::TToan)</XPath></Transform>`);
    const signed = xmlsecSign(template, rsa);
    expect(xmlsecVerifies(signed, ca)).toBe(true);
    const r = await validateXml(signed);
    expect(r.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'FORMAT_FAILURE' });
    expect(r.signatures[0].errors.join(' ')).toMatch(/transforms .* are not supported/);
  });

  it('a reference outside the document is not fetched: INDETERMINATE / SIGNED_DATA_NOT_FOUND', async () => {
    const signed = xmlsecSign(invoice({ seller: seller() }), rsa).toString('utf8').replace('URI="#data"', 'URI="http://127.0.0.1:9/hoadon.xml"');
    // Outside the e-invoice profile (where any reference but DLHDon is a FORMAT_FAILURE first).
    const r = await validateXml(signed.replace(/<(\/?)HDon([ >])/g, '<$1HoSo$2'));
    expect(r.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'SIGNED_DATA_NOT_FOUND', xml: { profile: 'xmldsig' } });
    expect((await validateXml(signed)).signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', xml: { profile: 'e-invoice' } });
    expect(r.signatures[0].errors.join(' ')).toMatch(/only same-document references/);
  });

  it('XAdES: SignedProperties no reference covers, or a SigningCertificateV2 naming another certificate', async () => {
    const { qualifyingProperties, XADES } = await import('./xml-support.js');
    const uncovered = xmlsecSign(invoice({ seller: signatureTemplate({ id: 'u', refs: [{ uri: '#data', transforms: [ALG.c14n] }], object: qualifyingProperties('u', rsa.pem) }) }), rsa);
    expect(xmlsecVerifies(uncovered, ca)).toBe(true);
    const u = await validateXml(uncovered);
    expect(u.signatures[0]).toMatchObject({ indication: 'TOTAL_FAILED', subIndication: 'FORMAT_FAILURE', format: 'XAdES-BES' });
    expect(u.signatures[0].errors.join(' ')).toMatch(/no Reference covers the SignedProperties/);
    const refs = [{ uri: '#data', transforms: [ALG.c14n] }, { uri: '#o-sp', type: 'http://uri.etsi.org/01903#SignedProperties', transforms: [ALG.c14n] }];
    const other = xmlsecSign(invoice({ seller: signatureTemplate({ id: 'o', refs, object: qualifyingProperties('o', ec.pem) }) }), rsa, { idAttrs: ['DLHDon', `${XADES}:SignedProperties`] });
    expect(xmlsecVerifies(other, ca)).toBe(true);
    const o = await validateXml(other);
    expect(o.signatures[0]).toMatchObject({ indication: 'INDETERMINATE', subIndication: 'NO_SIGNING_CERTIFICATE_FOUND', signedAttributes: { signingCertificate: 'mismatch' } });
    const right = xmlsecSign(invoice({ seller: signatureTemplate({ id: 'o', refs, object: qualifyingProperties('o', rsa.pem) }) }), rsa, { idAttrs: ['DLHDon', `${XADES}:SignedProperties`] });
    expect((await validateXml(right)).signatures[0]).toMatchObject({ indication: 'TOTAL_PASSED', format: 'XAdES-BES', signedAttributes: { signingCertificate: 'match' } });
  });
});
