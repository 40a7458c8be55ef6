/**
 * P-256 public keys imported as JWK coordinates (ca/asn1/key-objects.ts) give the same verdict as
 * OpenSSL's DER import of the same SubjectPublicKeyInfo: the same key for good ones, a refusal for
 * every bad one (a flipped bit in x or y: off the curve; a coordinate of p or more; all zeros;
 * a compressed or hybrid point byte; a prefix changed to another curve or algorithm; one octet
 * more or less), which then goes to the DER import itself.
 */
import { describe, expect, it } from '@jest/globals';
import { createPublicKey, generateKeyPairSync, randomInt } from 'node:crypto';
import { publicKeyObject } from '../../../../ca/asn1/key-objects.js';

const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const spkiOf = () => new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));

/** The verdict of the DER import: the key's SPKI as OpenSSL writes it back, or 'refused'. */
function viaDer(spki: Uint8Array): string {
  try {
    return Buffer.from(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' })).toString('hex');
  } catch {
    return 'refused';
  }
}
function viaMemo(spki: Uint8Array): string {
  try {
    return Buffer.from(publicKeyObject(Uint8Array.from(spki)).export({ type: 'spki', format: 'der' })).toString('hex');
  } catch {
    return 'refused';
  }
}

function withCoordinate(spki: Uint8Array, offset: number, value: bigint): Uint8Array | null {
  if (value >= 2n ** 256n) return null;
  const out = Uint8Array.from(spki);
  out.set(Buffer.from(value.toString(16).padStart(64, '0'), 'hex'), offset);
  return out;
}

describe('P-256 keys imported by their coordinates', () => {
  it('good keys: the same key as the DER import', () => {
    for (let i = 0; i < 50; i++) {
      const spki = spkiOf();
      expect(viaMemo(spki)).toBe(viaDer(spki));
      expect(viaMemo(spki)).not.toBe('refused');
    }
  });

  it('bad keys: refused as the DER import refuses them, whatever the mutation', () => {
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const spki = spkiOf();
      const x = BigInt(`0x${Buffer.from(spki.subarray(27, 59)).toString('hex')}`);
      const y = BigInt(`0x${Buffer.from(spki.subarray(59, 91)).toString('hex')}`);
      const mutants: Array<Uint8Array | null> = [];
      const flip = (at: number) => {
        const m = Uint8Array.from(spki);
        m[at] ^= 1 << randomInt(8);
        return m;
      };
      mutants.push(flip(27 + randomInt(32)), flip(59 + randomInt(32)), flip(randomInt(26)), flip(26));
      mutants.push(withCoordinate(spki, 27, x + P), withCoordinate(spki, 59, y + P), withCoordinate(spki, 27, P), withCoordinate(spki, 59, P - y));
      mutants.push(withCoordinate(withCoordinate(spki, 27, 0n)!, 59, 0n));
      for (const lead of [0x00, 0x02, 0x03, 0x06, 0x07]) {
        const m = Uint8Array.from(spki);
        m[26] = lead;
        mutants.push(m);
      }
      mutants.push(spki.subarray(0, 90), Uint8Array.from([...spki, 0]));
      for (const m of mutants) {
        if (!m) continue;
        const expected = viaDer(m);
        expect(viaMemo(m)).toBe(expected);
        if (expected === 'refused') refused++;
      }
    }
    expect(refused).toBeGreaterThan(300);
  });
});
