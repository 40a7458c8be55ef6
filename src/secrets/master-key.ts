import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

/**
 * The key that seals secrets at rest in the database (token signing keys, client secrets, cookie
 * keys): AES-256-GCM under a key derived from the operator's passphrase with scrypt
 * (N=2^17, r=8, p=1: ~128 MiB, a fraction of a second, once per process start). The additional
 * data names what a blob is (`oidc_keys:<kid>`), so a sealed value cannot be moved to another row.
 *
 * Blob layout: version (1) ‖ IV (12) ‖ tag (16) ‖ ciphertext.
 */
export const KDF = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;
const VERSION = 1;
const CHECK_PLAINTEXT = Buffer.from('tinnhiem master key check v1');

export class WrongPassphraseError extends Error {
  constructor() {
    super('the master passphrase does not open this installation\'s sealed keys (wrong MASTER_PASSPHRASE / MASTER_PASSPHRASE_FILE?)');
    this.name = 'WrongPassphraseError';
  }
}

export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  static async derive(passphrase: string, salt: Buffer): Promise<MasterKey> {
    if (passphrase.length < 12) throw new Error('the master passphrase must have at least 12 characters');
    return new MasterKey(await scrypt(passphrase, salt, 32, KDF));
  }

  seal(plaintext: Buffer, aad: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer, aad: string): Buffer {
    if (sealed.length < 29 || sealed[0] !== VERSION) throw new Error(`sealed value for ${aad} has an unknown format`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 13));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(13, 29));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
    } catch {
      throw new Error(`sealed value for ${aad} does not open: wrong key or tampered data`);
    }
  }

  /** A value stored once at initialisation; opening it proves the passphrase is the right one. */
  checkValue(): Buffer {
    return this.seal(CHECK_PLAINTEXT, 'master-key-check');
  }

  verifyCheckValue(check: Buffer): void {
    try {
      const plain = this.open(check, 'master-key-check');
      if (plain.length !== CHECK_PLAINTEXT.length || !timingSafeEqual(plain, CHECK_PLAINTEXT)) throw new WrongPassphraseError();
    } catch {
      throw new WrongPassphraseError();
    }
  }
}
