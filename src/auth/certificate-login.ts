import { createHash, X509Certificate } from 'node:crypto';
import { AppError } from '../errors/app-error.js';
import type { Clock } from '../lifecycle/clock.js';
import type { Database } from '../storage/db.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { PasskeyRepository } from '../storage/passkey-repository.js';
import type { Account } from '../../oidc/account.js';
import type { AccountService } from '../accounts/account-service.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import { formatName, parseName } from '../../ca/asn1/names.js';
import { identityFromName } from '../../ca/asn1/identity.js';
import { decodePem } from '../../ca/asn1/der.js';
import { checkOcspResponse, ocspRequest, type OcspOutcome } from '../../ca/status/ocsp/client.js';
import { OutboundFetcher } from '../outbound/outbound-fetcher.js';
import { describeLoginCertificate, registerLoginCertificateIn } from '../accounts/login-certificates.js';

/** id-kp-clientAuth (RFC 5280 §4.2.1.12). */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const OCSP_TIMEOUT_MS = 5_000;
const OCSP_MAX_BYTES = 256 * 1024;

export type CertificateRefusal = 'malformed' | 'untrusted' | 'not-yet-valid' | 'expired' | 'not-for-client-auth' | 'revoked' | 'hold' | 'unknown-to-registry' | 'status-unavailable' | 'no-account' | 'account-disabled';

/** A refused certificate login: the reason is shown to the person and audited. */
export class CertificateLoginRefused extends AppError {
  constructor(
    readonly reason: CertificateRefusal,
    detail: string,
  ) {
    super(reason === 'malformed' ? 'badCertificate' : 'forbidden', detail, { reason });
  }
}

export interface CertificateLogin {
  account: Account;
  serial: string;
  issuer: string;
  subjectDn: string;
  /** RFC 8176: proof of possession of a key on a smart card or token. */
  amr: string[];
}

export interface LoginContext {
  ip: string;
  clientId?: string;
  /** How the certificate arrived: `mtls` (our TLS listener) or `proxy` (a trusted proxy's header). */
  via: 'mtls' | 'proxy';
}

/**
 * Certificate login: the certificate must chain to a trusted issuer (an issuing CA of this
 * service, or a CA of the configured bundle), be within its validity, allow client
 * authentication, and be good in our registry; the account is the one with the national ID of
 * the subject's UID (CCCD:…) or the one the certificate was registered to. Every outcome is audited.
 */
export class CertificateLoginService {
  private readonly extraAnchors: X509Certificate[];

  constructor(
    private readonly db: Database,
    private readonly certificates: CertificateService,
    private readonly accounts: AccountService,
    private readonly registered: PasskeyRepository,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    /** PEM bundle of further trusted issuers (CERT_LOGIN_CA_BUNDLE_FILE). */
    caBundlePem?: string,
    /** The guarded outbound fetcher (private networks refused unless the configuration allows them). */
    private readonly fetcher = new OutboundFetcher({ enabled: true, timeoutMs: OCSP_TIMEOUT_MS, maxBytes: OCSP_MAX_BYTES, allowPrivateNetworks: false }),
  ) {
    this.extraAnchors = caBundlePem ? decodePem(caBundlePem, 'misconfigured').filter((b) => b.label === 'CERTIFICATE').map((b) => new X509Certificate(b.der)) : [];
  }

  /** The issuer certificates a TLS listener names in its CertificateRequest (RFC 8446 §4.2.4). */
  async trustedIssuers(): Promise<Buffer[]> {
    const ours = (await this.certificates.ca.issuers()).filter((i) => (i.role === 'issuing' || i.role === 'root') && i.certificate).map((i) => i.certificate!);
    return [...ours, ...this.extraAnchors.map((c) => c.raw)];
  }

  async login(der: Uint8Array, context: LoginContext): Promise<CertificateLogin> {
    let facts: ReturnType<typeof certificateFacts>;
    let leaf: X509Certificate;
    try {
      const parsed = parseCertificate(der);
      facts = certificateFacts(parsed.certificate);
      leaf = new X509Certificate(Buffer.from(parsed.der));
    } catch {
      return this.refuse(context, null, 'malformed', 'the client certificate could not be parsed');
    }
    const subjectDn = formatName(parseName(facts.subject, 'badCertificate'));
    const base = { serial: facts.serial, subject: subjectDn };
    const now = this.clock.now();

    // Chain: one of our issuing CAs signed it, or a CA of the configured bundle.
    const issuers = (await this.certificates.ca.issuers()).filter((i) => i.role === 'issuing' && i.certificate && i.status !== 'pending');
    const ours = issuers.find((i) => {
      const ca = new X509Certificate(i.certificate!);
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    });
    const external = ours ? undefined : this.extraAnchors.find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    if (!ours && !external) {
      return this.refuse(context, base, 'untrusted', `the certificate of ${subjectDn} was not issued by a trusted certification authority`);
    }
    if (now < facts.notBefore) return this.refuse(context, base, 'not-yet-valid', `the certificate is valid only from ${facts.notBefore.toISOString()}`);
    if (now > facts.notAfter) return this.refuse(context, base, 'expired', `the certificate expired on ${facts.notAfter.toISOString()}`);
    const eku = leaf.keyUsage;
    if (eku && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) {
      return this.refuse(context, base, 'not-for-client-auth', 'the certificate does not allow client authentication (extended key usage)');
    }

    // Status: ours from the registry (what our OCSP responder and CRLs say); another CA's from
    // its own OCSP responder (the URL in the certificate's AIA).
    const issuerLabel = ours ? ours.id : external!.subject;
    const at = { ...base, issuer: issuerLabel };
    if (ours) {
      let record;
      try {
        record = await this.certificates.ca.certificate(facts.serial, ours.id);
      } catch {
        return this.refuse(context, at, 'unknown-to-registry', 'the certificate is not in the registry');
      }
      if (record.status === 'revoked') {
        return this.refuse(context, at, 'revoked', `the certificate was revoked on ${record.revokedAt?.toISOString()} (${record.revocationReason ?? 'unspecified'})`);
      }
      if (record.status === 'hold') return this.refuse(context, at, 'hold', `the certificate is on hold since ${record.revokedAt?.toISOString()}`);
    } else {
      const outcome = await this.externalStatus(leaf, external!, facts.ocspUrls[0], now);
      if (outcome.status === 'revoked') return this.refuse(context, at, 'revoked', `the certificate was revoked on ${outcome.revokedAt.toISOString()} (its issuer's OCSP responder)`);
      if (outcome.status === 'unknown') return this.refuse(context, at, 'unknown-to-registry', "the issuer's OCSP responder does not know the certificate");
      if (outcome.status === 'invalid') return this.refuse(context, at, 'status-unavailable', `the status could not be checked: ${outcome.problem}`);
    }

    // The account: by the national ID in the subject's UID, else by a registered certificate.
    const identity = identityFromName(parseName(facts.subject, 'badCertificate'), facts.emails);
    const fingerprint = createHash('sha256').update(leaf.raw).digest('hex');
    let account: Account | null = null;
    if (identity.personalId?.kind === 'CCCD') account = await this.accounts.findByNationalId(identity.personalId.value);
    if (!account) {
      const id = await this.registered.accountForCertificate(fingerprint);
      account = id ? await this.accounts.findById(id) : null;
    }
    if (!account) {
      return this.refuse(context, { ...base, issuer: issuerLabel }, 'no-account', identity.personalId ? `no account has the national ID ${identity.personalId.kind}:${identity.personalId.value}` : 'no account is registered for this certificate');
    }
    if (account.status !== 'active') return this.refuse(context, { ...base, issuer: issuerLabel, account: account.id }, 'account-disabled', 'the account is disabled');

    await this.db.withTransaction((trx) =>
      this.audit.append(trx, {
        actor: `user:${account.id}`,
        action: 'login.success',
        target: `account:${account.id}`,
        details: { method: 'sc', via: context.via, serial: facts.serial, issuer: issuerLabel, ip: context.ip, clientId: context.clientId },
      }),
    );
    return { account, serial: facts.serial, issuer: issuerLabel, subjectDn, amr: ['sc'] };
  }

  /** The status of another CA's certificate from its OCSP responder (RFC 6960 over HTTP POST). */
  private async externalStatus(leaf: X509Certificate, issuer: X509Certificate, url: string | undefined, now: Date): Promise<OcspOutcome> {
    if (!url || !/^https?:\/\//.test(url)) return { status: 'invalid', problem: 'the certificate names no OCSP responder' };
    try {
      // The same fetcher as validation: the name resolved once and the checked address connected
      // to, private addresses refused, no redirects, size and time bounded.
      const body = await this.fetcher.fetch(url, { body: new Uint8Array(ocspRequest(leaf.raw, issuer.raw)), contentType: 'application/ocsp-request', accept: 'application/ocsp-response' });
      return checkOcspResponse(Buffer.from(body), leaf.raw, issuer.raw, now);
    } catch (err) {
      return { status: 'invalid', problem: `the OCSP responder could not be reached (${(err as Error).message})` };
    }
  }

  private async refuse(context: LoginContext, facts: Record<string, unknown> | null, reason: CertificateRefusal, detail: string): Promise<never> {
    const accountId = typeof facts?.account === 'string' ? facts.account : null;
    await this.db.withTransaction((trx) =>
      this.audit.append(trx, {
        actor: accountId ? `user:${accountId}` : 'anonymous',
        action: 'login.failure',
        target: accountId ? `account:${accountId}` : null,
        details: { method: 'sc', via: context.via, reason, ...facts, ip: context.ip, clientId: context.clientId },
      }),
    );
    throw new CertificateLoginRefused(reason, detail);
  }

  /** Registers a certificate (PEM or DER) to an account, for certificates whose subject has no CCCD. */
  async registerCertificate(actor: string, accountId: string, certificate: string | Uint8Array, authorise?: (trx: unknown) => Promise<Record<string, unknown>>): Promise<{ fingerprint: string; subjectDn: string }> {
    const described = describeLoginCertificate(certificate);
    if (!(await this.accounts.findById(accountId))) throw new AppError('notFound', `no account ${accountId}`);
    return this.db.withTransaction(async (trx) => {
      const basis = authorise ? await authorise(trx) : {};
      return registerLoginCertificateIn(trx, this.registered, this.audit, this.clock.now(), actor, accountId, described, basis);
    });
  }

  /** The certificates registered to an account for certificate login. */
  registeredCertificates(accountId: string) {
    return this.registered.certificatesOf(accountId);
  }

  async removeCertificate(actor: string, accountId: string, fingerprint: string, authorise?: (trx: unknown) => Promise<Record<string, unknown>>): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      const basis = authorise ? await authorise(trx) : {};
      if (!(await this.registered.removeCertificate(trx, accountId, fingerprint))) throw new AppError('notFound', 'no such certificate on this account');
      await this.audit.append(trx, { actor, action: 'account.certificate_remove', target: `account:${accountId}`, details: { fingerprint, ...basis } });
    });
  }
}
