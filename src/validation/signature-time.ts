/**
 * Time comes only from proof (docs/validation.md, "Time"; ETSI EN 319 102-1 §5.6.2): the
 * earliest valid RFC 3161 time-stamp over the signature value (its own unsigned attribute, or a
 * token the caller supplies), or a PDF document time-stamp covering it, from a TSA trusted for
 * time-stamping. Claimed times (signingTime, /M, the caller's validationTime) are reported only.
 */
import type { CertPool, PathSearch } from './chain.js';
import type { SignerCheck } from './cms.js';
import { checkTimestampToken } from './evidence.js';
import { indeterminate, type Verdict } from './indications.js';
import type { ProofOfExistence, TimestampReport } from './report.js';
import type { RevocationChecker } from './revocation.js';

export interface SignatureTime {
  poe: ProofOfExistence | null;
  timestamp: TimestampReport | null;
  supplied: TimestampReport[];
  warnings: string[];
}

const earlier = (a: ProofOfExistence | null, b: ProofOfExistence | null): ProofOfExistence | null => (!a ? b : !b ? a : new Date(b.time) < new Date(a.time) ? b : a);

export async function signatureTime(revocation: RevocationChecker, check: SignerCheck, tsaPool: CertPool, supplied: readonly Uint8Array[], documentPoe: ProofOfExistence | null, now: Date, search?: PathSearch): Promise<SignatureTime> {
  const warnings: string[] = [];
  let poe: ProofOfExistence | null = documentPoe;
  let timestamp: TimestampReport | null = null;
  if (check.timestampToken) {
    const ts = await checkTimestampToken(revocation, check.timestampToken, check.signatureValue, tsaPool, 'signature', now, search);
    timestamp = ts.report;
    if (ts.report.indication === 'TOTAL_PASSED' && ts.genTime) poe = earlier(poe, { time: ts.genTime.toISOString(), source: 'signature-timestamp', tsa: ts.report.tsa });
    else warnings.push(`the signature time-stamp is not usable (${ts.report.subIndication ?? 'invalid'}): it proves no time`);
  }
  const reports: TimestampReport[] = [];
  for (const token of supplied) {
    const ts = await checkTimestampToken(revocation, token, check.signatureValue, tsaPool, 'supplied', now, search);
    if (!ts.report.messageImprintMatches) continue; // a token over another signature value
    reports.push(ts.report);
    if (ts.report.indication === 'TOTAL_PASSED' && ts.genTime) poe = earlier(poe, { time: ts.genTime.toISOString(), source: 'supplied-timestamp', tsa: ts.report.tsa });
    else warnings.push(`a supplied time-stamp is not usable (${ts.report.subIndication ?? 'invalid'}): it proves no time`);
  }
  return { poe, timestamp, supplied: reports, warnings };
}

/**
 * The signer's certificate expired (or not yet valid) at the validation time (ETSI EN 319 102-1
 * §5.2.6, Table 6): with a proof of existence outside the validity, TOTAL_FAILED stands (the
 * signature was made then); without one, INDETERMINATE: OUT_OF_BOUNDS_NOT_REVOKED when the
 * certificate is known not to be revoked, else OUT_OF_BOUNDS_NO_POE.
 */
export function outOfBounds(chain: Verdict | null, hasPoe: boolean, revocationClean: boolean): Verdict | null {
  if (!chain || hasPoe || chain.subIndication !== 'EXPIRED') return chain;
  return indeterminate(revocationClean ? 'OUT_OF_BOUNDS_NOT_REVOKED' : 'OUT_OF_BOUNDS_NO_POE');
}
