import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * WebAuthn authentication challenges that need no row until they are used (docs/performance.md,
 * "Passkey login, sixth pass"): 16 random bytes (WebAuthn §13.4.3: at least 16), the expiry, and
 * an HMAC-SHA-256 (truncated to 128 bits) over them and what the challenge is bound to (the
 * interaction, and the account of a step-up) under a key derived from the installation's secret,
 * which every node shares. Any node checks a challenge without reading the database; a challenge
 * of another interaction, another account, altered or expired is refused. That a challenge serves
 * once is not the seal's business: its spent marker is written in the statement that accepts the
 * assertion (PasskeyStore.advanceCounterSpendingChallenge).
 *
 *   version (1) | expires at, ms since 1970, big-endian (6) | random (16) | MAC (16)   → 52 base64url chars
 */
const VERSION = 1;
const BODY = 1 + 6 + 16;
const MAC = 16;
const LENGTH = BODY + MAC;
const ENCODED = Math.ceil((LENGTH * 8) / 6);

export class ChallengeSeal {
  private readonly key: Buffer;

  /**
   * `secret`: the installation's form secret; the seal's own key is derived from it (domain
   * separation). The label has no colon: the form tokens and the federation seals are HMACs of the
   * same secret over `purpose:key` texts, so none of them can be this key.
   */
  constructor(secret: Buffer) {
    this.key = createHmac('sha256', secret).update('tinnhiem webauthn authentication challenge v1').digest();
  }

  private mac(body: Buffer, binding: string, accountId: string | null): Buffer {
    const h = createHmac('sha256', this.key);
    // Length-prefixed fields: no two (binding, account) pairs share an input.
    const b = Buffer.from(binding, 'utf8');
    const a = Buffer.from(accountId ?? '', 'utf8');
    const lengths = Buffer.alloc(8);
    lengths.writeUInt32BE(b.length, 0);
    lengths.writeUInt32BE(accountId === null ? 0xffffffff : a.length, 4);
    return h.update(lengths).update(b).update(a).update(body).digest().subarray(0, MAC);
  }

  /** A fresh challenge (its raw bytes, which the options carry base64url-encoded). */
  issue(binding: string, accountId: string | null, expiresAt: Date): Buffer {
    const body = Buffer.alloc(BODY);
    body.writeUInt8(VERSION, 0);
    body.writeUIntBE(Math.max(0, Math.floor(expiresAt.getTime())), 1, 6);
    randomBytes(16).copy(body, 7);
    return Buffer.concat([body, this.mac(body, binding, accountId)]);
  }

  /**
   * The challenge's expiry when it was sealed here for this binding and account, else null
   * (unknown, altered, another interaction's or another account's). The caller compares the expiry
   * with its clock.
   */
  open(challenge: string, binding: string, accountId: string | null): { expiresAt: Date } | null {
    if (challenge.length !== ENCODED || !/^[A-Za-z0-9_-]+$/.test(challenge)) return null;
    const raw = Buffer.from(challenge, 'base64url');
    // Canonical encoding only: one challenge, one spent marker.
    if (raw.length !== LENGTH || raw.toString('base64url') !== challenge || raw[0] !== VERSION) return null;
    const body = raw.subarray(0, BODY);
    if (!timingSafeEqual(raw.subarray(BODY), this.mac(body, binding, accountId))) return null;
    return { expiresAt: new Date(body.readUIntBE(1, 6)) };
  }
}
