import { AppError, asAppError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';
import type { Transaction } from '../storage/db.js';
import type { AuditEntry, CaStorage, Clock, IssuanceIntent } from '../../ca/ports.js';
import type { CertificateRecord, HolderFacts, RevocationReasonName } from '../../ca/records.js';
import type { Profile } from '../../ca/profiles/profile.js';
import type { IssuanceRequest } from '../../ca/issuance/request.js';
import type { PreparedCertificate } from '../../ca/issuance/template.js';
import { prepareCertificate } from '../../ca/issuance/prepare.js';
import { signCertificate } from '../../ca/issuance/sign.js';
import { newSerial } from '../../ca/issuance/serial.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import { parseCertificate } from '../../ca/asn1/certificate.js';
import { der } from '../../ca/asn1/der.js';
import { crlEntryDer } from '../../ca/status/crl/crl.js';
import type { Issuer } from '../../ca/issuance/issuer.js';
import { holderFacts, type CertificateAuthority, type Issued } from './certificate-authority.js';
import { BLOCKING_REASONS } from './key-guard.js';
import { nextStatus } from './status-transition.js';

export { MAX_BATCH } from './batch-limits.js';

export interface BatchItem {
  request: IssuanceRequest;
  profile: Profile;
  issuerId?: string;
  /** The RA request this certificate answers: it must still be approved (or need no approval) when recorded. */
  requestId?: string | null;
  predecessorSerial?: string | null;
}

/** Preparing and linting a TBS takes milliseconds: a batch gives way this often, so other requests (OCSP, tokens) are served meanwhile. */
export const YIELD_EVERY = 20;
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Signatures in flight at once in a batch: libuv's thread pool (4) twice over for an RSA key, a PKCS#11 store queues them on its sessions (a file: ECDSA key signs in this thread, signWith). */
const SIGNING_WINDOW = 8;

/** One item's outcome: its certificate, or the problem that kept it from being issued. */
export type ItemOutcome<T> = { ok: true; value: T } | { ok: false; error: AppError };

export interface StatusChangeItem {
  serial: string;
  issuerId?: string;
  action: 'revoke' | 'hold' | 'release';
  reason?: RevocationReasonName;
  comment?: string;
}

/** A domain error becomes the item's problem; anything else (a bug, the database) fails the whole call. */
export function itemError(err: unknown): AppError {
  const app = asAppError(err);
  if (!app) throw err;
  return app;
}

interface Pending {
  index: number;
  item: BatchItem;
  fingerprint: string;
  holder?: HolderFacts;
  prepared?: PreparedCertificate;
  der?: Uint8Array;
}

/**
 * Issuance in bulk (docs/ca.md, "Batch issuance"): the same steps and guarantees as
 * CertificateAuthority.issue — prepare and lint, reserve, sign, record with the audit event — with
 * one round trip per step for the whole batch: blocked keys and key reuse looked up in one query
 * (duplicates within the batch included), the serials and TBSs reserved in one multi-row insert and
 * transaction, then every certificate, its audit event (appended in the chain in one go) and its
 * request's status in one transaction. A crash in between leaves reserved rows that
 * `finishUnfinished` re-signs, as for a single issuance. Each item fails alone with its own problem.
 */
export class BatchIssuance {
  constructor(
    private readonly storage: Pick<CaStorage<Transaction>, 'transactions' | 'audit' | 'ledger' | 'requests' | 'issuers'>,
    private readonly ca: CertificateAuthority,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async issueMany(actor: string, items: readonly BatchItem[]): Promise<Array<ItemOutcome<Issued>>> {
    const outcomes: Array<ItemOutcome<Issued>> = new Array(items.length);
    const byIssuer = new Map<string, Pending[]>();
    const defaultIssuer = items.some((i) => !i.issuerId) ? (await this.ca.defaultIssuer()).id : '';
    items.forEach((item, index) => {
      const issuerId = item.issuerId ?? defaultIssuer;
      byIssuer.set(issuerId, [...(byIssuer.get(issuerId) ?? []), { index, item, fingerprint: publicKeyFingerprint(item.request.spki) }]);
    });
    for (const [issuerId, group] of byIssuer) {
      for (const [index, outcome] of await this.issueForIssuer(actor, issuerId, group)) outcomes[index] = outcome;
    }
    return outcomes;
  }

  private async issueForIssuer(actor: string, issuerId: string, group: Pending[]): Promise<Map<number, ItemOutcome<Issued>>> {
    const result = new Map<number, ItemOutcome<Issued>>();
    const fail = (p: Pending, err: unknown) => result.set(p.index, { ok: false, error: itemError(err) });
    const issuerRow = await this.storage.issuers.get(null, issuerId);
    if (!issuerRow || issuerRow.role === 'external' || issuerRow.status !== 'active') {
      for (const p of group) fail(p, new AppError('conflict', `issuer ${issuerId} cannot issue`));
      return result;
    }
    const issuer = this.ca.issuerOf(issuerRow);
    const key = await this.ca.key(issuerRow.keyUri!);
    const now = this.clock.now();
    const refused = await this.keyProblems(group, now);
    let live: Pending[] = [];
    for (const [k, p] of group.entries()) {
      if (k % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
      const problem = refused.get(p.index);
      if (problem) {
        fail(p, problem);
        continue;
      }
      try {
        p.holder = holderFacts(p.item.request);
        p.prepared = prepareCertificate({ request: p.item.request, profile: p.item.profile, issuer, now, serial: newSerial() });
        live.push(p);
      } catch (err) {
        fail(p, err);
      }
    }
    if (!live.length) return result;
    await this.reserve(issuer, live, now);
    // Signing: the key signs each TBS and the signature is verified before anyone sees it (sign.ts).
    // A file: ECDSA key signs in this thread (signWith), so the loop gives way as preparing does; an HSM's
    // key has a few signatures in flight on its session pool, since one at a time leaves it idle
    // between round trips to the event loop. Any failure fails the call as before; the
    // reservations stay for finishUnfinished.
    for (let from = 0; from < live.length; from += SIGNING_WINDOW) {
      if (from % (SIGNING_WINDOW * 3) === SIGNING_WINDOW * 2) await yieldToEventLoop();
      await Promise.all(live.slice(from, from + SIGNING_WINDOW).map(async (p) => (p.der = await signCertificate(p.prepared!, issuer, key))));
    }
    live = await this.record(actor, issuerId, live, (p, err) => fail(p, err));
    for (const p of live) {
      result.set(p.index, { ok: true, value: { issuerId, serial: p.prepared!.serial, der: p.der!, notBefore: p.prepared!.notBefore, notAfter: p.prepared!.notAfter } });
    }
    return result;
  }

  /**
   * The key checks of CertificateAuthority.issue for the whole batch in two queries: blocked keys
   * (and the CA's own keys), and key reuse against the registry and within the batch itself (the
   * first item with a key keeps it; the others are refused as reuse).
   */
  private async keyProblems(group: Pending[], now: Date): Promise<Map<number, unknown>> {
    const problems = new Map<number, unknown>();
    const leaves = group.filter((p) => p.item.profile.type === 'end-entity');
    const blocked = await this.ca.keyGuard.blockedAmong(null, leaves.map((p) => p.item.request.spki));
    const inUse = await this.storage.ledger.keysInUse(null, leaves.map((p) => p.fingerprint), now);
    const seen = new Set<string>();
    leaves.forEach((p, i) => {
      const reuse = inUse.has(p.fingerprint) || seen.has(p.fingerprint);
      seen.add(p.fingerprint);
      if (blocked.has(i)) problems.set(p.index, blocked.get(i));
      else if (reuse) problems.set(p.index, new AppError('policyViolation', `this public key is already certified in another certificate that is neither revoked nor expired${inUse.has(p.fingerprint) ? '' : ', or in an earlier item of this batch'} (key reuse)`));
    });
    return problems;
  }

  /**
   * Which of these public keys a batch would refuse now (keyProblems' two queries): blocked, or
   * certified in a certificate neither revoked nor expired. The demo seed skips those of its
   * pooled keys (src/dev/seed-registry.ts); issuance still checks every key itself.
   */
  async keysRefused(spkis: readonly Uint8Array[]): Promise<Set<number>> {
    if (!spkis.length) return new Set();
    const fingerprints = spkis.map((spki) => publicKeyFingerprint(spki));
    const blocked = await this.ca.keyGuard.blockedAmong(null, spkis);
    const inUse = await this.storage.ledger.keysInUse(null, fingerprints, this.clock.now());
    return new Set(fingerprints.flatMap((f, i) => (blocked.has(i) || inUse.has(f) ? [i] : [])));
  }

  /** Reserves every serial in one transaction; a (theoretical) collision draws again for that item only. */
  private async reserve(issuer: Issuer, live: Pending[], now: Date): Promise<void> {
    const issuerId = issuer.id;
    await this.storage.transactions.withTransaction(async (trx) => {
      let todo = live;
      for (let attempt = 0; todo.length; attempt++) {
        if (attempt > 3) throw new AppError('internal', 'could not reserve unique serials');
        const reserved = await this.storage.ledger.reserveMany(trx, todo.map((p) => this.intent(issuerId, p)), now);
        todo = todo.filter((p) => !reserved.has(p.prepared!.serial));
        for (const p of todo) p.prepared = prepareCertificate({ request: p.item.request, profile: p.item.profile, issuer, now, serial: newSerial() });
      }
    });
  }

  private intent(issuerId: string, p: Pending): IssuanceIntent {
    const prepared = p.prepared!;
    return {
      issuerId,
      serial: prepared.serial,
      tbs: prepared.tbs,
      profileId: p.item.profile.id,
      requestId: p.item.requestId ?? null,
      publicKeyFingerprint: p.fingerprint,
      notBefore: prepared.notBefore,
      notAfter: prepared.notAfter,
      predecessorSerial: p.item.predecessorSerial ?? null,
      holder: p.holder!,
    };
  }

  /**
   * One transaction: the requests are locked and checked again (one rejected meanwhile is not
   * issued: its reservation is abandoned), then every certificate, its audit event and its
   * request's status. Returns the items recorded.
   */
  private async record(actor: string, issuerId: string, live: Pending[], fail: (p: Pending, err: unknown) => void): Promise<Pending[]> {
    const now = this.clock.now();
    try {
      return await this.storage.transactions.withTransaction(async (trx) => {
        const requestIds = live.map((p) => p.item.requestId).filter((id): id is string => !!id);
        const requests = new Map((await this.storage.requests.getMany(trx, requestIds, { forUpdate: true })).map((r) => [r.id, r]));
        const changed: Pending[] = [];
        const kept = live.filter((p) => {
          if (!p.item.requestId) return true;
          const r = requests.get(p.item.requestId);
          const issuable = r?.status === 'approved' || (r?.status === 'pending' && r.approvalsRequired === 0);
          if (!issuable) changed.push(p);
          return issuable;
        });
        if (changed.length) await this.storage.ledger.abandonMany(trx, issuerId, changed.map((p) => p.prepared!.serial));
        await this.storage.ledger.recordMany(trx, issuerId, kept.map((p) => ({ serial: p.prepared!.serial, der: p.der! })));
        await this.storage.audit.appendMany(trx, kept.map((p) => issueEvent(actor, issuerId, p)));
        await this.storage.requests.markIssued(trx, kept.filter((p) => p.item.requestId).map((p) => ({ id: p.item.requestId!, serial: p.prepared!.serial })), now);
        for (const p of changed) fail(p, new AppError('conflict', `request ${p.item.requestId} changed while it was being issued`));
        return kept;
      });
    } catch (err) {
      // Recording failed while we are alive to know it: these certificates were never handed out,
      // so they must never be finished later (as CertificateAuthority.issue does).
      await this.storage.ledger.abandonMany(null, issuerId, live.map((p) => p.prepared!.serial)).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Revocations, holds and releases in bulk (RFC 5280 §5.3.1; the demo registry, bulk revocation):
   * every change and its audit event in one transaction, keys blocked as for one change, then the
   * CRLs of each issuer regenerated ONCE for the batch, then the listeners (OCSP) told of each.
   */
  async changeStatusMany(actor: string, changes: readonly StatusChangeItem[]): Promise<Array<ItemOutcome<CertificateRecord>>> {
    const now = this.clock.now();
    const outcomes: Array<ItemOutcome<CertificateRecord>> = new Array(changes.length);
    const updated = await this.storage.transactions.withTransaction(async (trx) => {
      const done: CertificateRecord[] = [];
      const events: AuditEntry[] = [];
      for (const [i, change] of changes.entries()) {
        try {
          const current = await this.ca.certificate(change.serial, change.issuerId, trx, true);
          const { next, raisedFrom } = nextStatus(current, change, now);
          const crlEntry = next.revokedAt && next.reason ? crlEntryDer({ serial: current.serial, revokedAt: next.revokedAt, reason: next.reason, invalidityDate: next.invalidityDate }) : null;
          await this.storage.ledger.setStatus(trx, current.issuerId, current.serial, { ...next, crlEntry }, now);
          events.push({ actor, action: `certificate.${change.action}`, target: `certificate:${current.serial}`, details: { issuer: current.issuerId, reason: next.reason ?? undefined, raisedFrom, comment: change.comment } });
          if (next.reason && BLOCKING_REASONS.includes(next.reason) && current.der) {
            const spki = der(parseCertificate(current.der).certificate.subjectPublicKeyInfo);
            if (await this.ca.keyGuard.block(trx, spki, { reason: next.reason as 'keyCompromise', source: `${current.issuerId}/${current.serial}`, blockedBy: actor, comment: change.comment ?? null, blockedAt: now })) {
              events.push({ actor, action: 'key.block', target: `certificate:${current.serial}`, details: { issuer: current.issuerId, reason: next.reason } });
            }
          }
          const record = { ...current, status: next.status, revokedAt: next.revokedAt, revocationReason: next.reason, invalidityDate: next.invalidityDate, statusChangedAt: now };
          outcomes[i] = { ok: true, value: record };
          done.push(record);
        } catch (err) {
          outcomes[i] = { ok: false, error: itemError(err) };
        }
      }
      await this.storage.audit.appendMany(trx, events);
      return done;
    });
    // Debounced: one CRL generation per issuer for the whole batch, not one per certificate.
    for (const issuerId of new Set(updated.map((c) => c.issuerId))) await this.ca.generateCrls(issuerId, ['full', 'delta']);
    for (const c of updated) await this.ca.notifyStatusChange(c);
    if (updated.length) this.log.info({ changed: updated.length, actor }, 'status changes recorded in one batch');
    return outcomes;
  }
}

function issueEvent(actor: string, issuerId: string, p: Pending): AuditEntry {
  return {
    actor,
    action: 'certificate.issue',
    target: `certificate:${p.prepared!.serial}`,
    details: {
      issuer: issuerId,
      profile: p.item.profile.id,
      subject: p.holder!.subjectDn,
      notAfter: p.prepared!.notAfter.toISOString(),
      request: p.item.requestId ?? undefined,
      predecessor: p.item.predecessorSerial ?? undefined,
      batch: true,
    },
  };
}
