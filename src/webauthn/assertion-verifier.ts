import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { decodeClientDataJSON, decodeCredentialPublicKey, isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';

/**
 * The assertion check of @simplewebauthn/server 14's verifyAuthenticationResponse (WebAuthn Level 2
 * §7.2), for ES256 passkeys only, with the public key imported once per passkey. The library
 * imports the COSE key into WebCrypto at every assertion (about 0.2 ms of the main thread here) and
 * hashes through WebCrypto's thread-pool jobs; this does the same checks, in the library's order
 * and with its messages, with a node:crypto KeyObject the caller keeps and synchronous hashes
 * (docs/performance.md, "Passkey login, tenth pass"). Its parsing is the library's own helpers
 * (client data, base64url, authenticator data with its extensions and leftover-bytes check).
 * Any other key (EdDSA, RS256, another curve, a malformed one) has no KeyObject here and is
 * verified by the library. `test/unit/webauthn/assertion-verifier.test.ts` feeds both the same
 * inputs and requires the same verdict.
 *
 * Two points are stricter than the library, on purpose: the response's credential ID must be the
 * passkey's (the library leaves that to its caller, who looks the passkey up by it, as ours does);
 * and the signature must be DER (OpenSSL's parser), where the library's ASN.1 parser also takes a
 * long-form length or a SEQUENCE length one byte short. WebAuthn §6.5.5 requires DER.
 */

export interface AssertionExpectations {
  challenge: string;
  origins: readonly string[];
  /** SHA-256 of each accepted RP ID (WebAuthn §7.2 step 15), hashed once. */
  rpIdHashes: readonly Buffer[];
  requireUserVerification: boolean;
}

export interface Es256Credential {
  id: string;
  /** The counter stored for the credential; 0 leaves the counter rule to the caller (as the library does). */
  counter: number;
  key: KeyObject;
}

/** What the caller uses of the library's `authenticationInfo`, with the same meaning. */
export interface VerifiedAssertion {
  newCounter: number;
  userVerified: boolean;
  credentialDeviceType: 'singleDevice' | 'multiDevice';
  credentialBackedUp: boolean;
}

export const rpIdHash = (rpId: string): Buffer => createHash('sha256').update(rpId, 'ascii').digest();

/**
 * The KeyObject of a COSE EC2 P-256 key with alg ES256 (-7), as the library reads it (kty 2, crv 1,
 * x and y of 32 bytes); null for any other key, which the library then verifies.
 */
export function es256KeyOf(publicKey: Uint8Array): KeyObject | null {
  let cose: Map<number, unknown>;
  try {
    cose = decodeCredentialPublicKey(new Uint8Array(publicKey)) as unknown as Map<number, unknown>;
  } catch {
    return null;
  }
  if (!(cose instanceof Map)) return null;
  const x = cose.get(-2);
  const y = cose.get(-3);
  if (cose.get(1) !== 2 || cose.get(3) !== -7 || cose.get(-1) !== 1) return null;
  if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array) || x.length !== 32 || y.length !== 32) return null;
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(x).toString('base64url'), y: Buffer.from(y).toString('base64url') }, format: 'jwk' });
  } catch {
    // Not a point of the curve: the library's import refuses it too, with its own message.
    return null;
  }
}

/** Throws, as the library does, when the assertion does not verify; else what it proves. */
export function verifyEs256Assertion(response: AuthenticationResponseJSON, expected: AssertionExpectations, credential: Es256Credential): VerifiedAssertion {
  const { id, rawId, type: credentialType, response: assertionResponse } = response;
  if (!id) throw new Error('Missing credential ID');
  if (id !== rawId) throw new Error('Credential ID was not base64url-encoded');
  // Not checked by the library, whose caller looks the credential up by this ID (so is ours).
  if (id !== credential.id) throw new Error('Credential ID does not match the passkey');
  if (credentialType !== 'public-key') throw new Error(`Unexpected credential type ${String(credentialType)}, expected "public-key"`);
  if (typeof assertionResponse?.clientDataJSON !== 'string') throw new Error('Credential response clientDataJSON was not a string');

  // §7.2 steps 11–14: the client data's type, challenge, origin (and the library's topOrigin rule).
  const clientData = decodeClientDataJSON(assertionResponse.clientDataJSON) as { type?: unknown; origin?: unknown; challenge?: unknown; tokenBinding?: unknown; crossOrigin?: unknown; topOrigin?: unknown };
  if (clientData.type !== 'webauthn.get') throw new Error(`Unexpected authentication response type: ${String(clientData.type)}`);
  if (clientData.challenge !== expected.challenge) throw new Error(`Unexpected authentication response challenge "${String(clientData.challenge)}", expected "${expected.challenge}"`);
  // No top origin is expected: the library refuses any topOrigin (cross-origin or not), and a
  // cross-origin response without one (Safari sends none) passes, on the origin check below.
  if (clientData.topOrigin) {
    throw new Error(
      clientData.crossOrigin
        ? `Detected cross-origin authentication response from top origin of "${String(clientData.topOrigin)}", but a value for \`expectedTopOrigin\` was not specified when calling \`verifyAuthenticationResponse()\``
        : `Unexpected top origin of "${String(clientData.topOrigin)}" within a non-cross-origin authentication response.`,
    );
  }
  if (!expected.origins.includes(clientData.origin as string)) {
    throw new Error(`Unexpected authentication response origin "${String(clientData.origin)}", expected one of: ${expected.origins.join(', ')}`);
  }
  if (!isoBase64URL.isBase64URL(assertionResponse.authenticatorData)) throw new Error('Credential response authenticatorData was not a base64url string');
  if (!isoBase64URL.isBase64URL(assertionResponse.signature)) throw new Error('Credential response signature was not a base64url string');
  if (assertionResponse.userHandle && typeof assertionResponse.userHandle !== 'string') throw new Error('Credential response userHandle was not a string');
  const tokenBinding = clientData.tokenBinding as { status?: unknown } | undefined;
  if (tokenBinding) {
    if (typeof tokenBinding !== 'object') throw new Error('ClientDataJSON tokenBinding was not an object');
    if (!['present', 'supported', 'notSupported'].includes(tokenBinding.status as string)) throw new Error(`Unexpected tokenBinding status ${String(tokenBinding.status)}`);
  }

  // §7.2 steps 15–17: the RP ID hash, user presence, user verification as our policy requires.
  const authData = isoBase64URL.toBuffer(assertionResponse.authenticatorData);
  const { rpIdHash: presented, flags, counter } = parseAuthenticatorData(authData);
  if (!expected.rpIdHashes.some((h) => h.equals(presented))) throw new Error('Unexpected RP ID hash');
  if (!flags.up) throw new Error('User not present during authentication');
  if (expected.requireUserVerification && !flags.uv) throw new Error('User verification required, but user could not be verified');

  // §7.2 step 21, the library's rule (the caller passes 0 and checks under a row lock).
  if ((counter > 0 || credential.counter > 0) && counter <= credential.counter) {
    throw new Error(`Response counter value ${counter} was lower than expected ${credential.counter}`);
  }
  // Backup eligibility and state (§6.1): backed up but not eligible is impossible.
  if (!flags.be && flags.bs) throw new Error('Single-device credential indicated that it was backed up, which should be impossible.');

  // §7.2 steps 19–20: the signature over authData || SHA-256(clientDataJSON).
  const clientDataHash = createHash('sha256').update(isoBase64URL.toBuffer(assertionResponse.clientDataJSON)).digest();
  const signature = isoBase64URL.toBuffer(assertionResponse.signature);
  let verified: boolean;
  try {
    verified = verify('sha256', Buffer.concat([authData, clientDataHash]), { key: credential.key, dsaEncoding: 'der' }, signature);
  } catch {
    // Not a DER ECDSA-Sig-Value: the library's parser throws on such bytes as well.
    throw new Error('Signature is not an ECDSA-Sig-Value');
  }
  if (!verified) throw new Error('Signature does not verify');
  return { newCounter: counter, userVerified: flags.uv, credentialDeviceType: flags.be ? 'multiDevice' : 'singleDevice', credentialBackedUp: flags.bs };
}
