/**
 * Signers' public keys for node:crypto, imported once per key. `--cpu-prof` of cold validation
 * (a new signer per validation, bench/validate-cold-dev.ts in a fresh process) put a tenth of a
 * validation in `createPublicKey` of the SubjectPublicKeyInfo DER (OpenSSL 3's decoder: about
 * twice an ECDSA P-256 verification) and a little more in `asymmetricKeyDetails` to describe it.
 * The usual keys (RSA with NULL parameters, EC on P-256/384/521 with an uncompressed point, in
 * strict DER) are read here in one pass and imported as a JWK, which node:crypto builds directly
 * (a half of the DER import for EC, an eighth for RSA), and described from the same reading.
 * OpenSSL still checks the key: an EC point off its curve is refused by the JWK import as by the
 * DER import. Anything else, or a key the JWK import refuses, goes the general way
 * (`publicKeyObject`, `describePublicKey`), which decides as before;
 * test/unit/validation/keys.test.ts compares the two on usual and mutated keys.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { publicKeyObject } from '../../ca/asn1/algorithms.js';
import { BoundedLru } from '../cache/bounded-lru.js';
import { children, expect, oidOf, tlv, UnusualCertificate, unusual } from './cert-der.js';

interface LeanKey {
  jwk: { kty: 'EC'; crv: string; x: string; y: string } | { kty: 'RSA'; n: string; e: string };
  description: string;
  weak: boolean;
}

const EC_CURVES: Record<string, { crv: 'P-256' | 'P-384' | 'P-521'; size: number }> = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', size: 32 },
  '1.3.132.0.34': { crv: 'P-384', size: 48 },
  '1.3.132.0.35': { crv: 'P-521', size: 66 },
};
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';

const b64url = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** A positive INTEGER in minimal DER, without its sign byte. */
function unsigned(spki: Uint8Array, node: ReturnType<typeof tlv>): Uint8Array {
  expect(node, 0x02, 'integer');
  let value = spki.subarray(node.at, node.end);
  if (!value.length || value[0] & 0x80) unusual('integer sign');
  if (value[0] === 0) {
    if (value.length < 2 || !(value[1] & 0x80)) unusual('non-minimal integer');
    value = value.subarray(1);
  }
  return value;
}

const bitLength = (value: Uint8Array) => (value.length - 1) * 8 + (32 - Math.clz32(value[0]));

/** The usual key shapes in strict DER, or null. */
export function readSpki(spki: Uint8Array): LeanKey | null {
  try {
    const outer = expect(tlv(spki, 0, spki.length), 0x30, 'spki');
    if (outer.end !== spki.length) unusual('trailing');
    const [algorithm, bits, ...rest] = children(spki, outer);
    if (rest.length) unusual('spki');
    const parts = children(spki, expect(algorithm, 0x30, 'algorithm'));
    expect(bits, 0x03, 'key');
    if (bits.end - bits.at < 2 || spki[bits.at] !== 0) unusual('unused bits');
    const key = spki.subarray(bits.at + 1, bits.end);
    const type = oidOf(spki, expect(parts[0], 0x06, 'algorithm'));
    if (type === EC_PUBLIC_KEY) {
      if (parts.length !== 2) unusual('ec parameters');
      const curve = EC_CURVES[oidOf(spki, expect(parts[1], 0x06, 'curve'))];
      if (!curve || key.length !== 1 + 2 * curve.size || key[0] !== 0x04) return null;
      return { jwk: { kty: 'EC', crv: curve.crv, x: b64url(key.subarray(1, 1 + curve.size)), y: b64url(key.subarray(1 + curve.size)) }, description: `EC ${curve.crv}`, weak: false };
    }
    if (type === RSA_ENCRYPTION) {
      if (parts.length !== 2 || parts[1].tag !== 0x05 || parts[1].end !== parts[1].at) unusual('rsa parameters');
      const sequence = expect(tlv(key, 0, key.length), 0x30, 'rsa key');
      if (sequence.end !== key.length) unusual('trailing');
      const fields = children(key, sequence);
      if (fields.length !== 2) unusual('rsa key');
      const n = unsigned(key, fields[0]);
      const e = unsigned(key, fields[1]);
      const bits = bitLength(n);
      if (bits < 512 || bits > 16_384 || e.length > 8) return null;
      return { jwk: { kty: 'RSA', n: b64url(n), e: b64url(e) }, description: `RSA-${bits}`, weak: bits < 2048 };
    }
    return null;
  } catch (err) {
    if (err instanceof UnusualCertificate) return null;
    throw err;
  }
}

/** Imported keys by their SubjectPublicKeyInfo (base64): whether the JWK import took them (else the general import did). */
const keys = new BoundedLru<string, { key: KeyObject; lean: LeanKey | null }>(4_096, 'validation keys');

function imported(spki: Uint8Array): { key: KeyObject; lean: LeanKey | null } {
  const id = b64url(spki);
  const hit = keys.get(id);
  if (hit) {
    keys.touch(id, hit);
    return hit;
  }
  const lean = readSpki(spki);
  let key: KeyObject | null = null;
  if (lean) {
    try {
      key = createPublicKey({ key: lean.jwk, format: 'jwk' });
    } catch {
      key = null;
    }
  }
  // The general import (may throw, as it always did).
  const entry = key ? { key, lean } : { key: publicKeyObject(spki), lean: null };
  keys.set(id, entry);
  return entry;
}

/** Whether a key of this SubjectPublicKeyInfo is imported already (cache-probe.ts: the bench's cold check). */
export const keyImported = (spki: Uint8Array): boolean => keys.get(b64url(spki)) !== undefined;

/** The KeyObject that verifies with `spki`; throws when node:crypto cannot use it (as `publicKeyObject`). */
export const verifyingKey = (spki: Uint8Array): KeyObject => imported(spki).key;

/** What the report says of a usual key, read from its DER once node:crypto has taken it; null: ask the general reader. */
export function leanKeyFacts(spki: Uint8Array): { description: string; weak: boolean } | null {
  let entry;
  try {
    entry = imported(spki);
  } catch {
    return null;
  }
  return entry.lean ? { description: entry.lean.description, weak: entry.lean.weak } : null;
}
