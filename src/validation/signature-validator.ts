/**
 * The validation service: CMS, PDF and raw signatures, and single certificates, validated as
 * ETSI EN 319 102-1 describes (basic signature validation + validation at the time of a
 * signature time-stamp when one is present), with the chain built from the signature's own
 * certificates, the caller's and the trust store, and revocation from our registry or the
 * issuer's OCSP/CRL.
 */
import { constants, createHash, verify } from 'node:crypto';
import { publicKeyObject } from '../../ca/asn1/algorithms.js';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import { loadCert, signerIdentity, type Cert } from './cert.js';
import { buildPath, chainView, checkPath, CertPool, PathSearch } from './chain.js';
import { CmsFormatError, digestLabel, parseCms, type DetachedContent, type DigestName, type SignerCheck } from './cms.js';
import { verifySigners } from './cms-signers.js';
import { preloadCertificates } from './cms-certificates.js';
import { failed, indeterminate, worst, type Verdict } from './indications.js';
import { checkTimestampToken, revocationOf, validateCertificate, type CertificateInput } from './evidence.js';
import { extractPdfSignatures, PdfFormatError, type PdfSignature } from './pdf.js';
import type {
  CertificateValidationReport,
  ChainElement,
  PdfSignatureInfo,
  RevocationEvidence,
  SignatureReport,
  SignatureValidationReport,
  TimestampReport,
} from './report.js';
import type { RevocationChecker } from './revocation.js';
import type { TrustStore } from './trust-store.js';

export const RAW_ALGORITHMS = [
  'rsa-pkcs1-sha1', 'rsa-pkcs1-sha256', 'rsa-pkcs1-sha384', 'rsa-pkcs1-sha512',
  'rsa-pss-sha256', 'rsa-pss-sha384', 'rsa-pss-sha512',
  'ecdsa-sha256', 'ecdsa-sha384', 'ecdsa-sha512', 'ed25519',
] as const;
export type RawAlgorithm = (typeof RAW_ALGORITHMS)[number];

export interface SignatureInput {
  /** CMS (DER/PEM), a PDF, or a raw signature value (with `certificate`). */
  kind?: 'cms' | 'pdf' | 'raw';
  signature?: Uint8Array;
  /** The signed data of a detached CMS or raw signature, or the PDF. */
  document?: Uint8Array;
  digest?: { algorithm: DigestName; value: Uint8Array };
  certificate?: Uint8Array;
  /** Extra certificates (intermediates the signature does not carry). */
  chain?: Uint8Array[];
  algorithm?: RawAlgorithm;
  validationTime?: Date;
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
  requested?: Date;
  deadline: number;
  /** The request's path-search budget (signature verifications, steps, time), shared by its searches. */
  search: PathSearch;
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
    const base = await this.trust.pool();
    const pool = new CertPool([...extra, ...(requestCert ? [requestCert] : [])].map((cert) => ({ cert, source: 'request' as const, anchor: false })), base);
    const ctx: SignatureContext = { pool, requested: input.validationTime, deadline: started + this.limits.timeBudgetMs, search: new PathSearch({}, started + this.limits.timeBudgetMs) };
    const kind = input.kind ?? (input.certificate && input.signature && !input.kind ? 'raw' : input.document && looksLikePdf(input.document) && !input.signature ? 'pdf' : 'cms');
    const warnings: string[] = [];
    let signatures: SignatureReport[];
    if (kind === 'pdf') {
      if (!input.document) throw new AppError('badSignatureInput', 'a PDF validation needs the document');
      signatures = await this.validatePdf(input.document, ctx, warnings);
    } else if (kind === 'raw') {
      signatures = [await this.validateRaw(input, requestCert, ctx)];
    } else {
      if (!input.signature) throw new AppError('badSignatureInput', 'a CMS validation needs the signature');
      let cms;
      const der = readCms(input.signature);
      // Embedded certificates parsed one at a time between event-loop turns, then from the cache.
      await preloadCertificates(der, () => ctx.search.pause());
      try {
        cms = parseCms(der);
      } catch (err) {
        if (err instanceof CmsFormatError) throw new AppError('badSignatureInput', `signature: ${err.message}`);
        throw err;
      }
      warnings.push(...cms.warnings);
      if (cms.signedData.signerInfos.length > this.limits.maxSignatures) throw new AppError('badSignatureInput', `the signature has ${cms.signedData.signerInfos.length} signers; at most ${this.limits.maxSignatures} are validated`);
      if (!cms.signedData.signerInfos.length) warnings.push('the SignedData has no signers');
      const checks = verifySigners(cms, { data: input.document, digest: input.digest }, pool.all());
      signatures = [];
      for (const check of checks) signatures.push(await this.finish(check, `S${check.index + 1}`, 'CMS', ctx, null, null, cms.certificates));
    }
    const summary = {
      total: signatures.length,
      passed: signatures.filter((s) => s.indication === 'TOTAL_PASSED').length,
      failed: signatures.filter((s) => s.indication === 'TOTAL_FAILED').length,
      indeterminate: signatures.filter((s) => s.indication === 'INDETERMINATE').length,
    };
    return {
      documentType: kind,
      validatedAt: this.clock.now().toISOString(),
      indication: signatures.length ? worst(signatures.map((s) => ({ indication: s.indication, subIndication: s.subIndication }))).indication : 'INDETERMINATE',
      signatures,
      summary,
      warnings,
    };
  }

  private async validatePdf(document: Uint8Array, ctx: SignatureContext, warnings: string[]): Promise<SignatureReport[]> {
    let extracted;
    try {
      extracted = extractPdfSignatures(document, { maxSignatures: this.limits.maxSignatures });
    } catch (err) {
      if (err instanceof PdfFormatError) throw new AppError('badSignatureInput', `document: ${err.message}`);
      throw err;
    }
    warnings.push(...extracted.warnings);
    if (!extracted.signatures.length) warnings.push('the PDF holds no signature');
    const reports: SignatureReport[] = [];
    for (const [i, sig] of extracted.signatures.entries()) {
      this.checkBudget(ctx);
      reports.push(await this.validatePdfSignature(sig, `S${i + 1}`, document, ctx));
    }
    return reports;
  }

  private async validatePdfSignature(sig: PdfSignature, id: string, document: Uint8Array, ctx: SignatureContext): Promise<SignatureReport> {
    const info: PdfSignatureInfo = sig.info;
    const format = sig.info.subFilter === 'ETSI.CAdES.detached' ? 'PAdES-B' : sig.info.subFilter === 'adbe.pkcs7.detached' ? 'PDF-PKCS7' : 'UNSUPPORTED';
    const empty = (verdict: Verdict, error: string): SignatureReport => this.bareReport(id, format, verdict, [error], info, ctx, sig.claimedTime);
    if (sig.problem) return empty(failed('FORMAT_FAILURE'), sig.problem);
    if (format === 'UNSUPPORTED') return empty(indeterminate('FORMAT_FAILURE'), `SubFilter ${sig.info.subFilter ?? '(none)'} is not supported (adbe.pkcs7.detached and ETSI.CAdES.detached are)`);
    let cms;
    await preloadCertificates(sig.contents, () => ctx.search.pause());
    try {
      cms = parseCms(sig.contents);
    } catch (err) {
      return empty(failed('FORMAT_FAILURE'), `/Contents: ${(err as Error).message}`);
    }
    const signedBytes = Buffer.concat([document.subarray(sig.byteRange[0], sig.byteRange[0] + sig.byteRange[1]), document.subarray(sig.byteRange[2], sig.byteRange[2] + sig.byteRange[3])]);
    const checks = verifySigners(cms, { data: signedBytes }, ctx.pool.all());
    if (checks.length !== 1) return empty(failed('FORMAT_FAILURE'), `a PDF signature holds exactly one SignerInfo, this one has ${checks.length}`);
    const report = await this.finish(checks[0], id, format, ctx, info, sig.claimedTime, cms.certificates);
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

  private bareReport(id: string, format: SignatureReport['format'], verdict: Verdict, errors: string[], pdf: PdfSignatureInfo | null, ctx: SignatureContext, claimed: Date | null): SignatureReport {
    const time = ctx.requested ?? claimed ?? this.clock.now();
    return {
      id,
      format,
      indication: verdict.indication,
      subIndication: verdict.subIndication,
      signer: null,
      signingTime: { claimed: claimed?.toISOString() ?? null, timestamp: null },
      validationTime: time.toISOString(),
      validationTimeSource: ctx.requested ? 'request' : claimed ? 'claimed' : 'current',
      algorithms: { digest: null, signature: null, weak: false },
      signedAttributes: { present: false, messageDigest: 'not-checked', contentType: 'absent', signingCertificate: 'absent' },
      chain: [],
      revocation: [],
      timestamp: null,
      pdf,
      errors,
      warnings: [],
    };
  }

  private async validateRaw(input: SignatureInput, cert: Cert | null, ctx: SignatureContext): Promise<SignatureReport> {
    if (!input.signature || !cert) throw new AppError('badSignatureInput', 'a raw signature needs signature, certificate and document');
    if (!input.document) throw new AppError('badSignatureInput', 'a raw signature needs the signed document');
    const algorithm = input.algorithm ?? (cert.keyDescription.startsWith('RSA') ? 'rsa-pkcs1-sha256' : cert.keyDescription.startsWith('EC') ? 'ecdsa-sha256' : 'ed25519');
    const [family, ...rest] = algorithm.split('-');
    const hash = algorithm === 'ed25519' ? null : (rest[rest.length - 1] as DigestName);
    const check: SignerCheck = {
      index: 0,
      cert,
      digest: hash,
      signatureAlgorithm: algorithm,
      weak: hash === 'sha1',
      signedAttributes: { present: false, messageDigest: 'absent', contentType: 'absent', signingCertificate: 'absent' },
      claimedTime: null,
      verdict: null,
      errors: [],
      warnings: hash === 'sha1' ? ['SHA-1: weak'] : [],
      signatureValue: input.signature,
      timestampToken: null,
    };
    try {
      const key = publicKeyObject(cert.facts.spki);
      const ok =
        family === 'ed25519' ? verify(null, input.document, key, input.signature)
        : algorithm.startsWith('rsa-pss') ? verify(hash, input.document, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, input.signature)
        : algorithm.startsWith('rsa') ? verify(hash, input.document, { key, padding: constants.RSA_PKCS1_PADDING }, input.signature)
        : verify(hash, input.document, { key, dsaEncoding: input.signature.byteLength > 0 && input.signature[0] === 0x30 ? 'der' : 'ieee-p1363' }, input.signature);
      if (!ok) {
        check.errors.push('the signature value does not verify with the certificate\'s key over this document');
        check.verdict = failed('SIG_CRYPTO_FAILURE');
      }
    } catch (err) {
      check.errors.push(`the signature cannot be verified with this key and algorithm (${(err as Error).message})`);
      check.verdict = failed('SIG_CRYPTO_FAILURE');
    }
    return this.finish(check, 'S1', 'RAW', ctx, null, null, []);
  }

  private checkBudget(ctx: SignatureContext): void {
    if (performance.now() > ctx.deadline) throw new AppError('payloadTooLarge', `validation exceeded its time budget of ${this.limits.timeBudgetMs} ms`);
  }

  /** Chain, revocation and time for a cryptographically checked signer; the report. */
  private async finish(check: SignerCheck, id: string, format: SignatureReport['format'], ctx: SignatureContext, pdf: PdfSignatureInfo | null, pdfTime: Date | null, embedded: Cert[]): Promise<SignatureReport> {
    this.checkBudget(ctx);
    const errors = [...check.errors];
    const warnings = [...check.warnings];
    const pool = embedded.length ? new CertPool(embedded.map((cert) => ({ cert, source: 'signature' as const, anchor: false })), ctx.pool) : ctx.pool;

    let timestamp: TimestampReport | null = null;
    let timestampTime: Date | null = null;
    if (check.timestampToken) {
      const ts = await checkTimestampToken(this.revocation, check.timestampToken, check.signatureValue, pool, ctx.search);
      timestamp = ts.report;
      if (ts.report.indication === 'TOTAL_PASSED') timestampTime = ts.genTime;
      else warnings.push(`the signature time-stamp is not usable (${ts.report.subIndication ?? 'invalid'}); the time is taken from ${check.claimedTime ? 'the claimed signing time' : 'elsewhere'}`);
    }
    const claimed = check.claimedTime ?? pdfTime;
    const [validationTime, validationTimeSource] = ctx.requested
      ? [ctx.requested, 'request' as const]
      : timestampTime
        ? [timestampTime, 'timestamp' as const]
        : claimed
          ? [claimed, 'claimed' as const]
          : [this.clock.now(), 'current' as const];
    if (validationTimeSource === 'claimed') warnings.push('the validation time is the signer\'s claimed signing time, not proven by a time-stamp');
    if (timestampTime && check.claimedTime && check.claimedTime.getTime() > timestampTime.getTime() + 5 * 60_000) {
      warnings.push('the claimed signing time is later than the time-stamp');
    }

    const cert = check.cert;
    let chain: ChainElement[] = [];
    const revocation: RevocationEvidence[] = [];
    let chainVerdict: Verdict | null = null;
    let revocationVerdict: Verdict | null = null;
    if (cert) {
      if (cert.keyWeak) warnings.push(`the signer's key is weak (${cert.keyDescription})`);
      const built = await buildPath(cert, pool, ctx.search);
      chain = chainView(built.partial);
      if (!built.path) {
        errors.push(`no certificate chain to a trusted root: ${built.problem}`);
        chainVerdict = indeterminate('NO_CERTIFICATE_CHAIN_FOUND');
      } else {
        const checked = checkPath(built.path, validationTime, 'signing');
        warnings.push(...checked.warnings);
        if (checked.failure) {
          errors.push(checked.failure.message);
          chainVerdict = { indication: checked.failure.indication, subIndication: checked.failure.subIndication };
        }
        const rev = await revocationOf(this.revocation, built.path, validationTime, validationTimeSource);
        revocation.push(...rev.evidence);
        errors.push(...rev.errors);
        warnings.push(...rev.warnings);
        revocationVerdict = rev.verdict;
      }
    }
    const verdict = worst([check.verdict, chainVerdict, revocationVerdict]);
    // Order within a class: the cryptographic result first, then the chain, then revocation.
    const firstOfClass = [check.verdict, chainVerdict, revocationVerdict].find((v) => v && v.indication === verdict.indication) ?? verdict;
    return {
      id,
      format,
      indication: firstOfClass.indication,
      subIndication: firstOfClass.subIndication,
      signer: cert ? signerIdentity(cert) : null,
      signingTime: { claimed: claimed?.toISOString() ?? null, timestamp: timestampTime?.toISOString() ?? null },
      validationTime: validationTime.toISOString(),
      validationTimeSource,
      algorithms: { digest: check.digest ? digestLabel(check.digest) : null, signature: check.signatureAlgorithm, weak: check.weak },
      signedAttributes: check.signedAttributes,
      chain,
      revocation,
      timestamp,
      pdf,
      errors,
      warnings,
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
