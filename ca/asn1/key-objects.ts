/** Public-key objects of node:crypto by SubjectPublicKeyInfo (shared by algorithms.ts and public-key.ts). */
import { createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Key objects by their SubjectPublicKeyInfo: importing a key costs about as much as verifying one
 * signature with it, and the same signers and CAs come back. Bounded (oldest out first); a
 * KeyObject is immutable.
 */
const keyObjects = new Map<string, KeyObject>();
const KEY_OBJECTS = 4_096;

export function publicKeyObject(spki: Uint8Array): KeyObject {
  const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('base64');
  let key = keyObjects.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (keyObjects.size >= KEY_OBJECTS) keyObjects.delete(keyObjects.keys().next().value!);
    keyObjects.set(id, key);
  }
  return key;
}
