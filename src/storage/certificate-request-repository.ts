import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { bytes, date, type Row } from './certificate-rows.js';
import type { CertificateRequestRecord, NameControlEvidence, RequestStatus } from '../../ca/records.js';
import type { NewCertificateRequest, RequestStore } from '../../ca/ports.js';

/**
 * The RA's certificate requests (`certificate_requests`) and their approvals. `trx` first; null
 * runs outside a transaction (ca/ports.ts).
 */
export class CertificateRequestRepository implements RequestStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  async create(trx: Transaction, r: NewCertificateRequest, now: Date): Promise<string> {
    const id = randomUUID();
    await trx('certificate_requests').insert({
      id,
      profile_id: r.profileId,
      issuer_id: r.issuerId,
      csr: r.csr,
      holder: JSON.stringify(r.holder),
      subject_dn: r.subjectDn,
      public_key_fingerprint: r.publicKeyFingerprint,
      requested_by: r.requestedBy,
      status: 'pending',
      approvals_required: r.approvalsRequired,
      predecessor_serial: r.predecessorSerial,
      created_at: now,
      updated_at: now,
    });
    return id;
  }

  async get(trx: Transaction | null, id: string, options: { forUpdate?: boolean } = {}): Promise<CertificateRequestRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const q = (trx ?? this.knex)('certificate_requests').where({ id });
    if (options.forUpdate) q.forUpdate();
    const row = await q.first();
    if (!row) return null;
    const approvals = await (trx ?? this.knex)('certificate_request_approvals').where({ request_id: id }).orderBy('approved_at');
    return {
      id: row.id,
      profileId: row.profile_id,
      issuerId: row.issuer_id,
      csr: bytes(row.csr)!,
      holder: row.holder,
      subjectDn: row.subject_dn,
      publicKeyFingerprint: row.public_key_fingerprint,
      requestedBy: row.requested_by,
      status: row.status,
      approvalsRequired: row.approvals_required,
      approvals: approvals.map((a: Row) => ({
        approver: a.approver as string,
        approvedAt: date(a.approved_at)!,
        nameControl: (typeof a.name_control === 'string' ? JSON.parse(a.name_control) : (a.name_control ?? null)) as NameControlEvidence[] | null,
      })),
      rejectReason: row.reject_reason,
      certificateSerial: row.certificate_serial,
      predecessorSerial: row.predecessor_serial,
      createdAt: date(row.created_at)!,
      updatedAt: date(row.updated_at)!,
    };
  }

  async list(trx: Transaction | null, status: RequestStatus | undefined, limit: number, offset: number): Promise<CertificateRequestRecord[]> {
    const q = (trx ?? this.knex)('certificate_requests').orderBy('created_at', 'desc').limit(limit).offset(offset).select('id');
    if (status) q.where({ status });
    const ids = (await q).map((r: Row) => r.id as string);
    return (await Promise.all(ids.map((id) => this.get(trx, id)))).filter((r): r is CertificateRequestRecord => !!r);
  }

  async addApproval(trx: Transaction, requestId: string, approver: string, now: Date, nameControl?: readonly NameControlEvidence[]): Promise<boolean> {
    const inserted = await trx('certificate_request_approvals')
      .insert({ request_id: requestId, approver, approved_at: now, name_control: nameControl?.length ? JSON.stringify(nameControl) : null }).onConflict(['request_id', 'approver']).ignore().returning('approver');
    return inserted.length === 1;
  }

  async setStatus(trx: Transaction, id: string, status: RequestStatus, now: Date, extra: { rejectReason?: string; certificateSerial?: string } = {}): Promise<void> {
    await trx('certificate_requests')
      .where({ id })
      .update({ status, updated_at: now, ...(extra.rejectReason && { reject_reason: extra.rejectReason }), ...(extra.certificateSerial && { certificate_serial: extra.certificateSerial }) });
  }
}
