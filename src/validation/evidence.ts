/**
 * The evidence a verdict rests on, apart from the signature itself: the revocation status of a
 * path at a time, a signature time-stamp (RFC 3161) with its own chain and status, and the
 * validation of a single certificate.
 */
import type { Clock } from '../lifecycle/clock.js';
import { certSummary, loadCert, signerIdentity } from './cert.js';
import { buildPath, chainView, checkPath, CertPool, PathSearch, type Candidate, type Usage } from './chain.js';
import { checkTimestamp } from './timestamp.js';
import { failed, indeterminate, PASSED, worst, type Verdict } from './indications.js';
import type { CertificateValidationReport, ChainElement, RevocationEvidence, TimestampReport } from './report.js';
import type { RevocationChecker } from './revocation.js';
import type { TrustStore } from './trust-store.js';

export interface CertificateInput {
  certificate: Uint8Array;
  chain?: Uint8Array[];
  validationTime?: Date;
  usage?: Usage;
}

/**
 * How a revocation answer is judged. `poe`: the time is proven (a time-stamp's genTime, or the
 * time a caller asks a certificate's status at) rather than the current time standing in for an
 * unknown signing time; `current`: the time is now (evidence valid now is fresh enough).
 */
export interface RevocationTime {
  time: Date;
  poe: boolean;
  current: boolean;
}

/**
 * Status of every certificate of the path but the anchor (ETSI EN 319 102-1 §5.2.6, §5.6.2.4):
 * revoked after a proven time passes with a note; revoked before it is REVOKED (the signer) or
 * REVOKED_CA_NO_POE; revoked with no proof of when the signature was made is REVOKED_NO_POE.
 * Evidence older than the time it must answer for is not fresh (TRY_LATER); no answer TRY_LATER.
 */
export async function revocationOf(revocation: RevocationChecker, path: Candidate[], at: RevocationTime): Promise<{ evidence: RevocationEvidence[]; verdict: Verdict | null; errors: string[]; warnings: string[] }> {
  const { time } = at;
  const evidence: RevocationEvidence[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const verdicts: Verdict[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i].cert;
    const e = await revocation.check(cert, path[i + 1].cert, time);
    evidence.push(e);
    const who = i === 0 ? 'the signer\'s certificate' : `the CA certificate "${cert.subjectDn}"`;
    if (e.status === 'hold') {
      errors.push(`${who} is on hold since ${e.revokedAt}`);
      verdicts.push(indeterminate('TRY_LATER'));
    } else if (e.status === 'revoked') {
      const revokedAt = e.revokedAt ? new Date(e.revokedAt) : null;
      if (at.poe && revokedAt && time < revokedAt) {
        warnings.push(`${who} was revoked at ${e.revokedAt} (${e.reason ?? 'unspecified'}), after the proven time ${time.toISOString()}: the signature stays valid`);
      } else if (at.poe) {
        errors.push(`${who} was revoked at ${e.revokedAt ?? 'an unknown time'} (${e.reason ?? 'unspecified'}), before the proven time ${time.toISOString()}`);
        verdicts.push(i === 0 ? failed('REVOKED') : indeterminate('REVOKED_CA_NO_POE'));
      } else {
        errors.push(`${who} was revoked at ${e.revokedAt ?? 'an unknown time'} (${e.reason ?? 'unspecified'}) and no time-stamp proves the signature existed before that; a claimed signing time is no proof`);
        verdicts.push(indeterminate(i === 0 ? 'REVOKED_NO_POE' : 'REVOKED_CA_NO_POE'));
      }
    } else if (e.status !== 'good') {
      errors.push(`no revocation status for ${who}: ${e.note ?? e.status}`);
      verdicts.push(indeterminate('TRY_LATER'));
    } else if (!at.current && e.producedAt && new Date(e.producedAt) < time) {
      // Fresh for the time it answers for: issued after it (ETSI EN 319 102-1 §5.2.5).
      errors.push(`the revocation information for ${who} (${e.source}, produced ${e.producedAt}) is older than the time it must answer for (${time.toISOString()})`);
      verdicts.push(indeterminate('TRY_LATER'));
    }
  }
  return { evidence, verdict: verdicts.length ? worst(verdicts) : null, errors, warnings };
}

/**
 * An RFC 3161 time-stamp token over `stamped`: its own signature and imprint, a chain to an
 * anchor trusted for time-stamping (`tsaPool`: docs/validation.md), the TSA's status at genTime.
 */
export async function checkTimestampToken(revocation: RevocationChecker, token: Uint8Array, stamped: Uint8Array, tsaPool: CertPool, origin: TimestampReport['origin'], now: Date, search = new PathSearch()): Promise<{ report: TimestampReport; genTime: Date | null }> {
  const ts = checkTimestamp(token, stamped, tsaPool.all());
  const errors = [...ts.errors];
  const warnings: string[] = [];
  let verdict: Verdict | null = ts.errors.length ? failed(ts.messageImprintMatches ? 'FORMAT_FAILURE' : 'HASH_FAILURE') : null;
  let chain: ChainElement[] = [];
  if (ts.signer) {
    errors.push(...ts.signer.errors);
    verdict = worst([verdict, ts.signer.verdict]);
    if (ts.signer.cert && ts.genTime) {
      const pool = ts.certificates.length ? new CertPool(ts.certificates.map((cert) => ({ cert, source: 'signature' as const, anchor: false })), tsaPool) : tsaPool;
      const built = await buildPath(ts.signer.cert, pool, search);
      chain = chainView(built.partial);
      if (ts.genTime > now) {
        errors.push(`the time-stamp's genTime ${ts.genTime.toISOString()} is in the future`);
        verdict = worst([verdict, failed('FORMAT_FAILURE')]);
      }
      if (!built.path) {
        errors.push(`the time-stamping unit does not chain to an anchor trusted for time-stamping: ${built.problem}`);
        verdict = worst([verdict, indeterminate('NO_CERTIFICATE_CHAIN_FOUND')]);
      } else {
        const checked = checkPath(built.path, ts.genTime, 'timestamping' as Usage);
        warnings.push(...checked.warnings);
        if (checked.failure) {
          errors.push(checked.failure.message);
          verdict = worst([verdict, checked.failure]);
        }
        const rev = await revocationOf(revocation, built.path, { time: ts.genTime, poe: true, current: false });
        errors.push(...rev.errors);
        warnings.push(...rev.warnings);
        verdict = worst([verdict, rev.verdict]);
      }
    }
  }
  return {
    genTime: ts.genTime,
    report: {
      origin,
      genTime: ts.genTime?.toISOString() ?? null,
      tsa: ts.tsaName,
      indication: (verdict ?? PASSED).indication,
      subIndication: (verdict ?? PASSED).subIndication,
      messageImprintMatches: ts.messageImprintMatches,
      chain,
      errors,
      warnings,
    },
  };
}

/** One certificate: chain, constraints and revocation at `time` (default now). */
export async function validateCertificate(deps: { trust: TrustStore; revocation: RevocationChecker; clock: Clock; timeBudgetMs?: number }, input: CertificateInput): Promise<CertificateValidationReport> {
  const cert = loadCert(input.certificate, 'certificate');
  const extra = (input.chain ?? []).map((c, i) => loadCert(c, `chain[${i}]`));
  const pool = new CertPool(extra.map((c) => ({ cert: c, source: 'request' as const, anchor: false })), await deps.trust.pool());
  const time = input.validationTime ?? deps.clock.now();
  const errors: string[] = [];
  const warnings: string[] = [];
  const built = await buildPath(cert, pool, new PathSearch({}, performance.now() + (deps.timeBudgetMs ?? 20_000)));
  let chainVerdict: Verdict | null = null;
  let revocationVerdict: Verdict | null = null;
  const revocation: RevocationEvidence[] = [];
  if (cert.signatureHashWeak) warnings.push(`the certificate is signed with SHA-1 (${cert.signatureAlgorithm}): weak`);
  if (!built.path) {
    errors.push(`no certificate chain to a trusted root: ${built.problem}`);
    chainVerdict = indeterminate('NO_CERTIFICATE_CHAIN_FOUND');
  } else {
    const checked = checkPath(built.path, time, input.usage ?? (cert.facts.ca ? 'any' : 'signing'));
    warnings.push(...checked.warnings.filter((w) => !warnings.includes(w)));
    if (checked.failure) {
      errors.push(checked.failure.message);
      chainVerdict = checked.failure;
    }
    // The caller asks about the status at a time: that time is the question, not a claim.
    const rev = await revocationOf(deps.revocation, built.path, { time, poe: true, current: !input.validationTime });
    revocation.push(...rev.evidence);
    errors.push(...rev.errors);
    warnings.push(...rev.warnings);
    revocationVerdict = rev.verdict;
  }
  const verdict = worst([chainVerdict, revocationVerdict]);
  const first = [chainVerdict, revocationVerdict].find((v) => v && v.indication === verdict.indication) ?? verdict;
  return {
    validatedAt: deps.clock.now().toISOString(),
    validationTime: time.toISOString(),
    indication: first.indication,
    subIndication: first.subIndication,
    certificate: certSummary(cert),
    holder: signerIdentity(cert),
    chain: chainView(built.partial),
    revocation,
    errors,
    warnings,
  };
}
