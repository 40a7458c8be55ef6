/**
 * XMLDSig digest and signature algorithms (XMLDSig 1.1 §6, RFC 6931), verified with node:crypto
 * against the signer's certificate. ECDSA signature values are r || s (XMLDSig 1.1 §6.4.3); RSA-PSS
 * per RFC 6931 §2.3.10 (MGF1 with the same digest, salt as long as the digest) or with explicit
 * RSAPSSParams (XMLDSig-RSA-PSS, §2.3.11 of RFC 9231).
 */
import { constants, verify } from 'node:crypto';
import type { Element } from '@xmldom/xmldom';
import { verifyingKey } from './keys.js';
import type { Cert } from './cert.js';
import type { DigestName } from './cms.js';
import { child, textOf } from './xml-document.js';

const MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
const MORE07 = 'http://www.w3.org/2007/05/xmldsig-more#';

export const DIGESTS: Record<string, DigestName> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  [`${MORE}sha224`]: 'sha224',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  [`${MORE}sha384`]: 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const DIGEST_URI = Object.fromEntries(Object.entries(DIGESTS).map(([uri, name]) => [name, uri])) as Record<DigestName, string>;
export const digestUri = (name: DigestName): string => DIGEST_URI[name];

const HASH_LENGTH: Record<DigestName, number> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

export interface XmlSignatureMethod {
  /** Short name for the report, e.g. "rsa-sha256". */
  name: string;
  hash: DigestName;
  verify(data: Uint8Array, signature: Uint8Array, cert: Cert): boolean;
}

const rsa = (hash: DigestName, name: string): XmlSignatureMethod => ({
  name,
  hash,
  verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), padding: constants.RSA_PKCS1_PADDING }, sig),
});
const ecdsa = (hash: DigestName): XmlSignatureMethod => ({
  name: `ecdsa-${hash}`,
  hash,
  verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), dsaEncoding: 'ieee-p1363' }, sig),
});
const pss = (hash: DigestName, saltLength: number, name: string): XmlSignatureMethod => ({
  name,
  hash,
  verify: (data, sig, cert) => verify(hash, data, { key: verifyingKey(cert.facts.spki), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig),
});

const HASHES: DigestName[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
const FIXED: Record<string, XmlSignatureMethod> = { 'http://www.w3.org/2000/09/xmldsig#rsa-sha1': rsa('sha1', 'rsa-sha1') };
for (const h of HASHES) {
  if (h !== 'sha1') FIXED[`${MORE}rsa-${h}`] = rsa(h, `rsa-${h}`);
  FIXED[`${MORE}ecdsa-${h}`] = ecdsa(h);
  FIXED[`${MORE07}${h}-rsa-MGF1`] = pss(h, HASH_LENGTH[h], `rsa-pss-${h}-mgf1`);
}

/** The SignatureMethod element's algorithm, or why it cannot be verified. */
export function signatureMethodOf(el: Element | null): XmlSignatureMethod | string {
  const uri = el?.getAttribute('Algorithm') ?? '';
  if (FIXED[uri]) return FIXED[uri];
  if (uri === `${MORE07}rsa-pss`) {
    const params = el && child(el, MORE07, 'RSAPSSParams');
    const digestEl = params && child(params, 'http://www.w3.org/2000/09/xmldsig#', 'DigestMethod');
    const hash = digestEl ? DIGESTS[digestEl.getAttribute('Algorithm') ?? ''] : 'sha256';
    if (!hash) return 'RSASSA-PSS with an unsupported digest';
    const mgf = params && child(params, MORE07, 'MaskGenerationFunction');
    const mgfDigest = mgf && child(mgf, 'http://www.w3.org/2000/09/xmldsig#', 'DigestMethod');
    if (mgfDigest && DIGESTS[mgfDigest.getAttribute('Algorithm') ?? ''] !== hash) return 'RSASSA-PSS with an MGF1 digest other than the message digest is not supported';
    const salt = params && child(params, MORE07, 'SaltLength');
    const trailer = params && child(params, MORE07, 'TrailerField');
    if (trailer && textOf(trailer).trim() !== '1') return 'RSASSA-PSS with a trailer field other than 1 is not supported';
    const saltLength = salt ? Number(textOf(salt).trim()) : HASH_LENGTH[hash];
    if (!Number.isInteger(saltLength) || saltLength < 0 || saltLength > 1024) return 'RSASSA-PSS with an invalid SaltLength';
    return pss(hash, saltLength, `rsa-pss-${hash}`);
  }
  if (/hmac/i.test(uri)) return `HMAC signatures (${uri}) cannot be validated: they name no signer`;
  return `unsupported signature algorithm ${uri || '(none)'}`;
}
