import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ChallengeSeal } from '../../../src/webauthn/sealed-challenge.js';

/** The seal of passkey login challenges (src/webauthn/sealed-challenge.ts): what it binds, and tampering. */
describe('sealed WebAuthn challenges', () => {
  const secret = randomBytes(32);
  const seal = new ChallengeSeal(secret);
  const expiresAt = new Date('2026-12-06T05:00:00.123Z');
  const issue = (binding = 'interaction:a', account: string | null = null) => Buffer.from(seal.issue(binding, account, expiresAt)).toString('base64url');

  it('opens for its binding and account only, with its expiry; each challenge is new', () => {
    const c = issue();
    expect(c).toMatch(/^[A-Za-z0-9_-]{52}$/);
    expect(seal.open(c, 'interaction:a', null)).toEqual({ expiresAt });
    expect(issue()).not.toBe(c);
    expect(seal.open(c, 'interaction:b', null)).toBeNull();
    expect(seal.open(c, 'interaction:a', 'account-1')).toBeNull();
    // No account and an empty account are different bindings; so are shifted field boundaries.
    expect(seal.open(c, 'interaction:a', '')).toBeNull();
    const stepUp = issue('interaction:a', 'account-1');
    expect(seal.open(stepUp, 'interaction:a', 'account-1')).toEqual({ expiresAt });
    expect(seal.open(stepUp, 'interaction:a', null)).toBeNull();
    expect(seal.open(stepUp, 'interaction:aaccount-1', '')).toBeNull();
    expect(seal.open(stepUp, 'interaction:', 'aaccount-1')).toBeNull();
  });

  it('refuses every altered bit pair, other alphabets, other lengths and another installation’s key', () => {
    const c = issue();
    const raw = Buffer.from(c, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const copy = Buffer.from(raw);
        copy[i] ^= bit;
        expect(seal.open(copy.toString('base64url'), 'interaction:a', null)).toBeNull();
      }
    }
    for (const other of ['', c.slice(0, 51), `${c}A`, `${c}=`, c.replace(/./, '+'), Buffer.from(raw).toString('base64')]) {
      expect(seal.open(other, 'interaction:a', null)).toBeNull();
    }
    expect(new ChallengeSeal(randomBytes(32)).open(c, 'interaction:a', null)).toBeNull();
    expect(new ChallengeSeal(Buffer.from(secret)).open(c, 'interaction:a', null)).toEqual({ expiresAt });
  });
});
