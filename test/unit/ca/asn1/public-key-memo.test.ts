import { it, expect, describe } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
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
