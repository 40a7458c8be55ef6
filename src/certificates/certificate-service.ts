import { AppError, asAppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { AuditTrail, CaStorage, Clock, IssuanceLedger, IssuerStore, RegistrySearch, Transactions } from '../../ca/ports.js';
import type { CertificateRecord, CertificateSearch, RevocationReasonName } from '../../ca/records.js';
import { decodePem, encodePem, toHex } from '../../ca/asn1/der.js';
import { certsOnlyPkcs7 } from '../../ca/asn1/pkcs7.js';
import { certificateFacts, parseCertificate } from '../../ca/asn1/certificate.js';
import { formatName, parseName } from '../../ca/asn1/names.js';
import { identityFromName } from '../../ca/asn1/identity.js';
import { hexFromInteger } from '../../ca/asn1/der.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import type { CertificateAuthority } from './certificate-authority.js';
import type { RegistrationAuthority } from './registration-authority.js';
import type { CaSetup } from './ca-setup.js';
import type { BatchIssuance } from './batch-issuance.js';
import type { BatchRegistration } from './batch-requests.js';
import { blockingFingerprint, publicKeyOf } from './key-guard.js';

export interface ImportResult {
  imported: Array<{ serial: string; issuer: string; statusSource: string }>;
  skipped: Array<{ serial: string; reason: string }>;
}

/** The registry's read side and the operations around the CA and RA, for routers and the CLI. */
/**
 * How many matches a registry search counts exactly before answering "more than this" (docs/ca.md,
 * "Registry search"): enough for any page a person reads, cheap at a million certificates.
 */
export const REGISTRY_COUNT_LIMIT = 1_000;

/** What a read with `certs:read:pii` showed in full (the details of its `certificate.read_pii` event). */
export interface PiiRead {
  serials: string[];
  /** Certificate requests whose subjects were shown. */
  requests?: string[];
  /** Audit events (by sequence number) whose details were shown. */
  auditEvents?: number[];
  /** Officials' accounts whose national ID was shown (the console's account page). */
  accounts?: string[];
  query?: Record<string, unknown>;
}

export class CertificateService {
  private readonly db: Transactions<Transaction>;
  private readonly audit: AuditTrail<Transaction>;
  private readonly issuers: IssuerStore<Transaction>;
  private readonly ledger: IssuanceLedger<Transaction>;
  private readonly registry: RegistrySearch<Transaction>;

  /** The storage through the CA's ports (ca/ports.ts): issuers, the ledger (imports) and the registry's search. */
  constructor(
    readonly ca: CertificateAuthority,
    readonly ra: RegistrationAuthority,
    readonly setup: CaSetup,
    storage: Pick<CaStorage<Transaction>, 'transactions' | 'audit' | 'issuers' | 'ledger' | 'search'>,
    private readonly clock: Clock,
    /** The RA officers' batch path and bulk status changes (docs/ca.md, "Batch issuance"). */
    readonly batch: { issuance: BatchIssuance; requests: BatchRegistration },
  ) {
    this.db = storage.transactions;
    this.audit = storage.audit;
    this.issuers = storage.issuers;
    this.ledger = storage.ledger;
    this.registry = storage.search;
  }

  /**
   * `cert block-key`: a key reported compromised without a certificate of ours (docs/ca.md,
   * "Blocked keys"). Audited; blocking twice keeps the first entry.
   */
  async blockKey(actor: string, file: Uint8Array, comment?: string): Promise<{ fingerprint: string; blocked: boolean }> {
    const spki = publicKeyOf(file);
    const fingerprint = blockingFingerprint(spki);
    const blocked = await this.db.withTransaction(async (trx) => {
      const added = await this.ca.keyGuard.block(trx, spki, { reason: 'reported', source: null, blockedBy: actor, comment: comment ?? null, blockedAt: this.clock.now() });
      if (added) await this.audit.append(trx, { actor, action: 'key.block', target: `key:${fingerprint}`, details: { reason: 'reported', comment } });
      return added;
    });
    return { fingerprint, blocked };
  }

  /**
   * docs/ca.md, "Personal data": a read that showed identifiers in full (certificates, requests'
   * subjects, audit events' details), or looked a person up by number.
   */
  async recordPiiRead(actor: string, details: PiiRead): Promise<void> {
    const requests = details.requests ?? [];
    const accounts = details.accounts ?? [];
    const only = (list: string[], others: unknown[][]) => list.length === 1 && others.every((o) => !o.length);
    const target = only(details.serials, [requests, accounts])
      ? `certificate:${details.serials[0]}`
      : only(requests, [details.serials, accounts])
        ? `request:${requests[0]}`
        : only(accounts, [details.serials, requests])
          ? `account:${accounts[0]}`
          : null;
    await this.db.withTransaction((trx) => this.audit.append(trx, { actor, action: 'certificate.read_pii', target, details: { ...details } }));
  }

  /**
   * Without `countLimit` the total is exact (every match counted); the API and console pass REGISTRY_COUNT_LIMIT.
   * `onItems`: called with the page's items while the count runs (ca/ports.ts RegistrySearch); the answer waits for it.
   */
  search(filter: Omit<CertificateSearch, 'limit' | 'offset'> & { limit?: number; offset?: number }, onItems?: (items: CertificateRecord[]) => Promise<void>) {
    return this.registry.search(null, { limit: 50, offset: 0, ...filter }, this.clock.now(), onItems);
  }

  countByStatus() {
    return this.registry.countByStatus(null, this.clock.now());
  }

  countByProfileAndStatus() {
    return this.registry.countByProfileAndStatus(null, this.clock.now());
  }

  pem(cert: CertificateRecord): string {
    if (!cert.der) throw new AppError('notFound', `certificate ${cert.serial} has no signed form`);
    return encodePem(cert.der, 'CERTIFICATE');
  }

  /** A CA certificate of ours, for the AIA caIssuers URL. */
  async caCertificate(issuerId: string): Promise<{ der: Buffer; pem: string }> {
    const issuer = await this.issuers.get(null, issuerId);
    if (!issuer?.certificate || issuer.role === 'external') throw new AppError('notFound', `no CA certificate for issuer ${issuerId}`);
    return { der: issuer.certificate, pem: encodePem(issuer.certificate, 'CERTIFICATE') };
  }

  /** The certificate and its issuers up to the root, as a certs-only PKCS#7. */
  async chainPkcs7(cert: CertificateRecord): Promise<Uint8Array> {
    if (!cert.der) throw new AppError('notFound', `certificate ${cert.serial} has no signed form`);
    const chain: Uint8Array[] = [cert.der];
    let issuer = await this.issuers.get(null, cert.issuerId);
    for (let depth = 0; issuer?.certificate && depth < 8; depth++) {
      chain.push(issuer.certificate);
      issuer = issuer.parentId ? await this.issuers.get(null, issuer.parentId) : null;
    }
    return certsOnlyPkcs7(chain);
  }

  /** Revokes every valid certificate matching the filter, one by one (each audited, CRLs regenerated). */
  async bulkRevoke(actor: string, filter: { agency?: string; nationalId?: string; taxCode?: string }, reason: RevocationReasonName, comment?: string, onProgress?: (done: number, total: number) => void) {
    const revoked: string[] = [];
    const failed: Array<{ serial: string; detail: string }> = [];
    const targets: CertificateRecord[] = [];
    // The agency is the whole name, compared folded (src/text/folding.ts) as search compares it:
    // an agency that search finds by a case or NFD variant is the one revoked.
    const { agency, ...rest } = filter;
    const byAgency = agency === undefined ? {} : { agencyExact: agency };
    for (const status of ['good', 'hold'] as const) {
      for (let cursor: string | undefined; ; ) {
        const page = await this.registry.search(null, { ...rest, ...byAgency, status, limit: 500, offset: 0, cursor, countLimit: 0 }, this.clock.now());
        targets.push(...page.items.filter((c) => c.source === 'issued'));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
    }
    for (const c of targets) {
      try {
        await this.ca.changeStatus({ actor, serial: c.serial, issuerId: c.issuerId, action: 'revoke', reason, comment: comment ?? 'bulk revocation' });
        revoked.push(c.serial);
      } catch (err) {
        failed.push({ serial: c.serial, detail: asAppError(err)?.detail ?? String(err) });
      }
      onProgress?.(revoked.length + failed.length, targets.length);
    }
    return { revoked, failed };
  }

  /**
   * Imports existing certificates (a PEM bundle): ours are linked to their issuer and take their
   * status from the registry; other CAs' are recorded with where their status comes from (their
   * OCSP responder, else their CRL), never answered for by us.
   */
  async importCertificates(actor: string, pemText: string): Promise<ImportResult> {
    const blocks = decodePem(pemText, 'badCertificate').filter((b) => b.label === 'CERTIFICATE');
    if (!blocks.length) throw new AppError('badCertificate', 'no CERTIFICATE block in the input');
    const issuers = await this.issuers.list(null);
    const result: ImportResult = { imported: [], skipped: [] };
    for (const block of blocks) {
      const { certificate } = parseCertificate(block.der);
      const facts = certificateFacts(certificate);
      const serial = hexFromInteger(certificate.serialNumber.valueBlock.valueHexView);
      const aki = facts.authorityKeyIdentifier ? toHex(facts.authorityKeyIdentifier) : null;
      const ours = issuers.find((i) => i.role !== 'external' && i.keyIdentifier && i.keyIdentifier === aki);
      const attributes = parseName(facts.subject, 'badCertificate');
      const identity = identityFromName(attributes, facts.emails);
      const statusSource = ours ? 'registry' : facts.ocspUrls[0] ? `ocsp:${facts.ocspUrls[0]}` : facts.crlUrls[0] ? `crl:${facts.crlUrls[0]}` : 'none';
      const issuerId = ours?.id ?? `ext-${(aki ?? toHex(facts.issuer).slice(0, 40)).slice(0, 40)}`;
      const added = await this.db.withTransaction(async (trx) => {
        if (!ours && !(await this.issuers.get(trx, issuerId))) {
          await this.issuers.add(trx, { id: issuerId, role: 'external', keyUri: null, certificate: null, csr: null, signatureAlgorithm: null, parentId: null, status: 'active', subjectDn: formatName(parseName(facts.issuer, 'badCertificate')), keyIdentifier: aki }, this.clock.now());
        }
        const ok = await this.ledger.importCertificate(
          trx,
          {
            issuerId,
            serial,
            der: block.der,
            publicKeyFingerprint: publicKeyFingerprint(facts.spki),
            notBefore: facts.notBefore,
            notAfter: facts.notAfter,
            holder: { subjectDn: formatName(attributes), holderName: identity.commonName, nationalId: identity.personalId?.value ?? null, taxCode: identity.taxCode, budgetCode: identity.budgetCode, agency: identity.organization, email: identity.emails[0] ?? null },
            statusSource,
          },
          this.clock.now(),
        );
        if (ok) await this.audit.append(trx, { actor, action: 'certificate.import', target: `certificate:${serial}`, details: { issuer: issuerId, statusSource } });
        return ok;
      });
      if (added) result.imported.push({ serial, issuer: issuerId, statusSource });
      else result.skipped.push({ serial, reason: 'already in the registry' });
    }
    return result;
  }
}
