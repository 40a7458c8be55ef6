import type * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der, decodePkijs } from './der.js';

/**
 * A "certs-only" PKCS#7 / CMS SignedData (RFC 5652 §5; RFC 8551 §3.2.2's degenerate case): no
 * content, no signers, just the certificates. What `openssl pkcs7 -print_certs` and Windows read
 * as a .p7b chain.
 */
export function certsOnlyPkcs7(certificates: readonly Uint8Array[]): Uint8Array {
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: certificates.map((c) => decodePkijs((schema) => new pkijs.Certificate({ schema }), c, 'certificate', 'badCertificate')),
    signerInfos: [],
    digestAlgorithms: [],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema(true) });
  return der(contentInfo.toSchema() as asn1js.Sequence);
}
