/**
 * A raw signature value over a document with the signer's certificate (no CMS): the algorithm
 * named by the caller, or the usual one for the key; cryptography only.
 */
import { constants, verify } from 'node:crypto';
import { verifyingKey } from './keys.js';
import type { Cert } from './cert.js';
import type { DigestName, SignerCheck } from './cms.js';
import { failed } from './indications.js';

export const RAW_ALGORITHMS = [
  'rsa-pkcs1-sha1', 'rsa-pkcs1-sha256', 'rsa-pkcs1-sha384', 'rsa-pkcs1-sha512',
  'rsa-pss-sha256', 'rsa-pss-sha384', 'rsa-pss-sha512',
  'ecdsa-sha256', 'ecdsa-sha384', 'ecdsa-sha512', 'ed25519',
] as const;
export type RawAlgorithm = (typeof RAW_ALGORITHMS)[number];

export function verifyRaw(signature: Uint8Array, document: Uint8Array, cert: Cert, requested: RawAlgorithm | undefined): SignerCheck {
  const algorithm = requested ?? (cert.keyDescription.startsWith('RSA') ? 'rsa-pkcs1-sha256' : cert.keyDescription.startsWith('EC') ? 'ecdsa-sha256' : 'ed25519');
  const [family, ...rest] = algorithm.split('-');
  const hash = algorithm === 'ed25519' ? null : (rest[rest.length - 1] as DigestName);
  const check: SignerCheck = {
    index: 0,
    cert,
    digest: hash,
    signatureAlgorithm: algorithm,
    weak: hash === 'sha1',
    signedAttributes: { present: false, messageDigest: 'absent', contentType: 'absent', signingCertificate: 'absent' },
    claimedTime: null,
    verdict: null,
    errors: [],
    warnings: [],
    signatureValue: signature,
    timestampToken: null,
    counterSignatures: [],
  };
  try {
    const key = verifyingKey(cert.facts.spki);
    const ok =
      family === 'ed25519' ? verify(null, document, key, signature)
      : algorithm.startsWith('rsa-pss') ? verify(hash, document, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature)
      : algorithm.startsWith('rsa') ? verify(hash, document, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
      : verify(hash, document, { key, dsaEncoding: signature.byteLength > 0 && signature[0] === 0x30 ? 'der' : 'ieee-p1363' }, signature);
    if (!ok) {
      check.errors.push('the signature value does not verify with the certificate\'s key over this document');
      check.verdict = failed('SIG_CRYPTO_FAILURE');
    }
  } catch (err) {
    check.errors.push(`the signature cannot be verified with this key and algorithm (${(err as Error).message})`);
    check.verdict = failed('SIG_CRYPTO_FAILURE');
  }
  return check;
}
