import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tmp, writeFile } from '../../support/ca-helpers.js';
import type { Signer } from './validation-support.js';

/**
 * Signed XML made by Debian's xmlsec1 (an independent XMLDSig implementation) from templates:
 * xmlsec1 computes the digests and the signature value; we only write the template.
 */
export const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
export const XADES = 'http://uri.etsi.org/01903/v1.3.2#';
export const ALG = {
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  c14nComments: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  c14n11: 'http://www.w3.org/2006/12/xml-c14n11',
  exc: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  excComments: 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  ecdsaSha384: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

export interface RefTemplate {
  uri: string;
  transforms?: string[];
  digest?: string;
  type?: string;
}

export interface SignatureTemplate {
  id: string;
  c14n?: string;
  method?: string;
  refs: RefTemplate[];
  /** Extra ds:Object content (enveloping data, XAdES QualifyingProperties). */
  object?: string;
}

/** A ds:Signature template (default namespace, as e-invoice software writes it). */
export function signatureTemplate(t: SignatureTemplate): string {
  const refs = t.refs
    .map((r) => {
      const transforms = r.transforms?.length ? `<Transforms>${r.transforms.map((a) => `<Transform Algorithm="${a}"/>`).join('')}</Transforms>` : '';
      return `<Reference URI="${r.uri}"${r.type ? ` Type="${r.type}"` : ''}>${transforms}<DigestMethod Algorithm="${r.digest ?? ALG.sha256}"/><DigestValue></DigestValue></Reference>`;
    })
    .join('');
  return `<Signature xmlns="${DSIG}" Id="${t.id}"><SignedInfo><CanonicalizationMethod Algorithm="${t.c14n ?? ALG.c14n}"/><SignatureMethod Algorithm="${t.method ?? ALG.rsaSha256}"/>${refs}</SignedInfo><SignatureValue></SignatureValue><KeyInfo><X509Data></X509Data></KeyInfo>${t.object ?? ''}</Signature>`;
}

/** An invoice after the GDT layout: HDon / DLHDon (Id) / MCCQT / DSCKS / NBan, CQT. */
export function invoice(o: { amount?: string; seller?: string; taxAuthority?: string; comment?: boolean } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<HDon xmlns:inv="urn:example:invoice"><DLHDon Id="data">${o.comment ? '<!-- ghi chú -->' : ''}<TTChung><PBan>2.0.1</PBan><THDon>Hóa đơn giá trị gia tăng</THDon><KHHDon>C26TAA</KHHDon><SHDon>1234</SHDon></TTChung><NDHDon><NBan><Ten>Công ty TNHH Sóc Trăng</Ten><MST>2200123456</MST></NBan><TToan><TgTTTBSo>${o.amount ?? '11000000'}</TgTTTBSo></TToan></NDHDon></DLHDon><MCCQT Id="mccqt">M1-26-ABCDE-00000001234</MCCQT><DSCKS><NBan>${o.seller ?? ''}</NBan><CQT>${o.taxAuthority ?? ''}</CQT></DSCKS></HDon>
`;
}

export interface XmlsecSignOptions {
  /** Where the signature to fill sits (default: the first). */
  xpath?: string;
  idAttrs?: string[];
}

const ID_ATTRS = ['DLHDon', 'MCCQT', `${XADES}:SignedProperties`, `${DSIG}:Object`, 'Data'];

/** `xmlsec1 --sign` of the template with the signer's key, its certificate put in KeyInfo. */
export function xmlsecSign(template: string, signer: Signer, o: XmlsecSignOptions = {}): Buffer {
  const dir = tmp('tinnhiem-xmlsec-');
  const input = writeFile(dir, 'template.xml', template);
  const out = join(dir, 'signed.xml');
  const ids = (o.idAttrs ?? ID_ATTRS).flatMap((n) => ['--id-attr:Id', n]);
  run('xmlsec1', ['--sign', '--privkey-pem', `${signer.key},${signer.cert}`, ...ids, ...(o.xpath ? ['--node-xpath', o.xpath] : []), '--output', out, input]);
  return readFileSync(out);
}

/** `xmlsec1 --verify` with our CA (root trusted, issuing CA untrusted): does it hold cryptographically and by chain? */
export function xmlsecVerifies(xml: Buffer | string, ca: { root: string; issuing: string }, xpath?: string): boolean {
  const dir = tmp('tinnhiem-xmlsecv-');
  const ids = ID_ATTRS.flatMap((n) => ['--id-attr:Id', n]);
  return run('xmlsec1', ['--verify', '--trusted-pem', ca.root, '--untrusted-pem', ca.issuing, ...ids, ...(xpath ? ['--node-xpath', xpath] : []), writeFile(dir, 'doc.xml', Buffer.from(xml))], { allowFailure: true }).code === 0;
}

/** XAdES QualifyingProperties (SigningTime, SigningCertificateV2 over the signer's DER, optional policy) for signature `id`. */
export function qualifyingProperties(id: string, signerPem: string, o: { policy?: boolean; signingTime?: Date } = {}): string {
  const der = Buffer.from(signerPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const digest = createHash('sha256').update(der).digest('base64');
  const policy = o.policy
    ? `<xades:SignaturePolicyIdentifier><xades:SignaturePolicyId><xades:SigPolicyId><xades:Identifier>urn:oid:2.16.704.1.2.1</xades:Identifier></xades:SigPolicyId><xades:SigPolicyHash><ds:DigestMethod xmlns:ds="${DSIG}" Algorithm="${ALG.sha256}"/><ds:DigestValue xmlns:ds="${DSIG}">${Buffer.alloc(32, 7).toString('base64')}</ds:DigestValue></xades:SigPolicyHash></xades:SignaturePolicyId></xades:SignaturePolicyIdentifier>`
    : '';
  return `<Object><xades:QualifyingProperties xmlns:xades="${XADES}" Target="#${id}"><xades:SignedProperties Id="${id}-sp"><xades:SignedSignatureProperties><xades:SigningTime>${(o.signingTime ?? new Date()).toISOString().slice(0, 19)}Z</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod xmlns:ds="${DSIG}" Algorithm="${ALG.sha256}"/><ds:DigestValue xmlns:ds="${DSIG}">${digest}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2>${policy}</xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></Object>`;
}

/**
 * What a XAdES SignatureTimeStamp with exclusive C14N covers: the ds:SignatureValue element in
 * canonical form. Written out from the signed text (the base64 value is copied as xmlsec1 wrote
 * it), not computed by the code under test.
 */
export function canonicalSignatureValue(signed: Buffer, signatureId: string): Buffer {
  const text = signed.toString('utf8');
  const at = text.indexOf(`Id="${signatureId}"`);
  const m = /<SignatureValue>([^<]*)<\/SignatureValue>/.exec(text.slice(at));
  if (!m) throw new Error('no SignatureValue');
  return Buffer.from(`<SignatureValue xmlns="${DSIG}">${m[1].replace(/\r/g, '&#xD;')}</SignatureValue>`, 'utf8');
}

/** Adds UnsignedProperties with a SignatureTimeStamp (exclusive C14N) to the signature's QualifyingProperties. */
export function withSignatureTimestamp(signed: Buffer, token: Buffer): Buffer {
  const unsigned = `<xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:SignatureTimeStamp><ds:CanonicalizationMethod xmlns:ds="${DSIG}" Algorithm="${ALG.exc}"/><xades:EncapsulatedTimeStamp>${token.toString('base64')}</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp></xades:UnsignedSignatureProperties></xades:UnsignedProperties>`;
  return Buffer.from(signed.toString('utf8').replace('</xades:SignedProperties>', `</xades:SignedProperties>${unsigned}`), 'utf8');
}
