/**
 * Named validation policies (docs/validation.md, "Policy"), selectable per request. The default
 * follows the EU DSS validator's default constraints: an algorithm past its sunset date gives
 * INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE_NO_POE unless a proof of existence (a trusted
 * time-stamp) dates the signature before that sunset.
 */
import type { Candidate } from './chain.js';
import type { Cert } from './cert.js';
import type { SignerCheck } from './cms.js';
import { indeterminate, type Verdict } from './indications.js';

export const POLICY_NAMES = ['default', 'legacy'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface ValidationPolicy {
  name: PolicyName;
  description: string;
  /** Sunset dates of weak algorithms; null: weak algorithms only warn. */
  sunsets: { sha1: Date; rsaBelow2048: Date } | null;
}

export const POLICIES: Record<PolicyName, ValidationPolicy> = {
  default: {
    name: 'default',
    description: 'SHA-1 (sunset 2012-01-01) and RSA keys under 2048 bits (sunset 2016-01-01) are refused unless a trusted time-stamp proves the signature existed before the sunset',
    sunsets: { sha1: new Date('2012-01-01T00:00:00Z'), rsaBelow2048: new Date('2016-01-01T00:00:00Z') },
  },
  legacy: {
    name: 'legacy',
    description: 'weak algorithms (SHA-1, RSA under 2048 bits) are reported as warnings only (the verdicts before the default policy)',
    sunsets: null,
  },
};

const rsaBelow2048 = (cert: Cert) => /^RSA-(\d+)$/.test(cert.keyDescription) && Number(cert.keyDescription.slice(4)) < 2048;

/** The weak algorithms a signature relies on: its digest, its signer's key, its chain's signatures and keys. */
function weaknesses(check: Pick<SignerCheck, 'digest' | 'signatureAlgorithm'>, cert: Cert | null, path: Candidate[] | null): Array<{ what: string; sunset: 'sha1' | 'rsaBelow2048' }> {
  const found: Array<{ what: string; sunset: 'sha1' | 'rsaBelow2048' }> = [];
  if (check.digest === 'sha1' || /sha-?1(?!\d)/i.test(check.signatureAlgorithm ?? '')) found.push({ what: 'the signature uses SHA-1', sunset: 'sha1' });
  if (cert && rsaBelow2048(cert)) found.push({ what: `the signer's key is ${cert.keyDescription}`, sunset: 'rsaBelow2048' });
  for (const [i, c] of (path ?? []).entries()) {
    if (i === 0 || c.anchor) continue; // the anchor is trusted by configuration, not by its signature
    if (c.cert.signatureHashWeak) found.push({ what: `the CA certificate "${c.cert.subjectDn}" is signed with SHA-1`, sunset: 'sha1' });
    if (rsaBelow2048(c.cert)) found.push({ what: `the CA certificate "${c.cert.subjectDn}" has a ${c.cert.keyDescription} key`, sunset: 'rsaBelow2048' });
  }
  if (path?.[0] && path[0].cert.signatureHashWeak && path.length > 1) found.push({ what: 'the signer\'s certificate is signed with SHA-1', sunset: 'sha1' });
  return found;
}

/** The policy's cryptographic constraints (ETSI EN 319 102-1 §5.2.8) with the proof of existence. */
export function cryptoConstraints(policy: ValidationPolicy, check: Pick<SignerCheck, 'digest' | 'signatureAlgorithm'>, cert: Cert | null, path: Candidate[] | null, poe: Date | null): { verdict: Verdict | null; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const sunsets = policy.sunsets;
  for (const w of weaknesses(check, cert, path)) {
    if (!sunsets) {
      warnings.push(`${w.what}: weak (policy ${policy.name})`);
      continue;
    }
    const sunset = sunsets[w.sunset];
    if (poe && poe < sunset) warnings.push(`${w.what}, past its sunset ${sunset.toISOString().slice(0, 10)}; a time-stamp proves the signature existed before it`);
    else errors.push(`${w.what}, past its sunset ${sunset.toISOString().slice(0, 10)} under the policy "${policy.name}", and no time-stamp proves the signature existed before it`);
  }
  return { verdict: errors.length ? indeterminate('CRYPTO_CONSTRAINTS_FAILURE_NO_POE') : null, errors, warnings };
}
