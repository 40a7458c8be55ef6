import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { AuditTrail, CaStorage, Clock, IssuanceLedger, RequestStore, Transactions } from '../../ca/ports.js';
import type { CertificateRequestRecord, RequestStatus } from '../../ca/records.js';
import { parseCsr } from '../../ca/issuance/csr.js';
import { requestFromCsr, type HolderData } from '../../ca/issuance/request.js';
import { checkKeyPolicy } from '../../ca/issuance/key-policy.js';
import { checkNamePolicy } from '../../ca/issuance/name-policy.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import { holderFacts, type CertificateAuthority, type Issued } from './certificate-authority.js';

export interface SubmitInput {
  csr: string | Uint8Array;
  profileId: string;
  holder?: HolderData;
  /** Renewal or re-key: the certificate this one replaces. */
  predecessorSerial?: string;
}

export interface RequestOutcome {
  request: CertificateRequestRecord;
  issued: Issued | null;
}

/**
 * The registration authority: every certificate request passes here. It validates the CSR and
 * the holder data against the profile before anything is stored, enforces dual control (n
 * distinct officers, never the requester), and is the only caller of the CA's issuance.
 */
export class RegistrationAuthority {
  private readonly db: Transactions<Transaction>;
  private readonly audit: AuditTrail<Transaction>;
  private readonly ledger: IssuanceLedger<Transaction>;
  private readonly requests: RequestStore<Transaction>;

  /** The storage through the CA's ports (ca/ports.ts): requests, and the ledger for key reuse. */
  constructor(
    storage: Pick<CaStorage<Transaction>, 'transactions' | 'audit' | 'ledger' | 'requests'>,
    private readonly ca: CertificateAuthority,
    private readonly clock: Clock,
  ) {
    this.db = storage.transactions;
    this.audit = storage.audit;
    this.ledger = storage.ledger;
    this.requests = storage.requests;
  }

  /** Checks a request completely (CSR signature, key and name policy, key reuse) without storing it. */
  private async check(input: SubmitInput) {
    const profile = this.ca.profile(input.profileId);
    if (profile.type !== 'end-entity') throw new AppError('policyViolation', `profile ${profile.id} is for CA certificates: use the CA commands`);
    const csr = parseCsr(input.csr);
    const request = checkNamePolicy(requestFromCsr(csr, input.holder ?? {}), profile);
    checkKeyPolicy(request.spki, profile);
    const fingerprint = publicKeyFingerprint(request.spki);
    const now = this.clock.now();
    if (await this.ledger.isPublicKeyInUse(null, fingerprint, now)) {
      const predecessor = input.predecessorSerial ? await this.ca.certificate(input.predecessorSerial) : null;
      if (!predecessor || predecessor.publicKeyFingerprint !== fingerprint) {
        throw new AppError('policyViolation', 'this public key is already certified in another certificate that is neither revoked nor expired (key reuse)');
      }
    }
    return { profile, csr, request, fingerprint };
  }

  async submit(actor: string, input: SubmitInput): Promise<RequestOutcome> {
    const { profile, csr, request, fingerprint } = await this.check(input);
    if (input.predecessorSerial) await this.ca.certificate(input.predecessorSerial);
    const issuer = await this.ca.defaultIssuer();
    const now = this.clock.now();
    const id = await this.db.withTransaction(async (trx) => {
      const requestId = await this.requests.create(
        trx,
        {
          profileId: profile.id,
          issuerId: issuer.id,
          csr: Buffer.from(csr.der),
          holder: { subject: request.subject, emails: request.emails, dnsNames: request.dnsNames },
          subjectDn: holderFacts(request).subjectDn,
          publicKeyFingerprint: fingerprint,
          requestedBy: actor,
          approvalsRequired: profile.approvals,
          predecessorSerial: input.predecessorSerial ?? null,
        },
        now,
      );
      await this.audit.append(trx, {
        actor,
        action: 'certificate.request',
        target: `request:${requestId}`,
        details: { profile: profile.id, subject: holderFacts(request).subjectDn, approvalsRequired: profile.approvals, predecessor: input.predecessorSerial },
      });
      return requestId;
    });
    if (profile.approvals === 0) {
      const issued = await this.issueRequest(actor, id);
      return { request: (await this.requests.get(null, id))!, issued };
    }
    return { request: (await this.requests.get(null, id))!, issued: null };
  }

  /** Direct issuance by an operator, for profiles that require no approval. */
  async issueDirect(actor: string, input: SubmitInput): Promise<RequestOutcome> {
    const profile = this.ca.profile(input.profileId);
    if (profile.approvals > 0) {
      throw new AppError('forbidden', `profile ${profile.id} requires ${profile.approvals} approval(s): submit a request and have it approved`);
    }
    return this.submit(actor, input);
  }

  async get(id: string): Promise<CertificateRequestRecord> {
    const r = await this.requests.get(null, id);
    if (!r) throw new AppError('notFound', `no certificate request ${id}`);
    return r;
  }

  list(status: RequestStatus | undefined, limit = 50, offset = 0): Promise<CertificateRequestRecord[]> {
    return this.requests.list(null, status, limit, offset);
  }

  /** One officer's approval; the request is issued when enough distinct officers approved. */
  async approve(actor: string, id: string, context: Record<string, unknown> = {}): Promise<RequestOutcome> {
    const now = this.clock.now();
    const ready = await this.db.withTransaction(async (trx) => {
      const r = await this.requests.get(trx, id, { forUpdate: true });
      if (!r) throw new AppError('notFound', `no certificate request ${id}`);
      if (r.status !== 'pending') throw new AppError('conflict', `request ${id} is ${r.status}, not pending`);
      if (r.requestedBy === actor) throw new AppError('forbidden', 'nobody approves their own request (dual control)');
      if (!(await this.requests.addApproval(trx, id, actor, now))) throw new AppError('conflict', `you already approved request ${id}; another officer must`);
      const count = r.approvals.length + 1;
      await this.audit.append(trx, { actor, action: 'certificate.approve', target: `request:${id}`, details: { approvals: count, required: r.approvalsRequired, ...context } });
      if (count >= r.approvalsRequired) {
        await this.requests.setStatus(trx, id, 'approved', now);
        return true;
      }
      return false;
    });
    const issued = ready ? await this.issueRequest(actor, id) : null;
    return { request: await this.get(id), issued };
  }

  /** `context` (e.g. the CLI's OS user) is recorded with the audit event. */
  async reject(actor: string, id: string, reason: string, context: Record<string, unknown> = {}): Promise<CertificateRequestRecord> {
    if (!reason.trim()) throw new AppError('validationFailed', 'reason: required');
    await this.db.withTransaction(async (trx) => {
      const r = await this.requests.get(trx, id, { forUpdate: true });
      if (!r) throw new AppError('notFound', `no certificate request ${id}`);
      if (r.status !== 'pending' && r.status !== 'approved') throw new AppError('conflict', `request ${id} is ${r.status}`);
      await this.requests.setStatus(trx, id, 'rejected', this.clock.now(), { rejectReason: reason.trim() });
      await this.audit.append(trx, { actor, action: 'certificate.reject', target: `request:${id}`, details: { reason: reason.trim(), ...context } });
    });
    return this.get(id);
  }

  /** Issues an approved request (also resumes one whose issuance was interrupted). */
  private async issueRequest(actor: string, id: string): Promise<Issued> {
    const r = await this.get(id);
    if (r.status === 'issued') throw new AppError('conflict', `request ${id} is already issued`);
    const { request, profile } = await this.check({ csr: r.csr, profileId: r.profileId, holder: r.holder as HolderData, predecessorSerial: r.predecessorSerial ?? undefined });
    return this.ca.issue({
      actor,
      request,
      profile,
      issuerId: r.issuerId,
      requestId: r.id,
      predecessorSerial: r.predecessorSerial,
      within: async (trx, issued) => {
        const locked = await this.requests.get(trx, id, { forUpdate: true });
        if (locked?.status !== 'approved' && !(locked?.status === 'pending' && locked.approvalsRequired === 0)) {
          throw new AppError('conflict', `request ${id} changed while it was being issued`);
        }
        await this.requests.setStatus(trx, id, 'issued', this.clock.now(), { certificateSerial: issued.serial });
      },
    });
  }
}
