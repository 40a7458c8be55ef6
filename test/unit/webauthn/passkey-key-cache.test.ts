/**
 * Issue 20 (passkey login, tenth pass): a passkey's public key is imported once while the passkey
 * is held (src/webauthn/passkey-service.ts, keyed by the held entry of the bounded "passkeys"
 * cache), and a passkey forgotten there (removed on this node, found gone, dropped as least recently
 * used) takes its key with it: the next assertion is checked against the key the store holds now.
 */
import { describe, expect, it } from '@jest/globals';
import type { KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { PasskeyService } from '../../../src/webauthn/passkey-service.js';
import type { Passkey } from '../../../src/webauthn/passkey.js';
import { SoftAuthenticator } from '../../support/soft-authenticator.js';

const origin = 'https://dinhdanh.example.gov.vn';
const rpId = 'dinhdanh.example.gov.vn';
const challenge = Buffer.from('challenge').toString('base64url');

interface Internals {
  passkeyOf(id: string): Promise<Passkey | null>;
  verifyAssertion(response: AuthenticationResponseJSON, challenge: string, passkey: Passkey): Promise<{ newCounter: number } | null>;
  known: Map<string, Passkey>;
  keys: WeakMap<Passkey, KeyObject | null>;
}

function serviceWith(stored: { passkey: Passkey }) {
  const repo = { findByCredentialId: async () => ({ ...stored.passkey }) };
  const service = new PasskeyService(null as never, repo as never, null as never, { now: () => new Date(0) }, { rpId, rpName: 'x', origins: [origin], timeoutMs: 60_000 }, null as never);
  return service as unknown as Internals;
}

const passkeyOf = (a: SoftAuthenticator, credentialId: string): Passkey => ({
  id: 'p1', accountId: 'a1', credentialId, publicKey: a.cosePublicKey(), counter: 0, transports: [], aaguid: '', deviceType: 'singleDevice', backedUp: false, name: 'key', createdAt: new Date(0), lastUsedAt: null,
});

describe('the passkey key cache', () => {
  it('imports a held passkey’s key once, and forgets it with the passkey', async () => {
    const first = new SoftAuthenticator(origin, rpId);
    const stored = { passkey: passkeyOf(first, first.id) };
    const s = serviceWith(stored);

    const held = (await s.passkeyOf(first.id))!;
    expect(await s.verifyAssertion(first.get({ challenge }) as AuthenticationResponseJSON, challenge, held)).toMatchObject({ newCounter: 1 });
    const key = s.keys.get(held);
    expect(key?.asymmetricKeyType).toBe('ec');
    expect(await s.passkeyOf(first.id)).toBe(held);
    expect(await s.verifyAssertion(first.get({ challenge }) as AuthenticationResponseJSON, challenge, held)).toMatchObject({ newCounter: 2 });
    expect(s.keys.get(held)).toBe(key); // not imported again

    // The stored key is now another (the row removed and the ID registered again, hypothetically):
    // once the held entry is forgotten, as a removal or a 'gone' use does, the old key no longer
    // verifies and the new one does.
    const second = new SoftAuthenticator(origin, rpId);
    Object.assign(second, { credentialId: first.credentialId });
    stored.passkey = passkeyOf(second, first.id);
    s.known.delete(first.id);
    const reloaded = (await s.passkeyOf(first.id))!;
    expect(reloaded).not.toBe(held);
    await expect(s.verifyAssertion(first.get({ challenge }) as AuthenticationResponseJSON, challenge, reloaded)).rejects.toThrow('Signature does not verify');
    expect(await s.verifyAssertion(second.get({ challenge }) as AuthenticationResponseJSON, challenge, reloaded)).toMatchObject({ newCounter: 1 });
    expect(s.keys.get(reloaded)).not.toBe(key);
  });

  it('a key that is not ES256 is verified by @simplewebauthn/server (none imported here)', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    const s = serviceWith({ passkey: { ...passkeyOf(a, a.id), publicKey: Buffer.from('a0', 'hex') } });
    const held = (await s.passkeyOf(a.id))!;
    // An empty COSE map: the library refuses it with its own message.
    await expect(s.verifyAssertion(a.get({ challenge }) as AuthenticationResponseJSON, challenge, held)).rejects.toThrow('Credential public key was missing numeric alg');
    expect(s.keys.get(held)).toBeNull();
  });
});
