/**
 * The issuance pipeline up to the signature (Boulder's prepare → lint): key policy, name policy,
 * template, lint. The caller then records the prepared certificate (serial reserved, TBS kept)
 * before signing it, so a crash can never leave a signed certificate unrecorded.
 */
import type { Profile } from '../profiles/profile.js';
import type { Issuer } from './issuer.js';
import { checkKeyPolicy } from './key-policy.js';
import { assertLintClean, lintCertificate } from './lint.js';
import { checkNamePolicy } from './name-policy.js';
import type { IssuanceRequest } from './request.js';
import { buildTemplate, type PreparedCertificate } from './template.js';

export interface PrepareParams {
  request: IssuanceRequest;
  profile: Profile;
  issuer: Issuer;
  now: Date;
  /** From newSerial(), reserved by the caller. */
  serial: string;
}

/** Policy-checked, built and linted; throws `policyViolation` for the request, `lintFailed` for the CA. */
export function prepareCertificate({ request, profile, issuer, now, serial }: PrepareParams): PreparedCertificate {
  checkKeyPolicy(request.spki, profile);
  const prepared = buildTemplate(checkNamePolicy(request, profile), profile, issuer, now, serial);
  assertLintClean(lintCertificate(prepared.tbs, profile, issuer), `certificate ${serial} (profile ${profile.id})`);
  return prepared;
}
