import { describe, expect, it } from '@jest/globals';
import { randomBytes, timingSafeEqual, hash } from 'node:crypto';
import { secretEquals } from '../../../oidc/clients/client-registry.js';

// The registry's comparison of a presented client secret (the client-auth throttle's admission).
describe('secretEquals', () => {
  const known = randomBytes(32).toString('base64url');
  const bytes = Buffer.from(known, 'utf8');

  it('matches the secret itself', () => {
    expect(secretEquals(bytes, known)).toBe(true);
  });

  it('refuses a secret differing in one character, at either end or in the middle', () => {
    for (const at of [0, 21, known.length - 1]) {
      const other = known.slice(0, at) + (known[at] === 'A' ? 'B' : 'A') + known.slice(at + 1);
      expect(secretEquals(bytes, other)).toBe(false);
    }
  });

  it('refuses a prefix, an extension, the empty string and a zero-padded form', () => {
    expect(secretEquals(bytes, known.slice(0, -1))).toBe(false);
    expect(secretEquals(bytes, `${known}x`)).toBe(false);
    expect(secretEquals(bytes, '')).toBe(false);
    // The padding of a short presentation is zeros: a known secret ending in NUL is not matched by its prefix.
    const nul = Buffer.from('abc\u0000', 'utf8');
    expect(secretEquals(nul, 'abc')).toBe(false);
    expect(secretEquals(nul, 'abc\u0000')).toBe(true);
  });

  it('compares UTF-8 bytes: a multi-byte character cut at the boundary never matches', () => {
    const k = Buffer.from('mật-khẩu', 'utf8');
    expect(secretEquals(k, 'mật-khẩu')).toBe(true);
    expect(secretEquals(k, 'mật-khâu')).toBe(false);
    expect(secretEquals(Buffer.from('ab', 'utf8'), 'aé')).toBe(false);
    expect(secretEquals(Buffer.from('abc', 'utf8'), 'ab€')).toBe(false);
  });

  it('agrees with the SHA-256 comparison it replaced on random pairs', () => {
    for (let i = 0; i < 200; i++) {
      const a = randomBytes(1 + (i % 40)).toString('latin1');
      const b = i % 3 === 0 ? a : randomBytes(1 + ((i * 7) % 40)).toString('latin1');
      const before = timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
      expect(secretEquals(Buffer.from(a, 'utf8'), b)).toBe(before);
    }
  });
});
