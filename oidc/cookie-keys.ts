import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** What oidc-provider's cookies (the `cookies` package) ask of their signing keys: Keygrip's three methods. */
export interface CookieSigner {
  sign(data: string): string;
  verify(data: string, digest: string): boolean;
  index(data: string, digest: string): number;
}

/**
 * The cookies' signatures as Keygrip makes them with oidc-provider's defaults (HMAC-SHA1 of
 * `name=value`, base64url without padding, the first key signing, every key verifying): the same
 * strings, so cookies signed before an upgrade, or by another node not yet upgraded, still verify.
 *
 * Two costs of Keygrip on every signed cookie read are not paid here (docs/performance.md,
 * "Passkey login, ninth pass"): each key is imported once as a KeyObject rather than from its
 * string at every HMAC, and the presented signature is compared with `timingSafeEqual` on equal
 * lengths rather than by tsscmp, which draws random bytes and computes two more HMACs to compare
 * two strings. The comparison stays constant-time in the signature's bytes; its length (27
 * characters for every cookie) is no secret.
 */
export function cookieSigner(keys: readonly string[]): CookieSigner {
  if (!keys.length) throw new Error('cookie keys: at least one is required');
  const imported: KeyObject[] = keys.map((k) => createSecretKey(Buffer.from(k, 'utf8')));
  const mac = (data: string, key: KeyObject) => createHmac('sha1', key).update(data).digest();
  return {
    sign: (data) => mac(data, imported[0]).toString('base64url'),
    verify(data, digest) {
      return this.index(data, digest) > -1;
    },
    index(data, digest) {
      if (typeof digest !== 'string') return -1;
      const presented = Buffer.from(digest, 'base64url');
      // Only the canonical text of a 20-byte MAC: base64url decoding skips characters outside its
      // alphabet, which Keygrip's string comparison would not have accepted.
      if (presented.length !== 20 || presented.toString('base64url') !== digest) return -1;
      for (let i = 0; i < imported.length; i++) {
        if (timingSafeEqual(presented, mac(data, imported[i]))) return i;
      }
      return -1;
    },
  };
}
