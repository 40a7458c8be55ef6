import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { bytes, date, type Row } from './certificate-rows.js';
import type { CertificateRequestRecord, NameControlEvidence, RequestStatus } from '../../ca/records.js';
import type { BatchRequests, NewCertificateRequest, RequestStore } from '../../ca/ports.js';

/** A `certificate_requests` row as the drivers return it. */
interface RequestRow {
  id: string;
  profile_id: string;
  issuer_id: string;
  csr: Buffer | Uint8Array;
  holder: CertificateRequestRecord['holder'];
  subject_dn: string;
  public_key_fingerprint: string;
  requested_by: string;
  status: RequestStatus;
  approvals_required: number;
  reject_reason: string | null;
  certificate_serial: string | null;
  predecessor_serial: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/**
 * The RA's certificate requests (`certificate_requests`) and their approvals. `trx` first; null
 * runs outside a transaction (ca/ports.ts).
 */
export class CertificateRequestRepository implements RequestStore<Transaction>, BatchRequests<Transaction> {
  constructor(private readonly knex: Knex) {}

  async create(trx: Transaction, r: NewCertificateRequest, now: Date): Promise<string> {
    return (await this.createMany(trx, [r], now))[0];
  }

  async createMany(trx: Transaction, requests: readonly NewCertificateRequest[], now: Date): Promise<string[]> {
    const rows = requests.map((r) => this.newRow(r, now));
    for (let i = 0; i < rows.length; i += 500) await trx('certificate_requests').insert(rows.slice(i, i + 500));
    return rows.map((r) => r.id);
  }

  private newRow(r: NewCertificateRequest, now: Date) {
    return {
      id: randomUUID(),
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
    };
  }

  async get(trx: Transaction | null, id: string, options: { forUpdate?: boolean } = {}): Promise<CertificateRequestRecord | null> {
    return (await this.getMany(trx, [id], options))[0] ?? null;
  }

  /** Two queries for the whole set (requests, then their approvals); rows locked in id order, so two batches never deadlock. */
  async getMany(trx: Transaction | null, ids: readonly string[], options: { forUpdate?: boolean } = {}): Promise<CertificateRequestRecord[]> {
    const valid = [...new Set(ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)).map((id) => id.toLowerCase()))].sort();
    const out: CertificateRequestRecord[] = [];
    for (let i = 0; i < valid.length; i += 1_000) {
      const page = valid.slice(i, i + 1_000);
      const q = (trx ?? this.knex)('certificate_requests').whereIn('id', page).orderBy('id');
      if (options.forUpdate) q.forUpdate();
      const rows: RequestRow[] = await q;
      const approvals: Row[] = rows.length ? await (trx ?? this.knex)('certificate_request_approvals').whereIn('request_id', rows.map((r) => r.id)).orderBy('approved_at') : [];
      const byRequest = new Map<string, Row[]>();
      for (const a of approvals) byRequest.set(a.request_id as string, [...(byRequest.get(a.request_id as string) ?? []), a]);
      out.push(...rows.map((row) => this.toRecord(row, byRequest.get(row.id) ?? [])));
    }
    return out;
  }

  private toRecord(row: RequestRow, approvals: Row[]): CertificateRequestRecord {
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
    const byId = new Map((await this.getMany(trx, ids)).map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id)).filter((r): r is CertificateRequestRecord => !!r);
  }

  async addApprovals(trx: Transaction, approver: string, approvals: ReadonlyArray<{ requestId: string; nameControl: readonly NameControlEvidence[] }>, now: Date): Promise<Set<string>> {
    const added = new Set<string>();
    for (let i = 0; i < approvals.length; i += 1_000) {
      const rows = approvals.slice(i, i + 1_000).map((a) => ({ request_id: a.requestId, approver, approved_at: now, name_control: a.nameControl.length ? JSON.stringify(a.nameControl) : null }));
      const inserted: Array<{ request_id: string }> = await trx('certificate_request_approvals').insert(rows).onConflict(['request_id', 'approver']).ignore().returning('request_id');
      for (const row of inserted) added.add(row.request_id);
    }
    return added;
  }

  async markApproved(trx: Transaction, ids: readonly string[], now: Date): Promise<void> {
    for (let i = 0; i < ids.length; i += 1_000) await trx('certificate_requests').whereIn('id', ids.slice(i, i + 1_000)).update({ status: 'approved', updated_at: now });
  }

  async markIssued(trx: Transaction, issued: ReadonlyArray<{ id: string; serial: string }>, now: Date): Promise<void> {
    for (let i = 0; i < issued.length; i += 1_000) {
      const page = issued.slice(i, i + 1_000);
      await trx.raw(
        `UPDATE certificate_requests r SET status = 'issued', certificate_serial = v.serial, updated_at = ? FROM unnest(?::uuid[], ?::text[]) AS v(id, serial) WHERE r.id = v.id`,
        [now, page.map((p) => p.id), page.map((p) => p.serial)],
      );
    }
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
