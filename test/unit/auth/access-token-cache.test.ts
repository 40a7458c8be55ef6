import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { AccessTokenVerifier } from '../../../src/auth/access-token-verifier.js';

const ISSUER = 'https://id.example/oidc';
const AUDIENCE = 'https://id.example/api';

async function signer(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK;
  const sign = (claims: JWTPayload, iat: number, exp: number) =>
    new SignJWT({ client_id: 'c1', scope: 'signatures:validate', ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('c1').setIssuedAt(iat).setExpirationTime(exp).sign(privateKey);
  return { jwk, sign };
}

/**
 * The verifier remembers a token whose signature verified (src/auth/access-token-verifier.ts);
 * what the token's bytes cannot decide is judged again at every use.
 */
describe('verified access tokens are remembered, but never past what they prove', () => {
  it('a cached token is refused once it expires, once it is revoked, and after a key rotation without its key', async () => {
    let now = 1_800_000_000_000;
    const revoked = new Set<string>();
    const a = await signer('a');
    const b = await signer('b');
    let keys = { version: '1', jwks: [a.jwk] };
    const verifier = new AccessTokenVerifier(ISSUER, AUDIENCE, () => keys, 5, { now: () => new Date(now) }, { revokedBecause: (c) => (revoked.has(String(c.jti)) ? 'the access token was revoked' : null) });
    const t = Math.floor(now / 1000);
    const token = await a.sign({ jti: 'j1' }, t, t + 60);
    expect((await verifier.verify(token)).clientId).toBe('c1');
    expect((await verifier.verify(token)).clientId).toBe('c1');
    // Revocation is consulted at every use, cached or not.
    revoked.add('j1');
    await expect(verifier.verify(token)).rejects.toThrow('the access token was revoked');
    revoked.delete('j1');
    // Expiry (beyond the 5 s tolerance) is judged against the clock at every use.
    now += 66_000;
    await expect(verifier.verify(token)).rejects.toThrow('the access token expired');
    now -= 66_000;
    expect((await verifier.verify(token)).clientId).toBe('c1');
    // A key rotation that drops key a: the cached token verifies again, and fails.
    keys = { version: '2', jwks: [b.jwk] };
    await expect(verifier.verify(token)).rejects.toThrow(/signature does not verify/);
  });

  it('a token altered by one character is verified on its own (the cache is keyed by the exact text)', async () => {
    const now = 1_800_000_000_000;
    const a = await signer('a');
    const verifier = new AccessTokenVerifier(ISSUER, AUDIENCE, () => ({ version: '1', jwks: [a.jwk] }), 5, { now: () => new Date(now) });
    const t = Math.floor(now / 1000);
    const token = await a.sign({}, t, t + 60);
    await verifier.verify(token);
    const [h, p, s] = token.split('.');
    const forged = [h, Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url'), s].join('.');
    await expect(verifier.verify(forged)).rejects.toThrow(/signature does not verify/);
    const notYet = await a.sign({ nbf: t + 600 }, t, t + 900);
    await expect(verifier.verify(notYet)).rejects.toThrow(/not valid here|nbf/);
  });
});
