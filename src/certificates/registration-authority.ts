import { REPORT_SIGNER_PROFILE } from './ca-setup.js';
import { AppError } from '../errors/app-error.js';
import type { Transaction } from '../storage/db.js';
import type { AuditTrail, CaStorage, Clock, IssuanceLedger, RequestStore, Transactions } from '../../ca/ports.js';
import type { CertificateRequestRecord, RequestStatus } from '../../ca/records.js';
import { parseCsr } from '../../ca/issuance/csr.js';
import { requestFromCsr, type HolderData } from '../../ca/issuance/request.js';
import { checkKeyPolicy } from '../../ca/issuance/key-policy.js';
import { namePolicyProblems } from '../../ca/issuance/name-policy.js';
import { dnsPolicyProblems, normaliseDnsName } from '../../ca/issuance/dns-policy.js';
import { CaError } from '../../ca/errors.js';
import type { NameControlEvidence } from '../../ca/records.js';
import { publicKeyFingerprint } from '../../ca/asn1/public-key.js';
import { holderFacts, type CertificateAuthority, type Issued } from './certificate-authority.js';

export interface SubmitInput {
  csr: string | Uint8Array;
  profileId: string;
  holder?: HolderData;
  /** Renewal or re-key: the certificate this one replaces. */
  predecessorSerial?: string;
}

/** Who may ask for which names (docs/ca.md, "Name policy"). */
export interface RequesterPolicy {
  /** Requester (`client:<id>`, `user:<id>`) → the DNS zones it may request, a subset of the profile's. */
  requesterDnsSuffixes: Readonly<Record<string, readonly string[]>>;
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
    private readonly policy: RequesterPolicy = { requesterDnsSuffixes: {} },
  ) {
    this.db = storage.transactions;
    this.audit = storage.audit;
    this.ledger = storage.ledger;
    this.requests = storage.requests;
  }

  /**
   * Checks a request completely (CSR signature, key and name policy, the requester's DNS zones,
   * blocked keys, key reuse) without storing it. Run at request, before each approval and again at
   * issuance, so an approval never overrides the policy of the moment.
   */
  private async check(input: SubmitInput, requester: string) {
    const checked = this.checkOffline(input, requester);
    const { request, fingerprint } = checked;
    await this.ca.keyGuard.refuseBlocked(null, request.spki);
    const now = this.clock.now();
    if (await this.ledger.isPublicKeyInUse(null, fingerprint, now)) {
      const predecessor = input.predecessorSerial ? await this.ca.certificate(input.predecessorSerial) : null;
      if (!predecessor || predecessor.publicKeyFingerprint !== fingerprint) {
        throw new AppError('policyViolation', 'this public key is already certified in another certificate that is neither revoked nor expired (key reuse)');
      }
    }
    return checked;
  }

  /**
   * The part of `check` that needs no database (CSR signature, profile, key and name policy, the
   * requester's DNS zones): batch calls run it per item and look the keys up for all items at once.
   */
  checkOffline(input: SubmitInput, requester: string) {
    const profile = this.ca.profile(input.profileId);
    if (profile.type !== 'end-entity') throw new AppError('policyViolation', `profile ${profile.id} is for CA certificates: use the CA commands`);
    // A delegated OCSP signer certified by the issuing CA answers for all its certificates (RFC 6960 §4.2.2.2).
    if (profile.extendedKeyUsage.includes('OCSPSigning')) throw new AppError('policyViolation', `profile ${profile.id} is for the CA's own OCSP signers: use the CA commands`);
    // The service's own validation reports are signed in its name (docs/verify.md): never on request.
    if (profile.id === REPORT_SIGNER_PROFILE) throw new AppError('policyViolation', `profile ${profile.id} is for the service's own report signer: made by the service itself`);
    const csr = parseCsr(input.csr);
    const named = namePolicyProblems(requestFromCsr(csr, input.holder ?? {}), profile);
    const limited = this.policy.requesterDnsSuffixes[requester];
    if (limited && named.request.dnsNames.length && named.problems.length === 0) {
      named.problems.push(...dnsPolicyProblems(named.request.dnsNames, { profileId: profile.id, suffixes: profile.dnsSuffixes, requester: { actor: requester, suffixes: limited.map(normaliseDnsName) } }));
    }
    if (named.problems.length) throw new CaError('policyViolation', named.problems.join('; '), { problems: named.problems });
    const request = named.request;
    checkKeyPolicy(request.spki, profile);
    return { profile, csr, request, fingerprint: publicKeyFingerprint(request.spki) };
  }

  async submit(actor: string, input: SubmitInput): Promise<RequestOutcome> {
    const { profile, csr, request, fingerprint } = await this.check(input, actor);
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

  /**
   * One officer's approval; the request is issued when enough distinct officers approved. The
   * policy is checked again first (it may have changed since the request), and for a request with
   * DNS names the officer records how control of each name was checked. `context` (e.g. the CLI's OS
   * user) is recorded with the audit event.
   */
  async approve(actor: string, id: string, nameControl: readonly NameControlEvidence[] = [], context: Record<string, unknown> = {}): Promise<RequestOutcome> {
    const pending = await this.get(id);
    if (pending.status === 'pending') await this.check(this.storedInput(pending), pending.requestedBy);
    const evidence = nameControlFor(pending, nameControl);
    const now = this.clock.now();
    const ready = await this.db.withTransaction(async (trx) => {
      const r = await this.requests.get(trx, id, { forUpdate: true });
      if (!r) throw new AppError('notFound', `no certificate request ${id}`);
      if (r.status !== 'pending') throw new AppError('conflict', `request ${id} is ${r.status}, not pending`);
      if (r.requestedBy === actor) throw new AppError('forbidden', 'nobody approves their own request (dual control)');
      if (!(await this.requests.addApproval(trx, id, actor, now, evidence))) throw new AppError('conflict', `you already approved request ${id}; another officer must`);
      const count = r.approvals.length + 1;
      await this.audit.append(trx, {
        actor,
        action: 'certificate.approve',
        target: `request:${id}`,
        details: { approvals: count, required: r.approvalsRequired, ...(evidence.length && { nameControl: evidence }), ...context },
      });
      if (count >= r.approvalsRequired) {
        await this.requests.setStatus(trx, id, 'approved', now);
        return true;
      }
      return false;
    });
    const issued = ready ? await this.issueRequest(actor, id) : null;
    return { request: await this.get(id), issued };
  }

  storedInput(r: CertificateRequestRecord): SubmitInput {
    return { csr: r.csr, profileId: r.profileId, holder: r.holder as HolderData, predecessorSerial: r.predecessorSerial ?? undefined };
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
    const { request, profile } = await this.check(this.storedInput(r), r.requestedBy);
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

/**
 * The officer's record of how control of each DNS name was checked (docs/ca.md, "Name policy"):
 * one entry per name of the request, a known method, and what was seen. Requests without DNS
 * names need none.
 */
export function nameControlFor(r: CertificateRequestRecord, given: readonly NameControlEvidence[]): NameControlEvidence[] {
  const names = ((r.holder as HolderData).dnsNames ?? []).map(normaliseDnsName);
  if (names.length === 0) return [];
  const byName = new Map(given.map((e) => [normaliseDnsName(e.name), { ...e, name: normaliseDnsName(e.name), evidence: e.evidence.trim() }]));
  const missing = names.filter((n) => !byName.get(n) || byName.get(n)!.evidence.length < 8);
  if (missing.length) {
    throw new AppError('validationFailed', `name-control: record how control of ${missing.join(', ')} was checked (nameControl: [{ name, method, evidence }], evidence at least 8 characters)`);
  }
  const extra = [...byName.keys()].filter((n) => !names.includes(n));
  if (extra.length) throw new AppError('validationFailed', `name-control: ${extra.join(', ')} is not a name of request ${r.id}`);
  return names.map((n) => byName.get(n)!);
}
