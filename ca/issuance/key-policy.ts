/**
 * Public-key policy (CA/Browser Forum BR §6.1.5–6.1.6 as the reference, the profile for the
 * allowed types): RSA of an allowed size (never below 2048) with a sane exponent and no small
 * factors, or EC on a named curve the profile allows (RFC 5480 §2.1.1: namedCurve only).
 * Reuse of a key by another active certificate is checked by the caller through the ports.
 */
import { CaError } from '../errors.js';
import { publicKeyObject } from '../asn1/algorithms.js';
import { describePublicKey, type PublicKeyDescription } from '../asn1/public-key.js';
import type { Profile } from '../profiles/profile.js';

/** Odd primes below 1000: a modulus with such a factor is broken (Boulder's goodkey does the same). */
const smallPrimes = ((limit) => {
  const primes: bigint[] = [];
  for (let n = 3; n < limit; n += 2) if (primes.every((p) => BigInt(n) % p !== 0n)) primes.push(BigInt(n));
  return primes;
})(1000);

function allowedKeysText(profile: Profile): string {
  const ec = profile.keys.ec.length ? [`EC ${profile.keys.ec.join(', ')}`] : [];
  const rsa = profile.keys.rsa.length ? [`RSA ${profile.keys.rsa.join(', ')}`] : [];
  return [...ec, ...rsa].join('; ');
}

/** Every reason `spki` is unacceptable for `profile` (empty when acceptable). */
export function keyPolicyProblems(spki: Uint8Array, profile: Profile): { key: PublicKeyDescription; problems: string[] } {
  const key = describePublicKey(spki);
  const allowed = `profile ${profile.id} allows ${allowedKeysText(profile)}`;
  const problems: string[] = [];
  if (key.type === 'ec') {
    if (key.explicit) problems.push('EC keys with explicit curve parameters are not accepted (RFC 5480 §2.1.1: namedCurve only)');
    else if (!key.curve) problems.push(`EC key on an unknown or disallowed curve: ${key.curveName}; ${allowed}`);
    else if (!profile.keys.ec.includes(key.curve)) problems.push(`EC ${key.curve} keys are not allowed: ${allowed}`);
  } else if (key.type === 'rsa') {
    if (key.bits < 2048) problems.push(`RSA keys below 2048 bits are not accepted (got RSA-${key.bits})`);
    else if (!(profile.keys.rsa as number[]).includes(key.bits)) problems.push(`RSA-${key.bits} keys are not allowed: ${allowed}`);
    // BR §6.1.6: odd, at least 3, and in [2^16+1, 2^256-1].
    if (key.exponent % 2n === 0n || key.exponent < 65537n || key.exponent >= 1n << 256n) {
      problems.push(`RSA public exponent ${key.exponent} is not acceptable (must be odd, from 65537 to 2^256-1)`);
    }
    const factor = key.modulus % 2n === 0n ? 2n : smallPrimes.find((p) => key.modulus % p === 0n);
    if (factor) problems.push(`RSA modulus is divisible by ${factor}: the key is broken`);
  } else {
    problems.push(`${key.algorithm} keys are not allowed: ${allowed}`);
  }
  if (problems.length === 0) {
    try {
      // OpenSSL checks that an EC point lies on its curve when it decodes the key.
      publicKeyObject(spki);
    } catch (error) {
      problems.push(`public key is unusable: ${(error as Error).message}`);
    }
  }
  return { key, problems };
}

export function checkKeyPolicy(spki: Uint8Array, profile: Profile): PublicKeyDescription {
  const { key, problems } = keyPolicyProblems(spki, profile);
  if (problems.length) throw new CaError('policyViolation', problems.join('; '), { problems });
  return key;
}
