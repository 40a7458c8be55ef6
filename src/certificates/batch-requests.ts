import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { AuditEntry, CaStorage, Clock, NewCertificateRequest } from '../../ca/ports.js';
import type { CertificateRequestRecord, NameControlEvidence } from '../../ca/records.js';
import { holderFacts, type CertificateAuthority } from './certificate-authority.js';
import { nameControlFor, type RegistrationAuthority, type RequestOutcome, type SubmitInput } from './registration-authority.js';
import { preverifyCsrs } from '../../ca/issuance/csr.js';
import { MAX_BATCH, YIELD_EVERY, itemError, yieldToEventLoop, type BatchIssuance, type BatchItem, type ItemOutcome } from './batch-issuance.js';

type Checked = ReturnType<RegistrationAuthority['checkOffline']>;

export interface BatchApproval {
  id: string;
  nameControl?: readonly NameControlEvidence[];
}

/** 400 beyond MAX_BATCH items, or for none (docs/ca.md, "Batch issuance"). */
export function assertBatchSize(n: number): void {
  if (n < 1 || n > MAX_BATCH) throw new AppError('validationFailed', `items: between 1 and ${MAX_BATCH} per batch, got ${n}`);
}

/**
 * The RA officers' batch path (docs/ca.md, "Batch issuance"): many requests submitted, or many
 * approved, in one call, with every control of the one-by-one path held per item — the CSR and
 * the policy checked for each, the keys looked up for all at once (blocked, in use, or repeated
 * within the batch), dual control (never the requester, distinct officers, name-control evidence
 * for DNS names) — and the requests that reach their approvals issued together through
 * BatchIssuance. One bad item gets its own problem and costs the others nothing.
 */
export class BatchRegistration {
  constructor(
    private readonly storage: Pick<CaStorage<Transaction>, 'transactions' | 'audit' | 'ledger' | 'requests'>,
    private readonly ra: RegistrationAuthority,
    private readonly ca: CertificateAuthority,
    private readonly issuance: BatchIssuance,
    private readonly clock: Clock,
  ) {}

  /** Submits every input as `actor`; those whose profile needs no approval are issued at once, together. */
  async submitMany(actor: string, inputs: readonly SubmitInput[]): Promise<Array<ItemOutcome<RequestOutcome>>> {
    assertBatchSize(inputs.length);
    const outcomes: Array<ItemOutcome<RequestOutcome>> = new Array(inputs.length);
    const checked = new Map<number, Checked>();
    await preverifyCsrs(inputs.map((input) => input.csr));
    for (const [i, input] of inputs.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
      try {
        checked.set(i, this.ra.checkOffline(input, actor));
        if (input.predecessorSerial) await this.ca.certificate(input.predecessorSerial);
      } catch (err) {
        outcomes[i] = { ok: false, error: itemError(err) };
      }
    }
    for (const [i, error] of await this.keyProblems(checked, (i) => inputs[i].predecessorSerial)) {
      checked.delete(i);
      outcomes[i] = { ok: false, error };
    }
    if (!checked.size) return outcomes;
    const issuer = await this.ca.defaultIssuer();
    const now = this.clock.now();
    const order = [...checked.keys()];
    const ids = await this.storage.transactions.withTransaction(async (trx) => {
      const rows: NewCertificateRequest[] = order.map((i) => {
        const { profile, csr, request, fingerprint } = checked.get(i)!;
        const holder = { subject: request.subject, emails: request.emails, dnsNames: request.dnsNames };
        return { profileId: profile.id, issuerId: issuer.id, csr: Buffer.from(csr.der), holder, subjectDn: holderFacts(request).subjectDn, publicKeyFingerprint: fingerprint, requestedBy: actor, approvalsRequired: profile.approvals, predecessorSerial: inputs[i].predecessorSerial ?? null };
      });
      const created = await this.storage.requests.createMany(trx, rows, now);
      const events: AuditEntry[] = rows.map((r, k) => ({ actor, action: 'certificate.request', target: `request:${created[k]}`, details: { profile: r.profileId, subject: r.subjectDn, approvalsRequired: r.approvalsRequired, predecessor: r.predecessorSerial ?? undefined, batch: true } }));
      await this.storage.audit.appendMany(trx, events);
      return created;
    });
    const requestIdOf = new Map(order.map((i, k) => [i, ids[k]]));
    const atOnce = order.filter((i) => checked.get(i)!.profile.approvals === 0);
    const written = new Map(order.map((i) => [requestIdOf.get(i)!, { issuerId: issuer.id, predecessorSerial: inputs[i].predecessorSerial ?? null }]));
    await this.issueAndReport(actor, atOnce, requestIdOf, checked, outcomes, written);
    const pending = order.filter((i) => !outcomes[i]);
    const records = new Map((await this.storage.requests.getMany(null, pending.map((i) => requestIdOf.get(i)!))).map((r) => [r.id, r]));
    for (const i of pending) outcomes[i] = { ok: true, value: { request: records.get(requestIdOf.get(i)!)!, issued: null } };
    return outcomes;
  }

  /**
   * One officer's approvals of many requests; those that reach their approvals are issued together.
   * `context` (e.g. the CLI's OS user) is recorded with each approval's audit event.
   */
  async approveMany(actor: string, approvals: readonly BatchApproval[], context: Record<string, unknown> = {}): Promise<Array<ItemOutcome<RequestOutcome>>> {
    assertBatchSize(approvals.length);
    const outcomes: Array<ItemOutcome<RequestOutcome>> = new Array(approvals.length);
    const fail = (i: number, err: unknown) => (outcomes[i] = { ok: false, error: itemError(err) });
    const found = new Map((await this.storage.requests.getMany(null, approvals.map((a) => a.id))).map((r) => [r.id, r]));
    await preverifyCsrs([...found.values()].map((r) => r.csr));
    const checked = new Map<number, Checked>();
    const evidence = new Map<number, NameControlEvidence[]>();
    const seen = new Set<string>();
    for (const [i, a] of approvals.entries()) {
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
      try {
        const r = found.get(a.id.toLowerCase());
        if (!r) throw new AppError('notFound', `no certificate request ${a.id}`);
        if (seen.has(r.id)) throw new AppError('conflict', `request ${a.id} appears twice in this batch`);
        seen.add(r.id);
        refuseApproval(r, actor);
        evidence.set(i, nameControlFor(r, a.nameControl ?? []));
        checked.set(i, this.ra.checkOffline(this.ra.storedInput(r), r.requestedBy));
      } catch (err) {
        fail(i, err);
      }
    }
    for (const [i, error] of await this.keyProblems(checked, (i) => found.get(approvals[i].id.toLowerCase())?.predecessorSerial ?? undefined)) {
      checked.delete(i);
      outcomes[i] = { ok: false, error };
    }
    const requestIdOf = new Map([...checked.keys()].map((i) => [i, approvals[i].id.toLowerCase()]));
    // Every batch-wide check is done (a request or a key twice in the batch refused above), so the
    // items are recorded and issued in two halves at once: one half's statements run while the
    // other's certificates are prepared and signed (docs/ca.md, "Batch issuance").
    await settleAll(halves([...checked.keys()]).map(async (part) => {
      const ready = await this.recordApprovals(actor, approvals, part, checked, evidence, context, fail);
      await this.issueAndReport(actor, ready, requestIdOf, checked, outcomes, found);
    }));
    const rest = [...checked.keys()].filter((i) => !outcomes[i]);
    const records = new Map((await this.storage.requests.getMany(null, rest.map((i) => requestIdOf.get(i)!))).map((r) => [r.id, r]));
    for (const i of rest) outcomes[i] = { ok: true, value: { request: records.get(requestIdOf.get(i)!)!, issued: null } };
    return outcomes;
  }

  /**
   * One transaction: the requests locked (in id order: two officers' batches never deadlock) and
   * checked again, one approval per request added, the audit events appended in one go, and the
   * requests that reached their approvals marked approved. Returns the items ready to issue.
   */
  private async recordApprovals(actor: string, approvals: readonly BatchApproval[], candidates: readonly number[], checked: Map<number, Checked>, evidence: Map<number, NameControlEvidence[]>, context: Record<string, unknown>, fail: (i: number, err: unknown) => void): Promise<number[]> {
    const now = this.clock.now();
    if (!candidates.length) return [];
    const { ready, refused } = await this.storage.transactions.withTransaction(async (trx) => {
      const locked = new Map((await this.storage.requests.getMany(trx, candidates.map((i) => approvals[i].id), { forUpdate: true })).map((r) => [r.id, r]));
      const refusedNow = new Map<number, unknown>();
      const allowed = candidates.filter((i) => {
        try {
          refuseApproval(locked.get(approvals[i].id.toLowerCase())!, actor);
          return true;
        } catch (err) {
          refusedNow.set(i, err);
          return false;
        }
      });
      const added = await this.storage.requests.addApprovals(trx, actor, allowed.map((i) => ({ requestId: approvals[i].id.toLowerCase(), nameControl: evidence.get(i)! })), now);
      const approvedNow = allowed.filter((i) => {
        if (added.has(approvals[i].id.toLowerCase())) return true;
        refusedNow.set(i, new AppError('conflict', `you already approved request ${approvals[i].id}; another officer must`));
        return false;
      });
      const events: AuditEntry[] = [];
      const complete: number[] = [];
      for (const i of approvedNow) {
        const r = locked.get(approvals[i].id.toLowerCase())!;
        const count = r.approvals.length + 1;
        const nameControl = evidence.get(i)!;
        events.push({ actor, action: 'certificate.approve', target: `request:${r.id}`, details: { approvals: count, required: r.approvalsRequired, ...(nameControl.length && { nameControl }), ...context, batch: true } });
        if (count >= r.approvalsRequired) complete.push(i);
      }
      await this.storage.audit.appendMany(trx, events);
      await this.storage.requests.markApproved(trx, complete.map((i) => approvals[i].id.toLowerCase()), now);
      return { ready: complete, refused: refusedNow };
    });
    for (const [i, err] of refused) {
      checked.delete(i);
      fail(i, err);
    }
    return ready;
  }

  /**
   * Issues the items together (the policy and the keys checked again there) and records each
   * outcome. `known`: each request's issuer and predecessor, as written at submission (neither
   * changes afterwards; BatchIssuance locks each request and checks its status again as it records).
   */
  private async issueAndReport(actor: string, items: number[], requestIdOf: Map<number, string>, checked: Map<number, Checked>, outcomes: Array<ItemOutcome<RequestOutcome>>, known: ReadonlyMap<string, Pick<CertificateRequestRecord, 'issuerId' | 'predecessorSerial'>>): Promise<void> {
    if (!items.length) return;
    const batch: BatchItem[] = items.map((i) => ({ request: checked.get(i)!.request, profile: checked.get(i)!.profile, requestId: requestIdOf.get(i)! }));
    batch.forEach((b) => {
      const r = known.get(b.requestId!);
      if (r) Object.assign(b, { issuerId: r.issuerId, predecessorSerial: r.predecessorSerial });
    });
    const issued = await this.issuance.issueMany(actor, batch);
    const after = new Map((await this.storage.requests.getMany(null, items.map((i) => requestIdOf.get(i)!))).map((r) => [r.id, r]));
    items.forEach((i, k) => {
      const outcome = issued[k];
      outcomes[i] = outcome.ok ? { ok: true, value: { request: after.get(requestIdOf.get(i)!)!, issued: outcome.value } } : outcome;
    });
  }

  /**
   * Blocked keys and key reuse for every checked item in two queries; a key repeated within the
   * batch is refused after its first item. A key in use passes only for a renewal of the
   * certificate that carries it (as the one-by-one check allows).
   */
  private async keyProblems(checked: Map<number, Checked>, predecessorOf: (i: number) => string | undefined): Promise<Map<number, AppError>> {
    const problems = new Map<number, AppError>();
    const order = [...checked.keys()];
    const blocked = await this.ca.keyGuard.blockedAmong(null, order.map((i) => checked.get(i)!.request.spki));
    const inUse = await this.storage.ledger.keysInUse(null, order.map((i) => checked.get(i)!.fingerprint), this.clock.now());
    const seen = new Set<string>();
    for (const [k, i] of order.entries()) {
      const { fingerprint } = checked.get(i)!;
      const repeated = seen.has(fingerprint);
      seen.add(fingerprint);
      if (blocked.has(k)) problems.set(i, blocked.get(k)!);
      else if (repeated) problems.set(i, new AppError('policyViolation', 'this public key is in an earlier item of this batch (key reuse)'));
      else if (inUse.has(fingerprint)) {
        const serial = predecessorOf(i);
        const predecessor = serial ? await this.ca.certificate(serial).catch(() => null) : null;
        if (predecessor?.publicKeyFingerprint !== fingerprint) problems.set(i, new AppError('policyViolation', 'this public key is already certified in another certificate that is neither revoked nor expired (key reuse)'));
      }
    }
    return problems;
  }
}

/** Dual control, per item: a pending request, never approved by its requester. */
function refuseApproval(r: CertificateRequestRecord, actor: string): void {
  if (r.status !== 'pending') throw new AppError('conflict', `request ${r.id} is ${r.status}, not pending`);
  if (r.requestedBy === actor) throw new AppError('forbidden', 'nobody approves their own request (dual control)');
}

/** A batch this large is recorded and issued in two halves at once; a smaller one in one go. */
export const PIPELINE_FROM = 64;

export function halves<T>(items: readonly T[]): T[][] {
  if (items.length < PIPELINE_FROM) return [items.slice()];
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}

/**
 * Runs every part to its end before answering: a failure of one half (the database) fails the
 * call only once the other half has finished too, so nothing is still being written when the
 * caller hears of it; the first failure is the one thrown.
 */
export async function settleAll(parts: readonly Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(parts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}
