/**
 * keys.ts (the one-pass SubjectPublicKeyInfo reader and JWK import) against the general way
 * (`publicKeyObject` of the DER, `keyFactsGeneral`): the same description and weakness, the same
 * verification result, on usual keys and on every single-byte mutation of them; never a throw
 * where the general way answers.
 */
import { describe, expect, it } from '@jest/globals';
import { constants, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyObject } from '../../../ca/asn1/algorithms.js';
import { readSpki, verifyingKey, leanKeyFacts } from '../../../src/validation/keys.js';
import { keyFacts, keyFactsGeneral } from '../../../src/validation/name-der.js';

const data = Buffer.from('signed attributes');
const pairs: Array<[string, { publicKey: KeyObject; privateKey: KeyObject }, 'ec' | 'rsa' | 'ed']> = [
  ['EC P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ec'],
  ['EC P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ec'],
  ['EC P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), 'ec'],
  ['EC secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), 'ec'],
  ['RSA-2048', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa'],
  ['RSA-1024 (weak)', generateKeyPairSync('rsa', { modulusLength: 1024 }), 'rsa'],
  ['RSA-3072, e = 3', generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 }), 'rsa'],
  ['Ed25519', generateKeyPairSync('ed25519'), 'ed'],
];

const spkiOf = (k: KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));
const signWith = (kind: 'ec' | 'rsa' | 'ed', key: KeyObject) => (kind === 'ed' ? sign(null, data, key) : sign('sha256', data, kind === 'rsa' ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, dsaEncoding: 'der' }));
const verifies = (kind: 'ec' | 'rsa' | 'ed', key: KeyObject, signature: Buffer) => (kind === 'ed' ? verify(null, data, key, signature) : verify('sha256', data, kind === 'rsa' ? { key, padding: constants.RSA_PKCS1_PADDING } : { key, dsaEncoding: 'der' }, signature));

/** The general way's answer for a key: its facts, and whether a signature verifies (null: the key cannot be imported). */
function general(spki: Uint8Array, kind: 'ec' | 'rsa' | 'ed', signature: Buffer) {
  let verified: boolean | null;
  try {
    verified = verifies(kind, publicKeyObject(spki), signature);
  } catch {
    verified = null;
  }
  return { facts: keyFactsGeneral(spki), verified };
}
function lean(spki: Uint8Array, kind: 'ec' | 'rsa' | 'ed', signature: Buffer) {
  let verified: boolean | null;
  try {
    verified = verifies(kind, verifyingKey(spki), signature);
  } catch {
    verified = null;
  }
  return { facts: keyFacts(spki), verified };
}

describe('keys.ts against the general import', () => {
  it.each(pairs)('%s: same description, weakness and verification', (_name, pair, kind) => {
    const spki = spkiOf(pair.publicKey);
    const signature = signWith(kind, pair.privateKey);
    expect(lean(spki, kind, signature)).toEqual(general(spki, kind, signature));
    expect(lean(spki, kind, signature).verified).toBe(true);
    // The usual shapes are read by the one-pass reader (else this test compares the general way with itself).
    if (/P-(256|384|521)|RSA/.test(_name)) expect(leanKeyFacts(spki)).not.toBeNull();
    else expect(readSpki(spki)).toBeNull();
  });

  it.each(pairs.filter(([name]) => /P-256|RSA-2048|Ed25519/.test(name)))('%s: every byte zeroed or flipped gives the same answer, never a throw', (_name, pair, kind) => {
    const spki = spkiOf(pair.publicKey);
    const signature = signWith(kind, pair.privateKey);
    // RSA moduli are long: every byte of the header and key structure, a sample of the modulus.
    const positions = [...spki.keys()].filter((i) => i < 40 || i > spki.length - 12 || i % 17 === 0);
    for (const i of positions) {
      for (const mutate of [(_b: number) => 0, (b: number) => b ^ 0xff, (b: number) => b ^ 0x01]) {
        const bad = new Uint8Array(spki);
        bad[i] = mutate(bad[i]);
        let answer;
        expect(() => (answer = lean(bad, kind, signature))).not.toThrow();
        expect(answer).toEqual(general(bad, kind, signature));
      }
    }
  });

  it('refuses odd encodings to the general reader: non-minimal integers, trailing bytes, unused bits, compressed points', () => {
    const ec = spkiOf(pairs[0][1].publicKey);
    const trailing = new Uint8Array([...ec, 0]);
    expect(readSpki(trailing)).toBeNull();
    const compressed = new Uint8Array(pairs[0][1].publicKey.export({ format: 'der', type: 'spki' }));
    compressed[compressed.length - 65] = 0x05; // neither uncompressed (04) nor a shape the reader knows
    expect(readSpki(compressed)).toBeNull();
    const unusedBits = new Uint8Array(ec);
    unusedBits[ec.length - 66] = 1;
    expect(readSpki(unusedBits)).toBeNull();
  });
});
