/**
 * The validation service: CMS, PDF and raw signatures, and single certificates, validated as
 * ETSI EN 319 102-1 describes (basic signature validation + validation at the time of a
 * signature time-stamp when one is present), with the chain built from the signature's own
 * certificates, the caller's and the trust store, and revocation from our registry or the
 * issuer's OCSP/CRL.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import { digestBytes, loadCert, signerIdentity, type Cert } from './cert.js';
import { buildPath, chainView, checkPath, CertPool, PathSearch } from './chain.js';
import { CmsFormatError, digestLabel, parseCms, type DetachedContent, type DigestName, type ParsedCms, type SignerCheck } from './cms.js';
import { verifySigners } from './cms-signers.js';
import { preloadCertificates } from './cms-certificates.js';
import { failed, indeterminate, worst, type Verdict } from './indications.js';
import { revocationOf, validateCertificate, type CertificateInput } from './evidence.js';
import { extractPdfSignatures, PdfFormatError, type PdfSignature } from './pdf.js';
import { documentTimestamps, pdfDocumentReport } from './pdf-document.js';
import { cryptoConstraints, POLICIES, type PolicyName, type ValidationPolicy } from './policy.js';
import { RAW_ALGORITHMS, verifyRaw, type RawAlgorithm } from './raw-signature.js';
import { outOfBounds, signatureTime } from './signature-time.js';
import { looksLikeXml, validateXml } from './xml.js';
import type {
  CertificateValidationReport,
  ChainElement,
  CounterSignatureReport,
  DocumentReport,
  PdfSignatureInfo,
  ProofOfExistence,
  RevocationEvidence,
  SignatureReport,
  SignatureValidationReport,
  SignedContent,
} from './report.js';
import type { RevocationChecker } from './revocation.js';
import type { TrustStore } from './trust-store.js';

export { RAW_ALGORITHMS, type RawAlgorithm };

export interface SignatureInput {
  /** CMS (DER/PEM), a PDF, a raw signature value (with `certificate`), or signed XML (in `document`). */
  kind?: 'cms' | 'pdf' | 'raw' | 'xml';
  signature?: Uint8Array;
  /** The signed data of a detached CMS or raw signature, or the PDF. */
  document?: Uint8Array;
  digest?: { algorithm: DigestName; value: Uint8Array };
  certificate?: Uint8Array;
  /** Extra certificates (intermediates the signature does not carry). */
  chain?: Uint8Array[];
  algorithm?: RawAlgorithm;
  /** Reported as the caller's claim; never a proof of existence (docs/validation.md). */
  validationTime?: Date;
  /** RFC 3161 time-stamp tokens over signature values (proof of existence from the caller's archive). */
  timestamps?: Uint8Array[];
  policy?: PolicyName;
}

export interface ValidatorLimits {
  maxSignatures: number;
  /** Wall-clock budget for one request's parsing and cryptography. */
  timeBudgetMs: number;
}

function looksLikePdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 1024)).includes('%PDF-');
}

function readCms(bytes: Uint8Array): Uint8Array {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (!head.includes('-----BEGIN')) return bytes;
  const text = Buffer.from(bytes).toString('utf8');
  const match = /-----BEGIN (PKCS7|CMS|PKCS #7 SIGNED DATA)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new AppError('badSignatureInput', 'signature: a PEM block other than PKCS7 or CMS');
  return new Uint8Array(Buffer.from(match[2].replace(/\s+/g, ''), 'base64'));
}

interface SignatureContext {
  pool: CertPool;
  tsaPool: CertPool;
  requested?: Date;
  timestamps: Uint8Array[];
  policy: ValidationPolicy;
  deadline: number;
  /** The request's path-search budget (signature verifications, steps, time), shared by its searches. */
  search: PathSearch;
}

const sha256Of = (...parts: Uint8Array[]): string => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/** Which bytes a CMS signature is verified over: the content it encapsulates, else the caller's. */
function cmsSignedContent(cms: ParsedCms, input: SignatureInput, documentSha256?: Uint8Array): SignedContent {
  if (cms.eContent) return { source: 'encapsulated', length: cms.eContent.byteLength, sha256: sha256Of(cms.eContent), byteRange: null };
  if (input.document) return { source: 'document', length: input.document.byteLength, sha256: documentSha256 ? Buffer.from(documentSha256.buffer, documentSha256.byteOffset, documentSha256.byteLength).toString('hex') : sha256Of(input.document), byteRange: null };
  if (input.digest) return { source: 'digest', length: null, sha256: input.digest.algorithm === 'sha256' ? Buffer.from(input.digest.value).toString('hex') : null, byteRange: null };
  return { source: 'none', length: null, sha256: null, byteRange: null };
}

export class SignatureValidator {
  constructor(
    private readonly trust: TrustStore,
    private readonly revocation: RevocationChecker,
    private readonly clock: Clock,
    private readonly limits: ValidatorLimits,
  ) {}

  async validateSignature(input: SignatureInput): Promise<SignatureValidationReport> {
    // The time budget is a duration: the monotonic clock, never the (injectable) wall clock.
    const started = performance.now();
    const extra = (input.chain ?? []).map((c, i) => loadCert(c, `chain[${i}]`));
    const requestCert = input.certificate ? loadCert(input.certificate, 'certificate') : null;
    const requestCandidates = [...extra, ...(requestCert ? [requestCert] : [])].map((cert) => ({ cert, source: 'request' as const, anchor: false }));
    const pool = new CertPool(requestCandidates, await this.trust.pool());
    const tsaPool = new CertPool(requestCandidates, await this.trust.tsaPool());
    const policy = POLICIES[input.policy ?? 'default'];
    const ctx: SignatureContext = { pool, tsaPool, requested: input.validationTime, timestamps: input.timestamps ?? [], policy, deadline: started + this.limits.timeBudgetMs, search: new PathSearch({}, started + this.limits.timeBudgetMs) };
    const kind = input.kind ?? (input.certificate && input.signature && !input.kind ? 'raw' : input.document && !input.signature && looksLikePdf(input.document) ? 'pdf' : input.document && !input.signature && looksLikeXml(input.document) ? 'xml' : 'cms');
    const warnings: string[] = [];
    let signatures: SignatureReport[];
    let document: DocumentReport | null = null;
    if (kind === 'pdf') {
      if (!input.document) throw new AppError('badSignatureInput', 'a PDF validation needs the document');
      ({ signatures, document } = await this.validatePdf(input.document, ctx, warnings));
    } else if (kind === 'raw') {
      if (!input.signature || !requestCert) throw new AppError('badSignatureInput', 'a raw signature needs signature, certificate and document');
      if (!input.document) throw new AppError('badSignatureInput', 'a raw signature needs the signed document');
      const signedContent: SignedContent = { source: 'document', length: input.document.byteLength, sha256: sha256Of(input.document), byteRange: null };
      signatures = [await this.finish(verifyRaw(input.signature, input.document, requestCert, input.algorithm), 'S1', 'RAW', ctx, null, [], signedContent, null)];
    } else if (kind === 'xml') {
      const document = input.document ?? input.signature;
      if (!document) throw new AppError('badSignatureInput', 'an XML validation needs the signed XML document');
      const finish = (check: SignerCheck, id: string, format: SignatureReport['format'], certs: Cert[], content: SignedContent) => this.finish(check, id, format, ctx, null, certs, content, null);
      signatures = await validateXml({ document, requestCerts: requestCandidates.map((c) => c.cert), maxSignatures: this.limits.maxSignatures, pause: () => ctx.search.pause(), finish, warnings });
    } else {
      signatures = await this.validateCms(input, ctx, warnings);
    }
    const summary = {
      total: signatures.length,
      passed: signatures.filter((s) => s.indication === 'TOTAL_PASSED').length,
      failed: signatures.filter((s) => s.indication === 'TOTAL_FAILED').length,
      indeterminate: signatures.filter((s) => s.indication === 'INDETERMINATE').length,
    };
    const verdicts = [...signatures, ...(document ? [document] : [])].map((s) => ({ indication: s.indication, subIndication: s.subIndication }));
    return {
      documentType: kind,
      validatedAt: this.clock.now().toISOString(),
      policy: policy.name,
      indication: signatures.length ? worst(verdicts).indication : 'INDETERMINATE',
      signatures,
      document,
      summary,
      warnings,
    };
  }

  private async validateCms(input: SignatureInput, ctx: SignatureContext, warnings: string[]): Promise<SignatureReport[]> {
    if (!input.signature) throw new AppError('badSignatureInput', 'a CMS validation needs the signature');
    let cms;
    const der = readCms(input.signature);
    // Embedded certificates parsed one at a time between event-loop turns, then from the cache.
    const preloaded = await preloadCertificates(der, () => ctx.search.pause());
    try {
      cms = parseCms(der, preloaded);
    } catch (err) {
      if (err instanceof CmsFormatError) throw new AppError('badSignatureInput', `signature: ${err.message}`);
      throw err;
    }
    if (cms.trailingData) throw new AppError('badSignatureInput', `signature: ${cms.trailingData} byte(s) follow the CMS structure; a signature file is one ContentInfo (RFC 5652 §3)`); // appended bytes make it another file
    warnings.push(...cms.warnings);
    if (cms.signerInfos.length > this.limits.maxSignatures) throw new AppError('badSignatureInput', `the signature has ${cms.signerInfos.length} signers; at most ${this.limits.maxSignatures} are validated`);
    if (!cms.signerInfos.length) warnings.push('the SignedData has no signers');
    // A detached document is hashed once, for its messageDigest and for the report (`--cpu-prof`:
    // it was hashed twice, a fiftieth of a cold validation).
    const documentSha256 = !cms.eContent && input.document ? digestBytes('sha256', input.document) : undefined;
    const checks = verifySigners(cms, { data: input.document, digest: input.digest, sha256: documentSha256 }, ctx.pool.all());
    const signedContent = cmsSignedContent(cms, input, documentSha256);
    const signatures: SignatureReport[] = [];
    for (const check of checks) signatures.push(await this.finish(check, `S${check.index + 1}`, 'CMS', ctx, null, cms.certificates, signedContent, null));
    return signatures;
  }

  private async validatePdf(document: Uint8Array, ctx: SignatureContext, warnings: string[]): Promise<{ signatures: SignatureReport[]; document: DocumentReport }> {
    let extracted;
    try {
      extracted = extractPdfSignatures(document, { maxSignatures: this.limits.maxSignatures });
    } catch (err) {
      if (err instanceof PdfFormatError) throw new AppError('badSignatureInput', `document: ${err.message}`);
      throw err;
    }
    warnings.push(...extracted.warnings);
    const signatureEntries = extracted.signatures.filter((s) => !s.documentTimestamp);
    if (!signatureEntries.length) warnings.push('the PDF holds no signature');
    const stamps = await documentTimestamps(this.revocation, extracted.signatures, document, ctx.tsaPool, this.clock.now(), ctx.search);
    const reports: SignatureReport[] = [];
    for (const [i, sig] of signatureEntries.entries()) {
      this.checkBudget(ctx);
      reports.push(await this.validatePdfSignature(sig, `S${i + 1}`, document, ctx, stamps.poeFor(sig)));
    }
    return { signatures: reports, document: pdfDocumentReport(document, extracted, signatureEntries, reports, stamps.reports) };
  }

  private async validatePdfSignature(sig: PdfSignature, id: string, document: Uint8Array, ctx: SignatureContext, documentPoe: ProofOfExistence | null): Promise<SignatureReport> {
    const info: PdfSignatureInfo = sig.info;
    const format = sig.info.subFilter === 'ETSI.CAdES.detached' ? 'PAdES-B' : sig.info.subFilter === 'adbe.pkcs7.detached' ? 'PDF-PKCS7' : 'UNSUPPORTED';
    // The two byte ranges as views into the document: hashed where they lie, never copied.
    const signedBytes = sig.problem ? null : [document.subarray(sig.byteRange[0], sig.byteRange[0] + sig.byteRange[1]), document.subarray(sig.byteRange[2], sig.byteRange[2] + sig.byteRange[3])];
    // Hashed once, for the report and for the signature's messageDigest when it is SHA-256.
    const rangeDigest = signedBytes ? signedBytes.reduce((h, part) => h.update(part), createHash('sha256')).digest() : null;
    const signedContent: SignedContent = signedBytes
      ? { source: 'byte-range', length: signedBytes[0].byteLength + signedBytes[1].byteLength, sha256: rangeDigest!.toString('hex'), byteRange: [...sig.byteRange] }
      : { source: 'none', length: null, sha256: null, byteRange: [...sig.byteRange] };
    const empty = (verdict: Verdict, error: string): SignatureReport => this.bareReport(id, format, verdict, [error], info, ctx, sig.claimedTime, signedContent);
    if (sig.problem || !signedBytes) return empty(failed('FORMAT_FAILURE'), sig.problem ?? 'no signed bytes');
    if (format === 'UNSUPPORTED') return empty(indeterminate('FORMAT_FAILURE'), `SubFilter ${sig.info.subFilter ?? '(none)'} is not supported (adbe.pkcs7.detached and ETSI.CAdES.detached are)`);
    let cms;
    const preloaded = await preloadCertificates(sig.contents, () => ctx.search.pause());
    try {
      cms = parseCms(sig.contents, preloaded);
    } catch (err) {
      return empty(failed('FORMAT_FAILURE'), `/Contents: ${(err as Error).message}`);
    }
    // ISO 32000-1 §12.8.3.3: a detached SubFilter signs the ByteRange; content inside the CMS,
    // matching or not, is a malformed signature (an attached CMS over other bytes is a forgery).
    if (cms.eContent) return empty(failed('FORMAT_FAILURE'), `the ${sig.info.subFilter} signature encapsulates content; a detached PDF signature must not (ISO 32000-1 §12.8.3.3)`);
    const checks = verifySigners(cms, { parts: signedBytes, sha256: rangeDigest ?? undefined }, ctx.pool.all());
    if (checks.length !== 1) return empty(failed('FORMAT_FAILURE'), `a PDF signature holds exactly one SignerInfo, this one has ${checks.length}`);
    const report = await this.finish(checks[0], id, format, ctx, { info, claimedTime: sig.claimedTime }, cms.certificates, signedContent, documentPoe);
    report.warnings.push(...cms.warnings, ...sig.warnings);
    // ETSI EN 319 142-1 §6.3: PAdES signatures carry no signingTime attribute; /M is the claim.
    if (format === 'PAdES-B' && checks[0].claimedTime) report.warnings.push('a PAdES signature should not carry the signingTime attribute (ETSI EN 319 142-1 §6.3)');
    if (format === 'PAdES-B' && checks[0].signedAttributes.signingCertificate === 'absent') {
      report.errors.push('a PAdES signature must carry the signingCertificateV2 attribute (ETSI EN 319 142-1 §6.3)');
      const v = worst([{ indication: report.indication, subIndication: report.subIndication }, failed('FORMAT_FAILURE')]);
      report.indication = v.indication;
      report.subIndication = v.subIndication;
    }
    return report;
  }

  private bareReport(id: string, format: SignatureReport['format'], verdict: Verdict, errors: string[], pdf: PdfSignatureInfo | null, ctx: SignatureContext, claimed: Date | null, signedContent: SignedContent): SignatureReport {
    return {
      id,
      format,
      indication: verdict.indication,
      subIndication: verdict.subIndication,
      signer: null,
      signingTime: { claimed: claimed?.toISOString() ?? null, timestamp: null },
      validationTime: this.clock.now().toISOString(),
      validationTimeSource: 'current',
      poe: null,
      claimedTimes: { signingTime: null, pdfSigningTime: claimed?.toISOString() ?? null, requestedValidationTime: ctx.requested?.toISOString() ?? null },
      signedContent,
      algorithms: { digest: null, signature: null, weak: false },
      signedAttributes: { present: false, messageDigest: 'not-checked', contentType: 'absent', signingCertificate: 'absent' },
      chain: [],
      revocation: [],
      timestamp: null,
      suppliedTimestamps: [],
      counterSignatures: [],
      pdf,
      errors,
      warnings: [],
    };
  }

  private checkBudget(ctx: SignatureContext): void {
    if (performance.now() > ctx.deadline) throw new AppError('payloadTooLarge', `validation exceeded its time budget of ${this.limits.timeBudgetMs} ms`);
  }

  /**
   * Chain, revocation and policy for a cryptographically checked signer at its proven time (a
   * trusted time-stamp), else now: claimed times are reported, never used (docs/validation.md).
   */
  private async finish(check: SignerCheck, id: string, format: SignatureReport['format'], ctx: SignatureContext, pdf: { info: PdfSignatureInfo; claimedTime: Date | null } | null, embedded: Cert[], signedContent: SignedContent, documentPoe: ProofOfExistence | null): Promise<SignatureReport> {
    this.checkBudget(ctx);
    const errors = [...check.errors];
    const warnings = [...check.warnings];
    const pool = embedded.length ? new CertPool(embedded.map((cert) => ({ cert, source: 'signature' as const, anchor: false })), ctx.pool) : ctx.pool;
    // The time-stamping pool is read only for a time-stamp (the signature's own or a supplied one).
    const stamped = !!check.timestampToken || ctx.timestamps.length > 0;
    const tsaPool = embedded.length && stamped ? new CertPool(embedded.map((cert) => ({ cert, source: 'signature' as const, anchor: false })), ctx.tsaPool) : ctx.tsaPool;
    const now = this.clock.now();
    // Without a time-stamp (the signature's own or a supplied one) there is nothing to check: the
    // answer signatureTime gives then (the document's proof, if any), without its call.
    const time = stamped ? await signatureTime(this.revocation, check, tsaPool, ctx.timestamps, documentPoe, now, ctx.search) : { poe: documentPoe, timestamp: null, supplied: [], warnings: [] };
    warnings.push(...time.warnings);
    const poeTime = time.poe ? new Date(time.poe.time) : null;
    const validationTime = poeTime ?? now;
    if (poeTime && check.claimedTime && check.claimedTime.getTime() > poeTime.getTime() + 5 * 60_000) warnings.push('the claimed signing time is later than the time-stamp');
    if (!poeTime && (check.claimedTime || pdf?.claimedTime || ctx.requested)) warnings.push('no time-stamp proves when the signature was made: the certificates are checked now; the claimed times are reported only');
    const checked = await this.chainAndStatus(check, pool, validationTime, poeTime, ctx.policy, ctx.search);
    errors.push(...checked.errors);
    warnings.push(...checked.warnings);
    const counterSignatures: CounterSignatureReport[] = [];
    for (const counter of check.counterSignatures) counterSignatures.push(await this.counterSignature(counter, `${id}-C${counter.index + 1}`, pool, now, ctx.policy, ctx.search));
    const verdicts = [check.verdict, checked.chain, checked.revocation, checked.policy, ...counterSignatures.map((c) => (c.indication === 'TOTAL_PASSED' ? null : { indication: c.indication, subIndication: c.subIndication }))];
    const verdict = worst(verdicts);
    // Order within a class: the cryptographic result first, then the chain, revocation, policy.
    const firstOfClass = verdicts.find((v) => v && v.indication === verdict.indication) ?? verdict;
    if (counterSignatures.some((c) => c.indication !== 'TOTAL_PASSED')) errors.push('a countersignature does not pass');
    return {
      id,
      format,
      indication: firstOfClass.indication,
      subIndication: firstOfClass.subIndication,
      signer: check.cert ? signerIdentity(check.cert) : null,
      signingTime: { claimed: (check.claimedTime ?? pdf?.claimedTime)?.toISOString() ?? null, timestamp: time.poe?.time ?? null },
      validationTime: validationTime.toISOString(),
      validationTimeSource: poeTime ? 'timestamp' : 'current',
      poe: time.poe,
      claimedTimes: { signingTime: check.claimedTime?.toISOString() ?? null, pdfSigningTime: pdf?.claimedTime?.toISOString() ?? null, requestedValidationTime: ctx.requested?.toISOString() ?? null },
      signedContent,
      algorithms: { digest: check.digest ? digestLabel(check.digest) : null, signature: check.signatureAlgorithm, weak: check.weak },
      signedAttributes: check.signedAttributes,
      chain: checked.view,
      revocation: checked.evidence,
      timestamp: time.timestamp,
      suppliedTimestamps: time.supplied,
      counterSignatures,
      pdf: pdf?.info ?? null,
      errors,
      warnings,
    };
  }

  /** The signer's chain at `time`, its revocation status and the policy's constraints. */
  private async chainAndStatus(check: SignerCheck, pool: CertPool, time: Date, poe: Date | null, policy: ValidationPolicy, search: PathSearch) {
    const errors: string[] = [];
    const warnings: string[] = [];
    const evidence: RevocationEvidence[] = [];
    let view: ChainElement[] = [];
    let chain: Verdict | null = null;
    let revocation: Verdict | null = null;
    let path = null;
    const cert = check.cert;
    if (cert) {
      const built = await buildPath(cert, pool, search);
      view = chainView(built.partial);
      path = built.path;
      if (!built.path) {
        errors.push(`no certificate chain to a trusted root: ${built.problem}`);
        chain = indeterminate('NO_CERTIFICATE_CHAIN_FOUND');
      } else {
        const checked = checkPath(built.path, time, 'signing');
        warnings.push(...checked.warnings);
        if (checked.failure) {
          errors.push(checked.failure.message);
          chain = { indication: checked.failure.indication, subIndication: checked.failure.subIndication };
        }
        const rev = await revocationOf(this.revocation, built.path, { time, poe: !!poe, current: !poe });
        evidence.push(...rev.evidence);
        errors.push(...rev.errors);
        warnings.push(...rev.warnings);
        revocation = rev.verdict;
        chain = outOfBounds(chain, !!poe, !rev.verdict);
      }
    }
    const constraints = cryptoConstraints(policy, check, cert, path, poe);
    errors.push(...constraints.errors);
    warnings.push(...constraints.warnings);
    return { errors, warnings, evidence, view, chain, revocation, policy: constraints.verdict };
  }

  /**
   * RFC 5652 §11.4: a countersignature, validated like a signature. It was made after its
   * parent, so the parent's time-stamp proves nothing about it: checked now.
   */
  private async counterSignature(check: SignerCheck, id: string, pool: CertPool, now: Date, policy: ValidationPolicy, search: PathSearch): Promise<CounterSignatureReport> {
    const checked = await this.chainAndStatus(check, pool, now, null, policy, search);
    const verdicts = [check.verdict, checked.chain, checked.revocation, checked.policy];
    const verdict = worst(verdicts);
    const first = verdicts.find((v) => v && v.indication === verdict.indication) ?? verdict;
    return {
      id,
      indication: first.indication,
      subIndication: first.subIndication,
      signer: check.cert ? signerIdentity(check.cert) : null,
      claimedSigningTime: check.claimedTime?.toISOString() ?? null,
      algorithms: { digest: check.digest ? digestLabel(check.digest) : null, signature: check.signatureAlgorithm, weak: check.weak },
      chain: checked.view,
      revocation: checked.evidence,
      errors: [...check.errors, ...checked.errors],
      warnings: [...check.warnings, ...checked.warnings],
    };
  }

  /** One certificate: chain, constraints and revocation at `time` (default now). */
  async validateCertificate(input: CertificateInput): Promise<CertificateValidationReport> {
    return validateCertificate({ trust: this.trust, revocation: this.revocation, clock: this.clock, timeBudgetMs: this.limits.timeBudgetMs }, input);
  }

}

/** SHA-256 of bytes, hex (reports, benchmarks). */
export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export type { DetachedContent };
