import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CmsFormatError, parseCms } from '../../../src/validation/cms.js';

/** A SignedData whose encapsulated content is the given OCTET STRING. */
function signedDataWith(eContent: asn1js.OctetString): Uint8Array {
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1', eContent }),
    signerInfos: [],
  });
  const info = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

describe('CMS parsing of the encapsulated content (X.690 §8.7.3)', () => {
  it('joins the segments of a constructed OCTET STRING', () => {
    const segmented = new asn1js.OctetString({ isConstructed: true, value: [new asn1js.OctetString({ valueHex: new Uint8Array([1, 2]) }), new asn1js.OctetString({ valueHex: new Uint8Array([3]) })] });
    expect([...parseCms(signedDataWith(segmented)).eContent!]).toEqual([1, 2, 3]);
  });

  it('refuses an encapsulated content whose BER segments are not OCTET STRINGs, as malformed (a TypeError before)', () => {
    // Found by the API fuzz test (mutated RSA-PSS signature, CI run of 2026-12-03): a constructed
    // OCTET STRING nesting a segment that is not one.
    const found = new Uint8Array(readFileSync(new URL('../../fixtures/fuzz/cms-constructed-econtent.der', import.meta.url)));
    expect(() => parseCms(found)).toThrow(CmsFormatError);
  });
});
