/**
 * What the validator's process-wide caches hold for one signer, asked without touching them
 * (no parse, no import, no LRU move): the benchmark's check that its cold pass is cold
 * (bench/validate.ts: every counted signer's certificate, key, signature and chain link unseen
 * before the pass, and seen after it, which shows the probe itself works).
 */
import { cachedCertBySha256 } from './cert.js';
import { linkHeld } from './chain.js';
import { cmsHeld } from './cms.js';
import { keyImported } from './keys.js';

export interface SignerProbe {
  /** SHA-256 (hex) of the signer certificate's DER. */
  certSha256: string;
  /** The signer certificate's SubjectPublicKeyInfo (DER). */
  spki: Uint8Array;
  /** The CMS signature's bytes. */
  signature: Uint8Array;
  /** SHA-256 (hex) of the issuing CA certificate's DER. */
  issuerSha256: string;
}

/** Which of the caches hold something of this signer (an empty list: all cold). */
export function coldCacheProbe(s: SignerProbe): Array<'certificate' | 'key' | 'signature' | 'chain link'> {
  const held: Array<'certificate' | 'key' | 'signature' | 'chain link'> = [];
  if (cachedCertBySha256(s.certSha256)) held.push('certificate');
  if (keyImported(s.spki)) held.push('key');
  if (cmsHeld(s.signature)) held.push('signature');
  if (linkHeld(s.certSha256, s.issuerSha256)) held.push('chain link');
  return held;
}

/**
 * The registered names (ca/cache-registry.ts) of the caches that hold something of one signer:
 * what the probe asks, and the registry records of the revocation check. Emptied, a signer seen
 * before is cold again (bench/validate.ts's warm-up rounds).
 */
export const VALIDATOR_SIGNER_CACHES = ['parsed certificates', 'validation keys', 'parsed CMS', 'signature verdicts', 'registry records'] as const;
