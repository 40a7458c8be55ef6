/** Public-key objects of node:crypto by SubjectPublicKeyInfo (shared by algorithms.ts and public-key.ts). */
import { registerCache } from '../cache-registry.js';
import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Key objects by their SubjectPublicKeyInfo: importing a key costs about as much as verifying one
 * signature with it, and the same signers and CAs come back. Bounded (oldest out first); a
 * KeyObject is immutable.
 */
const keyObjects = registerCache('key objects', new Map<string, KeyObject>());
const KEY_OBJECTS = 4_096;

export function publicKeyObject(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
  let key = keyObjects.get(id);
  if (!key) {
    key = importP256(spki) ?? createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (keyObjects.size >= KEY_OBJECTS) keyObjects.delete(keyObjects.keys().next().value!);
    keyObjects.set(id, key);
  }
  return key;
}

/**
 * SubjectPublicKeyInfo of an uncompressed P-256 point as RFC 5480 §2 writes it: SEQUENCE {
 * SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 0x04 ‖ x ‖ y } } (91 octets, one form
 * only). Every CSR's proof of possession imports a new key, and OpenSSL's DER decoder costs
 * about twice its import of the same point as a JWK (RFC 7518 §6.2.1), which sets the
 * coordinates directly and refuses a point not on the curve, as the DER import does
 * (test/unit/ca/asn1/key-objects.test.ts compares the two on good and mutated keys).
 */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

function importP256(spki: Uint8Array): KeyObject | null {
  if (spki.byteLength !== 91 || spki[26] !== 0x04 || !P256_SPKI_PREFIX.equals(spki.subarray(0, 26))) return null;
  const coordinate = (from: number) => Buffer.from(spki.buffer, spki.byteOffset + from, 32).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(27), y: coordinate(59) }, format: 'jwk' });
}
