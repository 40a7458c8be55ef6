/**
 * Sign: wraps a linted TBS (certificate, CRL or CSR body) with the issuer key's signature, then
 * verifies that signature with the issuer's public key before anyone sees it (a faulty HSM or a
 * key/certificate mix-up must not produce an unverifiable certificate).
 */
import { CaError } from '../errors.js';
import { describeSignatureAlgorithm, signatureAlgorithmDer, signatureAlgorithmIdentifier, verifySignature, verifySignatureInPool, type SignatureAlgorithm } from '../asn1/algorithms.js';
import { bitString, bytesEqual, derTag, tlv } from '../asn1/der.js';
import { samePublicKey } from '../asn1/public-key.js';
import { signWith, type SigningKey } from '../keys/key-store.js';
import type { Issuer } from './issuer.js';
import type { PreparedCertificate } from './template.js';

type Verifier = (data: Uint8Array, signature: Uint8Array, algorithm: ReturnType<typeof signatureAlgorithmIdentifier>, spki: Uint8Array) => boolean | Promise<boolean>;

/** The issuer's key must be the one in its certificate and sign with the algorithm written in the TBS. */
export function assertKeyFits(key: SigningKey, spki: Uint8Array, algorithm: SignatureAlgorithm, owner: string): void {
  if (!samePublicKey(key.spki, spki)) throw new CaError('misconfigured', `key ${key.uri} is not the key of ${owner}`);
  if (!bytesEqual(signatureAlgorithmDer(key.algorithm), signatureAlgorithmDer(algorithm))) {
    throw new CaError('misconfigured', `key ${key.uri} signs with ${describeSignatureAlgorithm(key.algorithm)}, ${owner} with ${describeSignatureAlgorithm(algorithm)}`);
  }
}

/** SEQUENCE { tbs, signatureAlgorithm, signatureValue }: Certificate, CertificateList and CertificationRequest alike. */
export async function signStructure(tbs: Uint8Array, key: SigningKey, verifyWith: Uint8Array, what: string, verifier: Verifier = verifySignature): Promise<Uint8Array> {
  const signature = await signWith(key, tbs);
  const algorithm = signatureAlgorithmIdentifier(key.algorithm);
  let valid: boolean;
  try {
    valid = await verifier(tbs, signature, algorithm, verifyWith);
  } catch (error) {
    throw new CaError('internal', `${what}: cannot verify the signature just made: ${(error as Error).message}`, { cause: error });
  }
  if (!valid) throw new CaError('internal', `${what}: the signature made with ${key.uri} does not verify`);
  return tlv(derTag.sequence, tbs, signatureAlgorithmDer(key.algorithm), bitString(signature));
}

/**
 * Signs a prepared (and linted) certificate: returns the certificate DER. Only its TBS, serial
 * and issuer are needed, so a reserved TBS is re-signed after a crash exactly as prepared.
 */
export async function signCertificate(prepared: Pick<PreparedCertificate, 'tbs' | 'serial' | 'issuerId'>, issuer: Issuer, key: SigningKey): Promise<Uint8Array> {
  if (prepared.issuerId !== issuer.id) throw new CaError('internal', `certificate ${prepared.serial} was prepared for issuer ${prepared.issuerId}, not ${issuer.id}`);
  assertKeyFits(key, issuer.spki, issuer.signatureAlgorithm, `issuer ${issuer.id}`);
  // Certificates are signed in batches: their signatures are verified in the thread pool, off this thread.
  return signStructure(prepared.tbs, key, issuer.spki, `certificate ${prepared.serial}`, verifySignatureInPool);
}
