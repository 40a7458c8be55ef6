/**
 * The ECDSA signature of WebCrypto (r‖s) written as DER directly (ca/keys/key-store.ts
 * ecdsaSigValue) gives the same bytes as the ASN.1 library's encoding it replaced, and OpenSSL
 * reads it as the same signature: r and s with leading zero octets, with a high bit, all zero.
 */
import { describe, expect, it } from '@jest/globals';
import * as asn1js from 'asn1js';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { ecdsaSigValue } from '../../../../ca/keys/key-store.js';
import { arrayBuffer, der } from '../../../../ca/asn1/der.js';

/** The encoding of the library (as signWith did before). */
function viaAsn1js(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const minimal = bytes.subarray(start);
    const positive = minimal[0] & 0x80 ? Uint8Array.of(0, ...minimal) : minimal;
    return new asn1js.Integer({ valueHex: arrayBuffer(positive) });
  };
  return der(new asn1js.Sequence({ value: [integer(signature.subarray(0, half)), integer(signature.subarray(half))] }));
}

describe('ECDSA-Sig-Value written directly', () => {
  it('matches the ASN.1 library byte for byte on edge values and random ones (P-256, P-384, P-521 sizes)', () => {
    const cases: Uint8Array[] = [];
    for (const size of [32, 48, 66]) {
      const edge = (first: number[], fill: number) => Uint8Array.from({ length: size }, (_, i) => first[i] ?? fill);
      for (const r of [edge([0x80], 1), edge([0, 0, 0x7f], 2), edge([0, 0x80], 3), edge([], 0), edge([0xff], 0xff), edge([0, 0, 0, 1], 0)]) {
        for (const s of [edge([0x01], 9), edge([0x00, 0xff], 9), edge([], 0)]) cases.push(Uint8Array.from([...r, ...s]));
      }
      for (let i = 0; i < 200; i++) cases.push(new Uint8Array(randomBytes(size * 2)));
    }
    for (const signature of cases) expect(Buffer.from(ecdsaSigValue(signature)).toString('hex')).toBe(Buffer.from(viaAsn1js(signature)).toString('hex'));
  });

  it('OpenSSL verifies the DER form of a P1363 signature and refuses it for other data', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(64);
      const p1363 = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      const sigValue = ecdsaSigValue(p1363);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, sigValue)).toBe(true);
      expect(verify('sha256', randomBytes(64), { key: publicKey, dsaEncoding: 'der' }, sigValue)).toBe(false);
    }
  });

  it('refuses what is not r‖s', () => {
    expect(() => ecdsaSigValue(new Uint8Array(0))).toThrow(/not r‖s/);
    expect(() => ecdsaSigValue(new Uint8Array(63))).toThrow(/not r‖s/);
  });
});
