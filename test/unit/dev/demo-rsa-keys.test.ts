/**
 * The demo registry's RSA pool (src/dev/demo-rsa-keys.ts): every key computed from its primes is
 * a whole RSA-2048 key OpenSSL accepts (it signs, and only its own public key verifies), the keys
 * are all different, and an index beyond the pool is refused rather than wrapped around.
 */
import { describe, expect, it } from '@jest/globals';
import { createHash, sign, verify } from 'node:crypto';
import { demoRsaKey, demoRsaKeyCount } from '../../../src/dev/demo-rsa-keys.js';

describe('the demo RSA pool', () => {
  it('every key is RSA-2048 with e = 65537, signs, and is verified by its own public key only', () => {
    const moduli = new Set<string>();
    let previous: ReturnType<typeof demoRsaKey> | null = null;
    for (let i = 0; i < demoRsaKeyCount(); i++) {
      const key = demoRsaKey(i);
      expect(key.privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
      const data = Buffer.from(`demo holder ${i}`);
      const signature = sign('sha256', data, key.privateKey);
      expect(verify('sha256', data, key.publicKey, signature)).toBe(true);
      if (previous) expect(verify('sha256', data, previous.publicKey, signature)).toBe(false);
      moduli.add(createHash('sha256').update(key.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
      previous = key;
    }
    expect(demoRsaKeyCount()).toBeGreaterThanOrEqual(112);
    expect(moduli.size).toBe(demoRsaKeyCount());
  });

  it('no key beyond the pool', () => {
    expect(() => demoRsaKey(demoRsaKeyCount())).toThrow(RangeError);
  });
});
