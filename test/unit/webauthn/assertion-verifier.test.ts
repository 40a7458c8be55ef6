/**
 * Issue 20 (passkey login, tenth pass): the service's own check of an ES256 assertion
 * (src/webauthn/assertion-verifier.ts) against @simplewebauthn/server's verifyAuthenticationResponse,
 * which it replaces for ES256 keys. Every case feeds both the same assertion, expectations and key,
 * and requires the same verdict (and, when accepted, the same counter, UV and backup facts): valid
 * assertions, and each field tampered (re-signed where the tampering is inside the signed bytes, so
 * that only the check under test can refuse it).
 */
import { describe, expect, it } from '@jest/globals';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { verifyAuthenticationResponse, type AuthenticationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { es256KeyOf, rpIdHash, verifyEs256Assertion } from '../../../src/webauthn/assertion-verifier.js';
import { SoftAuthenticator } from '../../support/soft-authenticator.js';

const origin = 'https://dinhdanh.example.gov.vn';
const rpId = 'dinhdanh.example.gov.vn';
const challenge = Buffer.from('a sealed challenge of this interaction').toString('base64url');

type Assertion = AuthenticationResponseJSON;

const cosePublicKey = (a: SoftAuthenticator) => new Uint8Array(a.cosePublicKey());

/** An assertion whose authenticator data and client data are `edit`ed, then signed again by `a`'s key. */
function resigned(a: SoftAuthenticator, edit: { authData?: (b: Buffer) => Buffer; clientData?: (c: Record<string, unknown>) => Record<string, unknown> }): { response: Assertion } {
  const base = a.get({ challenge }) as Assertion;
  const authData = (edit.authData ?? ((b) => b))(Buffer.from(base.response.authenticatorData, 'base64url'));
  const clientData = Buffer.from(JSON.stringify((edit.clientData ?? ((c) => c))(JSON.parse(Buffer.from(base.response.clientDataJSON, 'base64url').toString()))));
  const key = createPrivateKey(a.state().privateKeyPem);
  const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), key);
  return { response: { ...base, response: { ...base.response, authenticatorData: authData.toString('base64url'), clientDataJSON: clientData.toString('base64url'), signature: signature.toString('base64url') } } };
}

interface Case {
  response: Assertion;
  expectedChallenge?: string;
  origins?: string[];
  counter?: number;
  publicKey?: Uint8Array<ArrayBuffer>;
  credentialId?: string;
}

async function library(c: Case, a: SoftAuthenticator) {
  try {
    const r = await verifyAuthenticationResponse({
      response: c.response,
      expectedChallenge: c.expectedChallenge ?? challenge,
      expectedOrigin: c.origins ?? [origin],
      expectedRPID: rpId,
      credential: { id: c.credentialId ?? a.id, publicKey: c.publicKey ?? cosePublicKey(a), counter: c.counter ?? 0 },
      requireUserVerification: true,
    });
    if (!r.verified) return { verdict: 'refused' as const };
    const i = r.authenticationInfo;
    return { verdict: 'accepted' as const, info: { newCounter: i.newCounter, userVerified: i.userVerified, credentialDeviceType: i.credentialDeviceType, credentialBackedUp: i.credentialBackedUp } };
  } catch (err) {
    return { verdict: 'refused' as const, reason: (err as Error).message };
  }
}

function ours(c: Case, a: SoftAuthenticator) {
  const key = es256KeyOf(c.publicKey ?? cosePublicKey(a));
  if (!key) throw new Error('not an ES256 key');
  try {
    const info = verifyEs256Assertion(c.response, { challenge: c.expectedChallenge ?? challenge, origins: c.origins ?? [origin], rpIdHashes: [rpIdHash(rpId)], requireUserVerification: true }, { id: c.credentialId ?? a.id, counter: c.counter ?? 0, key });
    return { verdict: 'accepted' as const, info };
  } catch (err) {
    return { verdict: 'refused' as const, reason: (err as Error).message };
  }
}

/** Both verifiers' verdicts on one case; they must agree, and the case must get `expected`. */
async function agree(a: SoftAuthenticator, c: Case, expected: 'accepted' | 'refused') {
  const [l, o] = [await library(c, a), ours(c, a)];
  expect({ verdict: o.verdict, info: o.verdict === 'accepted' ? o.info : undefined }).toEqual({ verdict: l.verdict, info: l.verdict === 'accepted' ? l.info : undefined });
  expect(o.verdict).toBe(expected);
  return o;
}

const flip = (s: string, at: (n: number) => number) => {
  const b = Buffer.from(s, 'base64url');
  b[at(b.length)] ^= 0x01;
  return b.toString('base64url');
};

describe('the ES256 assertion check agrees with @simplewebauthn/server', () => {
  it('accepts valid assertions (device-bound and synced, the counter rising or zero) as the library does, with the same facts', async () => {
    const device = new SoftAuthenticator(origin, rpId);
    const synced = new SoftAuthenticator(origin, rpId, true);
    for (const a of [device, synced]) {
      await agree(a, { response: a.get({ challenge }) as Assertion }, 'accepted');
      await agree(a, { response: a.get({ challenge }) as Assertion, counter: a.counter - 1 }, 'accepted');
      await agree(a, { response: a.get({ challenge }, { counter: 0 }) as Assertion }, 'accepted');
    }
    const o = ours({ response: synced.get({ challenge }) as Assertion }, synced);
    expect(o).toMatchObject({ verdict: 'accepted', info: { userVerified: true, credentialDeviceType: 'multiDevice', credentialBackedUp: true } });
  });

  it('refuses another challenge, origin, client data type, top origin or token binding as the library does', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    await agree(a, { response: a.get({ challenge }) as Assertion, expectedChallenge: Buffer.from('another').toString('base64url') }, 'refused');
    await agree(a, { response: a.get({ challenge: `${challenge}A` }) as Assertion }, 'refused');
    await agree(a, { response: a.get({ challenge }, { origin: 'https://evil.example' }) as Assertion }, 'refused');
    await agree(a, { response: a.get({ challenge }, { origin: 'https://dinhdanh.example.gov.vn.evil.example' }) as Assertion }, 'refused');
    // An origin is one of those expected.
    await agree(a, { response: a.get({ challenge }, { origin: 'https://other.example' }) as Assertion, origins: [origin, 'https://other.example'] }, 'accepted');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, type: 'webauthn.create' }) }), 'refused');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, type: undefined }) }), 'refused');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, crossOrigin: true, topOrigin: 'https://evil.example' }) }), 'refused');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, crossOrigin: false, topOrigin: origin }) }), 'refused');
    // The library's rule: cross-origin without a top origin passes on the origin check.
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, crossOrigin: true }) }), 'accepted');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, tokenBinding: { status: 'present', id: 'x' } }) }), 'accepted');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, tokenBinding: { status: 'forged' } }) }), 'refused');
    await agree(a, resigned(a, { clientData: (c) => ({ ...c, tokenBinding: 'present' }) }), 'refused');
    // The client data is what was signed.
    const r = a.get({ challenge }) as Assertion;
    await agree(a, { response: { ...r, response: { ...r.response, clientDataJSON: Buffer.from(Buffer.from(r.response.clientDataJSON, 'base64url').toString().replace('}', ',"x":1}')).toString('base64url') } } }, 'refused');
  });

  it('refuses another RP ID hash, missing presence or verification, impossible backup flags and malformed authenticator data as the library does', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    const setFlags = (f: (flags: number) => number) => (b: Buffer) => Buffer.concat([b.subarray(0, 32), Buffer.from([f(b[32])]), b.subarray(33)]);
    await agree(a, resigned(a, { authData: (b) => Buffer.concat([createHash('sha256').update('evil.example').digest(), b.subarray(32)]) }), 'refused');
    await agree(a, resigned(a, { authData: (b) => { const c = Buffer.from(b); c[0] ^= 1; return c; } }), 'refused');
    await agree(a, resigned(a, { authData: setFlags((f) => f & ~0x01) }), 'refused'); // UP
    await agree(a, resigned(a, { authData: setFlags((f) => f & ~0x04) }), 'refused'); // UV (our policy requires it)
    await agree(a, resigned(a, { authData: setFlags((f) => f | 0x10) }), 'refused'); // BS without BE
    await agree(a, resigned(a, { authData: setFlags((f) => f | 0x18) }), 'accepted'); // BE and BS
    await agree(a, resigned(a, { authData: setFlags((f) => f | 0x40) }), 'refused'); // AT without attested data
    await agree(a, resigned(a, { authData: setFlags((f) => f | 0x80) }), 'refused'); // ED without extensions
    // Extensions present and announced: parsed by the library's own parser, accepted by both.
    await agree(a, resigned(a, { authData: (b) => Buffer.concat([setFlags((f) => f | 0x80)(b), Buffer.from(isoCBOR.encode(new Map([['credProtect', 1]]) as never))]) }), 'accepted');
    await agree(a, resigned(a, { authData: (b) => Buffer.concat([b, Buffer.from([0])]) }), 'refused'); // leftover bytes
    await agree(a, resigned(a, { authData: (b) => b.subarray(0, 36) }), 'refused'); // too short
  });

  it('refuses a counter that did not advance past a stored one as the library does', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    await agree(a, { response: a.get({ challenge }, { counter: 3 }) as Assertion, counter: 5 }, 'refused');
    await agree(a, { response: a.get({ challenge }, { counter: 5 }) as Assertion, counter: 5 }, 'refused');
    await agree(a, { response: a.get({ challenge }, { counter: 0 }) as Assertion, counter: 5 }, 'refused');
    await agree(a, { response: a.get({ challenge }, { counter: 6 }) as Assertion, counter: 5 }, 'accepted');
  });

  it('refuses a tampered signature, another key, and a credential ID not base64url-equal to its raw ID as the library does', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    const other = new SoftAuthenticator(origin, rpId);
    for (const at of [(n: number) => n - 1, (n: number) => n >> 1, () => 10, () => 0]) {
      const r = a.get({ challenge }) as Assertion;
      await agree(a, { response: { ...r, response: { ...r.response, signature: flip(r.response.signature, at) } } }, 'refused');
    }
    const r = a.get({ challenge }) as Assertion;
    await agree(a, { response: { ...r, response: { ...r.response, signature: other.get({ challenge }).response.signature } } }, 'refused');
    await agree(a, { response: r, publicKey: cosePublicKey(other) }, 'refused');
    await agree(a, { response: { ...r, id: other.id } }, 'refused');
    await agree(a, { response: { ...r, type: 'other' as never } }, 'refused');
    await agree(a, { response: { ...r, response: { ...r.response, authenticatorData: `${r.response.authenticatorData}!` } } }, 'refused');
  });

  it('differs from the library on two points only, each stricter: the credential ID must be the passkey’s, and the signature must be DER', async () => {
    const a = new SoftAuthenticator(origin, rpId);
    const other = new SoftAuthenticator(origin, rpId);
    // The library does not compare the response's ID with the credential's (its caller looks the
    // credential up by it, as the service does); ours refuses the mismatch as well.
    const r = a.get({ challenge }) as Assertion;
    const renamed = { response: { ...r, id: other.id, rawId: other.id } };
    expect((await library(renamed, a)).verdict).toBe('accepted');
    expect(ours(renamed, a)).toMatchObject({ verdict: 'refused', reason: 'Credential ID does not match the passkey' });
    // A BER long-form length in the signature's SEQUENCE, or a SEQUENCE length one byte short:
    // the library's ASN.1 parser takes both, OpenSSL's DER parser neither (WebAuthn §6.5.5 says DER).
    const der = Buffer.from(r.response.signature, 'base64url');
    expect(der[0]).toBe(0x30);
    const short = Buffer.from(der);
    short[1] -= 1;
    for (const signature of [Buffer.concat([Buffer.from([0x30, 0x81, der[1]]), der.subarray(2)]), short]) {
      const notDer = { response: { ...r, response: { ...r.response, signature: signature.toString('base64url') } } };
      expect((await library(notDer, a)).verdict).toBe('accepted');
      expect(ours(notDer, a).verdict).toBe('refused');
    }
  });

  it('imports only ES256 P-256 keys; any other key is left to the library', () => {
    const a = new SoftAuthenticator(origin, rpId);
    expect(es256KeyOf(cosePublicKey(a))?.asymmetricKeyType).toBe('ec');
    const { publicJwk } = a.state();
    const x = Buffer.from(publicJwk.x, 'base64url');
    const y = Buffer.from(publicJwk.y, 'base64url');
    const cose = (entries: [number, number | Uint8Array][]) => isoCBOR.encode(new Map(entries) as never);
    expect(es256KeyOf(cose([[1, 2], [3, -35], [-1, 1], [-2, x], [-3, y]]))).toBeNull(); // ES384 on P-256
    expect(es256KeyOf(cose([[1, 2], [3, -7], [-1, 2], [-2, x], [-3, y]]))).toBeNull(); // another curve
    expect(es256KeyOf(cose([[1, 1], [3, -8], [-1, 6], [-2, x]]))).toBeNull(); // EdDSA
    expect(es256KeyOf(cose([[1, 2], [3, -7], [-1, 1], [-2, x], [-3, Buffer.alloc(32, 7)]]))).toBeNull(); // not on the curve
    expect(es256KeyOf(cose([[1, 2], [3, -7], [-1, 1], [-2, x]]))).toBeNull(); // no y
    expect(es256KeyOf(Buffer.from('not cbor'))).toBeNull();
  });
});
