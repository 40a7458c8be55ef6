import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM with a key derived from the CSRF secret: shared by every node, unreadable and
 * unforgeable by the browser. Each purpose (pending login, pending link, logout) has its own key.
 */
export class Sealer {
  private readonly key: Buffer;
  constructor(secret: Buffer, purpose: string) {
    this.key = createHmac('sha256', secret).update(`federation-seal:${purpose}`).digest();
  }

  seal(value: object): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The sealed value, or null when it is absent, forged, damaged or past its `exp` (ms) at `now`. */
  open<T extends { exp: number }>(token: string | undefined, now: Date): T | null {
    if (!token) return null;
    try {
      const raw = Buffer.from(token, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const value = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as T;
      return typeof value.exp === 'number' && value.exp > now.getTime() ? value : null;
    } catch {
      return null;
    }
  }
}
