import { describe, expect, it } from '@jest/globals';
import { createHmac, randomBytes } from 'node:crypto';
import { cookieSigner } from '../../../oidc/cookie-keys.js';

// Keygrip's signature (keygrip 1.1, oidc-provider's cookies): HMAC-SHA1 of the data with the key's
// UTF-8 bytes, base64 with `/+` made `_-` and `=` dropped. Written out here so that the signer is
// checked against the format rather than against itself.
const keygripSign = (data: string, key: string) =>
  createHmac('sha1', key)
    .update(data)
    .digest('base64')
    .replace(/\/|\+|=/g, (x) => ({ '/': '_', '+': '-', '=': '' })[x]!);

describe('cookieSigner (Keygrip-compatible cookie signatures)', () => {
  const keys = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
  const signer = cookieSigner(keys);
  const data = ['_interaction=Zq3vX9abcDEF-_12', '_session=Ắ ư ở ~!@#$%^&*()', ''];

  it('signs as Keygrip does with the first key, so cookies signed before an upgrade or by an older node still verify', () => {
    for (const d of data) expect(signer.sign(d)).toBe(keygripSign(d, keys[0]));
  });

  it('finds the key that signed: the first, the older one, or none', () => {
    for (const d of data) {
      expect(signer.index(d, keygripSign(d, keys[0]))).toBe(0);
      expect(signer.index(d, keygripSign(d, keys[1]))).toBe(1);
      expect(signer.verify(d, keygripSign(d, keys[1]))).toBe(true);
      expect(signer.index(d, keygripSign(d, randomBytes(32).toString('base64url')))).toBe(-1);
    }
  });

  it('refuses a signature altered in any character, another cookie’s, or not in canonical form', () => {
    const d = data[0];
    const good = signer.sign(d);
    for (let at = 0; at < good.length; at++) {
      const other = good.slice(0, at) + (good[at] === 'A' ? 'B' : 'A') + good.slice(at + 1);
      expect(signer.index(d, other)).toBe(-1);
    }
    expect(signer.index(`${d}x`, good)).toBe(-1);
    expect(signer.index(d, signer.sign(data[1]))).toBe(-1);
    for (const odd of [`${good}=`, `${good}A`, good.slice(0, -1), `${good.slice(0, 5)}.${good.slice(5)}`, ` ${good}`, '', undefined as unknown as string]) {
      expect(signer.index(d, odd)).toBe(-1);
      expect(signer.verify(d, odd)).toBe(false);
    }
  });

  it('needs a key', () => {
    expect(() => cookieSigner([])).toThrow(/at least one/);
  });
});
