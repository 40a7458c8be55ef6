import { it, expect, describe } from '@jest/globals';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describePublicKey, keyIdentifier, samePublicKey } from '../../../../ca/asn1/public-key.js';
import { blockingFingerprint } from '../../../../src/certificates/key-guard.js';

const spkiOf = (curve: string) => new Uint8Array(generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ type: 'spki', format: 'der' }));

describe('memoised public-key facts (ca/asn1/memo.ts)', () => {
  it('describe the same key the same way every time, frozen, and keep key identifiers from being changed', () => {
    const spki = spkiOf('P-256');
    const first = describePublicKey(spki);
    expect(first).toEqual({ type: 'ec', curve: 'P-256', curveName: 'P-256', explicit: false });
    expect(Object.isFrozen(first)).toBe(true);
    expect(describePublicKey(Uint8Array.from(spki))).toEqual(first);
    const id = keyIdentifier(spki);
    id[0] ^= 0xff;
    expect(keyIdentifier(spki)[0]).toBe(id[0] ^ 0xff);
    expect(describePublicKey(spkiOf('P-384'))).toMatchObject({ curve: 'P-384' });
  });

  it('still refuse a malformed key every time (failures are not kept)', () => {
    for (let i = 0; i < 2; i++) expect(() => describePublicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toThrow();
  });

  it('compare keys and fingerprint them as before', () => {
    const a = spkiOf('P-256');
    const b = spkiOf('P-256');
    expect(samePublicKey(a, Uint8Array.from(a))).toBe(true);
    expect(samePublicKey(a, b)).toBe(false);
    expect(samePublicKey(a, Uint8Array.of(1, 2, 3))).toBe(false);
    expect(blockingFingerprint(a)).toBe(blockingFingerprint(Uint8Array.from(a)));
    expect(blockingFingerprint(a)).not.toBe(blockingFingerprint(b));
  });
});

describe('blocking fingerprints of keys already in canonical form', () => {
  const exported = (spki: Uint8Array) => createHash('sha256').update(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' })).digest('hex');

  it('are those of the OpenSSL re-encoding, for P-256, P-384, P-521 and RSA keys, and compressed points', () => {
    for (const curve of ['P-256', 'P-384', 'P-521']) {
      for (let i = 0; i < 5; i++) {
        const spki = spkiOf(curve);
        expect(blockingFingerprint(spki)).toBe(exported(spki));
      }
    }
    const rsa = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }));
    expect(blockingFingerprint(rsa)).toBe(exported(rsa));
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const jwk = key.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const compressed = Uint8Array.from([...Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), 2 + (y[31] & 1), ...x]);
    expect(blockingFingerprint(compressed)).toBe(exported(compressed));
  });

  it('fall back to the bytes for a point off the curve, as the OpenSSL path does', () => {
    const spki = spkiOf('P-256');
    const off = Uint8Array.from(spki);
    off[off.length - 1] ^= 0x01;
    expect(() => createPublicKey({ key: Buffer.from(off), format: 'der', type: 'spki' })).toThrow();
    expect(blockingFingerprint(off)).toBe(createHash('sha256').update(off).digest('hex'));
  });
});
