import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Password hashing with scrypt (RFC 7914) from node:crypto: N=2^15, r=8, p=3, 16-byte salt,
 * 32-byte key. That is one of OWASP's equivalent minimum scrypt settings (N=2^17/p=1 at 128 MiB
 * ≈ N=2^15/p=3 at 32 MiB): the same work a guess, a quarter of the memory a login.
 * The encoded form carries its parameters, so they can be raised later and old hashes still verify.
 *
 *   scrypt$<N>$<r>$<p>$<salt b64>$<key b64>
 */
export const PASSWORD_PARAMS = { N: 2 ** 15, r: 8, p: 3, keylen: 32, maxmem: 64 * 1024 * 1024 } as const;

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keylen, maxmem } = PASSWORD_PARAMS;
  const key = await scrypt(password.normalize('NFC'), salt, keylen, { N, r, p, maxmem });
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scrypt(password.normalize('NFC'), salt, expected.length, { N, r, p, maxmem: Math.max(PASSWORD_PARAMS.maxmem, 256 * N * r) });
  return timingSafeEqual(key, expected);
}

/**
 * What an unknown login is verified against, so that it costs what a real one costs: the encoded
 * form with the current parameters, a random salt and a random key. No password hashes to it
 * (a 256-bit key, guessed), and it is made without hashing anything, so no login ever pays for
 * making it: it was a hash of a random password made at the first unknown login of each process,
 * whose answer then took two hashes' time, telling that login name apart.
 */
let dummy: string | undefined;
export function dummyHash(): Promise<string> {
  const { N, r, p, keylen } = PASSWORD_PARAMS;
  dummy ??= ['scrypt', N, r, p, randomBytes(16).toString('base64'), randomBytes(keylen).toString('base64')].join('$');
  return Promise.resolve(dummy);
}

/**
 * The most common passwords (about 49,000, from leaked-password corpora), as the maintained
 * zxcvbn-ts project publishes them in `@zxcvbn-ts/language-common`: updating that dependency
 * updates the list. Loaded on first use (a synchronous require of the CommonJS build), so commands
 * that never check a password never pay for it.
 */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    common = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  }
  return common;
}

/**
 * Minimum policy: length, not trivially weak, not one of the most common passwords (compared
 * without case), and (when the account is known) not containing its username or national ID
 * (CCCD), which colleagues and forms know. Longer rules belong to the deployment.
 */
export function passwordProblem(password: string, account?: { username: string | null; nationalId: string | null }): string | null {
  if (password.length < 10) return 'the password must have at least 10 characters';
  if (password.length > 256) return 'the password must have at most 256 characters';
  if (/^(.)\1+$/.test(password)) return 'the password must not repeat one character';
  const folded = password.normalize('NFKC').toLowerCase();
  if (commonPasswords().has(folded)) return 'the password is one of the most common passwords';
  if (account?.nationalId && folded.includes(account.nationalId)) return 'the password must not contain the national ID (CCCD)';
  if (account?.username && account.username.length >= 3 && folded.includes(account.username.toLowerCase())) return 'the password must not contain the username';
  return null;
}
