import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { Transaction } from '../storage/db.js';
import type {
  AuditTrail,
  CaStorage,
  Clock,
  CrlStore,
  IssuanceLedger,
  IssuerStore,
  RequestStore,
  Transactions,
} from '../../ca/ports.js';
import type { CertificateRecord, IssuerRecord, RevocationReasonName } from '../../ca/records.js';
import type { KeyStore, SigningKey } from '../../ca/keys/key-store.js';
import type { Profile, Profiles } from '../../ca/profiles/profile.js';
import { getProfile } from '../../ca/profiles/profile.js';
import { issuerFromCertificate, type Issuer } from '../../ca/issuance/issuer.js';
import { prepareCertificate } from '../../ca/issuance/prepare.js';
import { signCertificate } from '../../ca/issuance/sign.js';
import { newSerial } from '../../ca/issuance/serial.js';
import type { IssuanceRequest } from '../../ca/issuance/request.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import { parseCertificate } from '../../ca/asn1/certificate.js';
import { der } from '../../ca/asn1/der.js';
import { BLOCKING_REASONS, KeyGuard } from './key-guard.js';
import { holderFacts } from './holder-facts.js';
import { nextStatus } from './status-transition.js';
import { buildCrl, crlEntryDer, deltaEntries, signCrl, type CrlEntry, type EncodedEntries } from '../../ca/status/crl/crl.js';

export interface CaPolicy {
  publicUrl: string;
  crlValidityHours: number;
  deltaCrlValidityMinutes: number;
  rootCrlValidityDays: number;
}

/** How far behind this node's clock another node's may run when it records a release. */
const releaseClockMargin = 5 * 60_000;

/** Called after a certificate's status changed and committed (OCSP re-signs, CRLs regenerate). */
export type StatusListener = (certificate: CertificateRecord) => Promise<void>;

export interface Issued {
  issuerId: string;
  serial: string;
  der: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

// Re-exported for the RA and the batch path, which import it from here.
export { holderFacts };

/**
 * The certificate authority: the only caller of signing keys for certificates and CRLs. Only
 * the registration authority (src/certificates/registration-authority.ts) and the CA commands call it.
 *
 * Issuance is Boulder's prepare → lint → reserve → sign → record: the serial and the linted TBS
 * are committed before the key signs, and the certificate with its audit event in one transaction
 * after. A crash in between leaves a reserved row that `finishUnfinished` re-signs from the same
 * TBS, so no serial is used twice and no certificate handed to anyone is missing.
 */
export class CertificateAuthority {
  private readonly keys = new Map<string, SigningKey>();
  private readonly listeners: StatusListener[] = [];

  private readonly db: Transactions<Transaction>;
  private readonly audit: AuditTrail<Transaction>;
  private readonly issuerStore: IssuerStore<Transaction>;
  private readonly ledger: IssuanceLedger<Transaction>;
  private readonly crls: CrlStore<Transaction>;
  private readonly requests: RequestStore<Transaction>;
  /** Blocked keys and CA keys, refused in any leaf (docs/ca.md). */
  readonly keyGuard: KeyGuard;

  /** The storage through the CA's ports (ca/ports.ts): everything but the registry's search. */
  constructor(
    storage: Omit<CaStorage<Transaction>, 'search'>,
    private readonly keyStore: KeyStore,
    readonly profiles: Profiles,
    private readonly clock: Clock,
    private readonly policy: CaPolicy,
    private readonly log: Logger,
  ) {
    this.db = storage.transactions;
    this.audit = storage.audit;
    this.issuerStore = storage.issuers;
    this.ledger = storage.ledger;
    this.crls = storage.crls;
    this.requests = storage.requests;
    this.keyGuard = new KeyGuard(storage.blockedKeys, storage.issuers);
  }

  onStatusChange(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  profile(id: string): Profile {
    return getProfile(this.profiles, id);
  }

  async key(uri: string): Promise<SigningKey> {
    let key = this.keys.get(uri);
    if (!key) {
      key = await this.keyStore.load(uri);
      this.keys.set(uri, key);
    }
    return key;
  }

  issuerOf(row: IssuerRecord): Issuer {
    if (!row.certificate) throw new AppError('conflict', `issuer ${row.id} has no certificate yet (waiting for its external root)`);
    return issuerFromCertificate({ id: row.id, certificate: row.certificate, publicUrl: this.policy.publicUrl, signatureAlgorithm: row.signatureAlgorithm ?? undefined });
  }

  /** The issuing CA new certificates come from: the newest active one. */
  async defaultIssuer(trx?: Transaction): Promise<IssuerRecord> {
    const active = (await this.issuerStore.list(trx ?? null)).filter((i) => i.role === 'issuing' && i.status === 'active');
    // Only an issuer every OCSP node answers for (docs/ocsp.md, "A new issuing CA"), while there is one.
    const announced = active.filter((i) => i.announcedAt);
    const newest = announced.length ? announced[announced.length - 1] : active[active.length - 1];
    if (!newest) throw new AppError('conflict', 'no active issuing CA: run `tinnhiem ca init` first');
    return newest;
  }

  /**
   * Issues one certificate. `within` runs inside the recording transaction (the RA marks its
   * request issued there), so request, certificate and audit event commit together.
   */
  async issue(params: {
    actor: string;
    request: IssuanceRequest;
    profile: Profile;
    issuerId?: string;
    requestId?: string | null;
    predecessorSerial?: string | null;
    within?: (trx: Transaction, issued: Issued) => Promise<void>;
  }): Promise<Issued> {
    const { request, profile } = params;
    const issuerRow = params.issuerId ? await this.issuerStore.get(null, params.issuerId) : await this.defaultIssuer();
    if (!issuerRow || issuerRow.role === 'external' || issuerRow.status !== 'active') throw new AppError('conflict', `issuer ${params.issuerId} cannot issue`);
    const issuer = this.issuerOf(issuerRow);
    const key = await this.key(issuerRow.keyUri!);
    const fingerprint = publicKeyFingerprint(request.spki);
    const now = this.clock.now();
    if (profile.type === 'end-entity') await this.keyGuard.refuseBlocked(null, request.spki);
    if (profile.type === 'end-entity' && (await this.ledger.isPublicKeyInUse(null, fingerprint, now))) {
      throw new AppError('policyViolation', 'this public key is already certified in another certificate that is neither revoked nor expired (key reuse)');
    }
    const holder = holderFacts(request);

    // Reserve: draw serials until one is free (a collision of 128 random bits is theoretical).
    let prepared;
    for (let attempt = 0; ; attempt++) {
      prepared = prepareCertificate({ request, profile, issuer, now, serial: newSerial() });
      const p = prepared;
      const reserved = await this.db.withTransaction((trx) =>
        this.ledger.reserve(
          trx,
          {
            issuerId: issuer.id,
            serial: p.serial,
            tbs: p.tbs,
            profileId: profile.id,
            requestId: params.requestId ?? null,
            publicKeyFingerprint: fingerprint,
            notBefore: p.notBefore,
            notAfter: p.notAfter,
            predecessorSerial: params.predecessorSerial ?? null,
            holder,
          },
          now,
        ),
      );
      if (reserved) break;
      if (attempt >= 3) throw new AppError('internal', 'could not reserve a unique serial');
    }

    const der = await signCertificate(prepared, issuer, key);
    const issued: Issued = { issuerId: issuer.id, serial: prepared.serial, der, notBefore: prepared.notBefore, notAfter: prepared.notAfter };
    const serial = prepared.serial;
    await this.db.withTransaction(async (trx) => {
      await this.ledger.record(trx, issuer.id, prepared.serial, der);
      await this.audit.append(trx, {
        actor: params.actor,
        action: 'certificate.issue',
        target: `certificate:${prepared.serial}`,
        details: {
          issuer: issuer.id,
          profile: profile.id,
          subject: holder.subjectDn,
          notAfter: prepared.notAfter.toISOString(),
          request: params.requestId ?? undefined,
          predecessor: params.predecessorSerial ?? undefined,
        },
      });
      await params.within?.(trx, issued);
      })
      .catch(async (err: unknown) => {
        // Recording failed while we are alive to know it (e.g. the request was rejected
        // meanwhile): the certificate was never handed out, so it must never be finished later.
        await this.ledger.abandon(null, issuer.id, serial).catch(() => undefined);
        throw err;
      });
    return issued;
  }

  /** Crash recovery: signs and records certificates whose serial and TBS were reserved. */
  async finishUnfinished(): Promise<number> {
    const pending = await this.ledger.unfinished(null);
    for (const row of pending) {
      const issuerRow = await this.issuerStore.get(null, row.issuerId);
      if (!issuerRow?.keyUri || !row.tbs) continue;
      // Finish only what would still be issued now: the request may have been rejected meanwhile.
      const request = row.requestId ? await this.requests.get(null, row.requestId) : null;
      if (request && request.status !== 'approved' && !(request.status === 'pending' && request.approvalsRequired === 0)) {
        await this.ledger.abandon(null, row.issuerId, row.serial);
        this.log.warn({ serial: row.serial, request: request.id, status: request.status }, 'abandoned an interrupted issuance whose request is no longer approved');
        continue;
      }
      const issuer = this.issuerOf(issuerRow);
      const key = await this.key(issuerRow.keyUri);
      const der = await signCertificate({ tbs: row.tbs, serial: row.serial, issuerId: row.issuerId }, issuer, key);
      await this.db.withTransaction(async (trx) => {
        await this.ledger.record(trx, row.issuerId, row.serial, der);
        await this.audit.append(trx, {
          actor: 'system',
          action: 'certificate.issue',
          target: `certificate:${row.serial}`,
          details: { issuer: row.issuerId, profile: row.profileId, subject: row.subjectDn, recovered: true },
        });
        if (row.requestId) await this.requests.setStatus(trx, row.requestId, 'issued', this.clock.now(), { certificateSerial: row.serial });
      });
      this.log.warn({ serial: row.serial, issuer: row.issuerId }, 'finished an issuance interrupted by a crash');
    }
    return pending.length;
  }

  /** One certificate by serial; an ambiguous serial (two issuers) must name the issuer. */
  async certificate(serial: string, issuerId?: string, trx?: Transaction, forUpdate = false): Promise<CertificateRecord> {
    const normalised = serial.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '').replace(/:/g, '');
    const found = (await this.ledger.bySerial(trx ?? null, normalised, { forUpdate })).filter((c) => !issuerId || c.issuerId === issuerId);
    if (found.length === 0) throw new AppError('notFound', `no certificate with serial ${serial}`);
    if (found.length > 1) throw new AppError('conflict', `serial ${serial} exists under several issuers; name the issuer`);
    return found[0];
  }

  /**
   * Revocation, hold and release (RFC 5280 §5.3.1). A revoked certificate stays revoked; a held
   * one may be revoked or released. The change and its audit event commit together; then the
   * issuer's CRLs are regenerated and listeners (OCSP) are told, before the call returns.
   */
  async changeStatus(params: {
    actor: string;
    serial: string;
    issuerId?: string;
    action: 'revoke' | 'hold' | 'release';
    reason?: RevocationReasonName;
    invalidityDate?: Date | null;
    comment?: string;
  }): Promise<CertificateRecord> {
    const now = this.clock.now();
    const updated = await this.db.withTransaction(async (trx) => {
      const current = await this.certificate(params.serial, params.issuerId, trx, true);
      const { next, raisedFrom } = nextStatus(current, params, now);
      // The CRL entry is encoded once, here, and kept with the revocation (a full CRL concatenates them).
      const crlEntry = next.revokedAt && next.reason ? crlEntryDer({ serial: current.serial, revokedAt: next.revokedAt, reason: next.reason, invalidityDate: next.invalidityDate }) : null;
      await this.ledger.setStatus(trx, current.issuerId, current.serial, { ...next, crlEntry }, now);
      await this.audit.append(trx, {
        actor: params.actor,
        action: `certificate.${params.action}`,
        target: `certificate:${current.serial}`,
        details: { issuer: current.issuerId, reason: next.reason ?? undefined, raisedFrom, invalidityDate: next.invalidityDate?.toISOString(), comment: params.comment },
      });
      if (next.reason && BLOCKING_REASONS.includes(next.reason) && current.der) {
        const source = `${current.issuerId}/${current.serial}`;
        const blockedAt = now;
        if (await this.keyGuard.block(trx, der(parseCertificate(current.der).certificate.subjectPublicKeyInfo), { reason: next.reason as 'keyCompromise', source, blockedBy: params.actor, comment: params.comment ?? null, blockedAt })) {
          await this.audit.append(trx, { actor: params.actor, action: 'key.block', target: `certificate:${current.serial}`, details: { issuer: current.issuerId, reason: next.reason } });
        }
      }
      return { ...current, status: next.status, revokedAt: next.revokedAt, revocationReason: next.reason, invalidityDate: next.invalidityDate, statusChangedAt: now };
    });
    await this.generateCrls(updated.issuerId, ['full', 'delta']);
    await this.notifyStatusChange(updated);
    return updated;
  }

  /** Tells the listeners (OCSP re-signing, caches) of a committed status change. */
  async notifyStatusChange(certificate: CertificateRecord): Promise<void> {
    for (const listener of this.listeners) await listener(certificate);
  }

  /**
   * Generates and publishes CRLs for an issuer (RFC 5280 §5). A full CRL lists every revoked or
   * held, unexpired certificate. With `newBase` (the schedule, `crl generate`, CA set-up) it also
   * becomes the base of the delta CRLs (§5.2.4); a full CRL made on a revocation does not, so the
   * delta keeps listing every change since its base, with removeFromCRL for released holds.
   * Serialised per issuer across nodes; numbers come from one sequence per issuer (§5.2.3).
   */
  async generateCrls(issuerId: string, kinds: Array<'full' | 'delta'>, options: { actor?: string; newBase?: boolean } = {}): Promise<Array<{ kind: string; number: bigint }>> {
    const row = await this.issuerStore.get(null, issuerId);
    if (!row?.keyUri || !row.certificate) throw new AppError('notFound', `no issuer ${issuerId} with a key`);
    const issuer = this.issuerOf(row);
    const key = await this.key(row.keyUri);
    const out: Array<{ kind: string; number: bigint }> = [];
    await this.db.withTransaction(async (trx) => {
      await this.crls.lock(trx, issuerId);
      const now = this.clock.now();
      const current = await this.fullList(trx, issuerId, now);
      const hours = row.role === 'root' ? this.policy.rootCrlValidityDays * 24 : this.policy.crlValidityHours;
      let base: { number: bigint; thisUpdate: Date } | null = await this.crls.latest(trx, issuerId, 'delta-base');
      for (const kind of kinds) {
        if (kind === 'delta' && (!base || row.role === 'root')) continue;
        const number = await this.crls.nextNumber(trx, issuerId);
        const nextUpdate = new Date(now.getTime() + (kind === 'full' ? hours * 3_600_000 : this.policy.deltaCrlValidityMinutes * 60_000));
        const entries = kind === 'full' ? current : await this.deltaSince(trx, issuerId, base!.thisUpdate, now);
        const tbs = buildCrl({
          issuer,
          number,
          thisUpdate: now,
          nextUpdate,
          entries,
          ...(kind === 'delta' ? { delta: { baseNumber: base!.number } } : { freshestCrl: row.role !== 'root' }),
        });
        const der = await signCrl(tbs, issuer, key);
        const isBase = kind === 'full' && (!!options.newBase || !base);
        await this.crls.publish(trx, {
          issuerId,
          number,
          kind,
          deltaBase: isBase,
          baseNumber: kind === 'delta' ? base!.number : null,
          thisUpdate: now,
          nextUpdate,
          der,
        });
        if (isBase) base = { number, thisUpdate: now };
        out.push({ kind, number });
      }
      if (options.actor) await this.audit.append(trx, { actor: options.actor, action: 'crl.generate', target: `issuer:${issuerId}`, details: { crls: out.map((c) => `${c.kind} #${c.number}`) } });
    });
    return out;
  }

  /**
   * A full CRL's entries: the DER each revocation stored, concatenated by the database. Rows
   * without one (revoked before it was kept, or written by hand) are encoded and stored first.
   */
  private async fullList(trx: Transaction, issuerId: string, now: Date): Promise<EncodedEntries> {
    const missing = await this.crls.unencodedEntries(trx, issuerId, now);
    if (missing.length) await this.crls.storeEntries(trx, issuerId, missing.map((e) => ({ serial: e.serial, der: crlEntryDer(e) })));
    return this.crls.encodedEntries(trx, issuerId, now);
  }

  /**
   * A delta CRL's entries (§5.2.4), in proportion to the changes: the revoked and held
   * certificates whose status changed since the base was made, as they are now, and removeFromCRL
   * for holds released and entries expired since. The margin covers clocks of other nodes that lag
   * this one and status changes whose transaction began before the base: listing a change twice,
   * or a removeFromCRL for a serial no full CRL lists, is harmless; a missing one is not.
   */
  private async deltaSince(trx: Transaction, issuerId: string, baseMadeAt: Date, now: Date): Promise<CrlEntry[]> {
    const since = new Date(baseMadeAt.getTime() - releaseClockMargin);
    const [changed, expired, released] = [await this.crls.changedSince(trx, issuerId, since, now), await this.crls.expiredSince(trx, issuerId, since, now), await this.crls.releasedSince(trx, issuerId, since, now)];
    // deltaEntries against the expired entries as "base": they are not current, so each becomes removeFromCRL.
    return deltaEntries(expired, changed, released);
  }

  /** Regenerates what is due: full CRLs past half their life, deltas past half theirs. */
  async refreshCrls(): Promise<void> {
    const now = this.clock.now().getTime();
    for (const row of await this.issuerStore.list(null)) {
      if (row.role !== 'issuing' || row.status === 'pending' || !row.certificate) continue;
      const full = await this.crls.latest(null, row.id, 'full');
      const delta = await this.crls.latest(null, row.id, 'delta');
      const half = (c: { thisUpdate: Date; nextUpdate: Date } | null) => !c || now >= (c.thisUpdate.getTime() + c.nextUpdate.getTime()) / 2;
      if (half(full)) await this.generateCrls(row.id, ['full', 'delta'], { newBase: true });
      else if (half(delta)) await this.generateCrls(row.id, ['delta']);
    }
  }

  latestCrl = (issuerId: string, kind: 'full' | 'delta') => this.crls.latest(null, issuerId, kind);

  issuers = (): Promise<IssuerRecord[]> => this.issuerStore.list(null);
}
