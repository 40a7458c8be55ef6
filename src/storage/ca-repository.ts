import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { normalise, type Transaction } from './db.js';
import type {
  CertificateRecord,
  CertificateRequestRecord,
  CertificateSearch,
  CertificateStatus,
  HolderFacts,
  IssuerRow,
  RequestStatus,
  RevocationReasonName,
} from '../registry/records.js';

type Row = Record<string, unknown>;
const d = (v: unknown) => (v == null ? null : normalise.date(v as Date | string));
const b = (v: unknown) => normalise.bytes(v as Buffer | Uint8Array | null);

function toCertificate(r: Row): CertificateRecord {
  return {
    issuerId: r.issuer_id as string,
    serial: r.serial as string,
    state: r.state as CertificateRecord['state'],
    der: b(r.der),
    tbs: b(r.tbs),
    profileId: (r.profile_id as string) ?? null,
    requestId: (r.request_id as string) ?? null,
    publicKeyFingerprint: r.public_key_fingerprint as string,
    notBefore: d(r.not_before)!,
    notAfter: d(r.not_after)!,
    status: r.status as CertificateStatus,
    revokedAt: d(r.revoked_at),
    revocationReason: (r.revocation_reason as RevocationReasonName) ?? null,
    invalidityDate: d(r.invalidity_date),
    statusChangedAt: d(r.status_changed_at)!,
    subjectDn: (r.subject_dn as string) ?? null,
    holderName: (r.holder_name as string) ?? null,
    nationalId: (r.national_id as string) ?? null,
    taxCode: (r.tax_code as string) ?? null,
    budgetCode: (r.budget_code as string) ?? null,
    agency: (r.agency as string) ?? null,
    email: (r.email as string) ?? null,
    source: r.source as CertificateRecord['source'],
    statusSource: r.status_source as string,
    predecessorSerial: (r.predecessor_serial as string) ?? null,
    createdAt: d(r.created_at)!,
  };
}

function toIssuer(r: Row): IssuerRow {
  return {
    id: r.id as string,
    role: r.role as IssuerRow['role'],
    keyUri: (r.key_uri as string) ?? null,
    certificate: b(r.certificate),
    csr: b(r.csr),
    signatureAlgorithm: r.signature_algorithm,
    parentId: (r.parent_id as string) ?? null,
    status: r.status as IssuerRow['status'],
    subjectDn: (r.subject_dn as string) ?? null,
    keyIdentifier: (r.key_identifier as string) ?? null,
    createdAt: d(r.created_at)!,
  };
}

const holderColumns = (h: HolderFacts) => ({
  subject_dn: h.subjectDn,
  holder_name: h.holderName,
  national_id: h.nationalId,
  tax_code: h.taxCode,
  budget_code: h.budgetCode,
  agency: h.agency,
  email: h.email,
});

const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Issuers, certificates, requests and CRLs: the CA's and registry's storage. */
export class CaRepository {
  constructor(private readonly knex: Knex) {}

  private q(trx?: Transaction) {
    return trx ?? this.knex;
  }

  // ── issuers ────────────────────────────────────────────────────────────────
  async issuers(trx?: Transaction): Promise<IssuerRow[]> {
    return (await this.q(trx)('ca_issuers').orderBy('created_at')).map(toIssuer);
  }

  async issuer(id: string, trx?: Transaction): Promise<IssuerRow | null> {
    const row = await this.q(trx)('ca_issuers').where({ id }).first();
    return row ? toIssuer(row) : null;
  }

  async addIssuer(trx: Transaction, i: Omit<IssuerRow, 'createdAt'>, now: Date): Promise<void> {
    await trx('ca_issuers').insert({
      id: i.id,
      role: i.role,
      key_uri: i.keyUri,
      certificate: i.certificate,
      csr: i.csr,
      signature_algorithm: i.signatureAlgorithm == null ? null : JSON.stringify(i.signatureAlgorithm),
      parent_id: i.parentId,
      status: i.status,
      subject_dn: i.subjectDn,
      key_identifier: i.keyIdentifier,
      created_at: now,
      updated_at: now,
    });
  }

  async updateIssuer(trx: Transaction, id: string, changes: { certificate?: Buffer; status?: IssuerRow['status']; subjectDn?: string; keyIdentifier?: string }, now: Date): Promise<void> {
    await trx('ca_issuers')
      .where({ id })
      .update({
        ...(changes.certificate && { certificate: changes.certificate }),
        ...(changes.status && { status: changes.status }),
        ...(changes.subjectDn && { subject_dn: changes.subjectDn }),
        ...(changes.keyIdentifier && { key_identifier: changes.keyIdentifier }),
        updated_at: now,
      });
  }

  // ── the issuance ledger ──────────────────────────────────────────────────
  /**
   * Records the serial and the linted TBS before the key signs (Boulder's precertificate step).
   * Returns false when the serial is taken (the caller draws another); the primary key enforces
   * uniqueness even between nodes.
   */
  async reserve(
    trx: Transaction,
    r: { issuerId: string; serial: string; tbs: Uint8Array; profileId: string; requestId: string | null; fingerprint: string; notBefore: Date; notAfter: Date; predecessorSerial: string | null; holder: HolderFacts },
    now: Date,
  ): Promise<boolean> {
    const inserted = await trx('certificates')
      .insert({
        issuer_id: r.issuerId,
        serial: r.serial,
        state: 'reserved',
        tbs: Buffer.from(r.tbs),
        profile_id: r.profileId,
        request_id: r.requestId,
        public_key_fingerprint: r.fingerprint,
        not_before: r.notBefore,
        not_after: r.notAfter,
        status: 'good',
        status_changed_at: now,
        source: 'issued',
        status_source: 'registry',
        predecessor_serial: r.predecessorSerial,
        created_at: now,
        ...holderColumns(r.holder),
      })
      .onConflict(['issuer_id', 'serial'])
      .ignore()
      .returning('serial');
    return inserted.length === 1;
  }

  async recordIssued(trx: Transaction, issuerId: string, serial: string, der: Uint8Array): Promise<void> {
    const n = await trx('certificates').where({ issuer_id: issuerId, serial, state: 'reserved' }).update({ state: 'issued', der: Buffer.from(der) });
    if (n !== 1) throw new Error(`certificate ${serial} of ${issuerId} was not reserved`);
  }

  /** A reservation that must never become a certificate (its request changed): the serial stays used. */
  async abandon(issuerId: string, serial: string): Promise<void> {
    await this.knex('certificates').where({ issuer_id: issuerId, serial, state: 'reserved' }).update({ state: 'abandoned' });
  }

  async unfinished(issuerId?: string): Promise<CertificateRecord[]> {
    const q = this.knex('certificates').where({ state: 'reserved' });
    if (issuerId) q.where({ issuer_id: issuerId });
    return (await q).map(toCertificate);
  }

  /** Key reuse: the key is in another certificate that is not revoked and not expired. */
  async isPublicKeyInUse(fingerprint: string, now: Date, trx?: Transaction): Promise<boolean> {
    const row = await this.q(trx)('certificates')
      .where({ public_key_fingerprint: fingerprint })
      .whereNot('state', 'abandoned')
      .whereNot('status', 'revoked')
      .where('not_after', '>', now)
      .first('serial');
    return !!row;
  }

  async importCertificate(
    trx: Transaction,
    c: { issuerId: string; serial: string; der: Uint8Array; fingerprint: string; notBefore: Date; notAfter: Date; holder: HolderFacts; statusSource: string },
    now: Date,
  ): Promise<boolean> {
    const inserted = await trx('certificates')
      .insert({
        issuer_id: c.issuerId,
        serial: c.serial,
        state: 'imported',
        der: Buffer.from(c.der),
        public_key_fingerprint: c.fingerprint,
        not_before: c.notBefore,
        not_after: c.notAfter,
        status: 'good',
        status_changed_at: now,
        source: 'imported',
        status_source: c.statusSource,
        created_at: now,
        ...holderColumns(c.holder),
      })
      .onConflict(['issuer_id', 'serial'])
      .ignore()
      .returning('serial');
    return inserted.length === 1;
  }

  // ── registry ───────────────────────────────────────────────────────────────
  /** By serial (hex), across issuers: random 128-bit serials do not collide between our issuers. */
  async findBySerial(serial: string, trx?: Transaction, forUpdate = false): Promise<CertificateRecord[]> {
    const q = this.q(trx)('certificates').where({ serial }).whereIn('state', ['issued', 'imported']);
    if (forUpdate) q.forUpdate();
    return (await q).map(toCertificate);
  }

  async find(issuerId: string, serial: string, trx?: Transaction): Promise<CertificateRecord | null> {
    const row = await this.q(trx)('certificates').where({ issuer_id: issuerId, serial }).first();
    return row ? toCertificate(row) : null;
  }

  async setStatus(
    trx: Transaction,
    issuerId: string,
    serial: string,
    s: { status: CertificateStatus; revokedAt: Date | null; reason: RevocationReasonName | null; invalidityDate: Date | null },
    now: Date,
  ): Promise<void> {
    await trx('certificates')
      .where({ issuer_id: issuerId, serial })
      .update({ status: s.status, revoked_at: s.revokedAt, revocation_reason: s.reason, invalidity_date: s.invalidityDate, status_changed_at: now });
  }

  async search(s: CertificateSearch, now: Date): Promise<{ items: CertificateRecord[]; total: number }> {
    const q = this.knex('certificates').whereIn('state', ['issued', 'imported']);
    if (s.text) {
      const pattern = like(s.text);
      q.where((w) => w.whereILike('holder_name', pattern).orWhereILike('subject_dn', pattern).orWhere('serial', s.text!.toLowerCase()));
    }
    if (s.nationalId) q.where('national_id', s.nationalId);
    if (s.taxCode) q.where('tax_code', s.taxCode);
    if (s.agency) q.whereILike('agency', like(s.agency));
    if (s.profileId) q.where('profile_id', s.profileId);
    if (s.issuerId) q.where('issuer_id', s.issuerId);
    if (s.status === 'expired') q.where('not_after', '<=', now);
    else if (s.status) q.where('status', s.status).where('not_after', '>', now);
    if (s.expiresWithinDays !== undefined) {
      q.where('not_after', '>', now).where('not_after', '<=', new Date(now.getTime() + s.expiresWithinDays * 86_400_000));
    }
    const [{ count }] = await q.clone().clearSelect().count<{ count: string | number }[]>({ count: '*' });
    const rows = await q.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'serial' }]).limit(s.limit).offset(s.offset);
    return { items: rows.map(toCertificate), total: Number(count) };
  }

  async countByStatus(now: Date): Promise<Record<string, number>> {
    const rows = await this.knex('certificates')
      .whereIn('state', ['issued', 'imported'])
      .select(this.knex.raw(`CASE WHEN not_after <= ? THEN 'expired' ELSE status END AS s`, [now]))
      .count({ n: '*' })
      .groupBy('s');
    return Object.fromEntries(rows.map((r) => [String((r as Row).s), Number((r as Row).n)]));
  }

  /** Certificates by profile and status (expired apart), in one grouped scan: the console's dashboard. */
  async countByProfileAndStatus(now: Date): Promise<Array<{ profileId: string | null; status: string; count: number }>> {
    const rows = await this.knex('certificates')
      .whereIn('state', ['issued', 'imported'])
      .select('profile_id', this.knex.raw(`CASE WHEN not_after <= ? THEN 'expired' ELSE status END AS s`, [now]))
      .count({ n: '*' })
      .groupBy('profile_id', 's');
    return rows.map((r) => ({ profileId: ((r as Row).profile_id as string | null) ?? null, status: String((r as Row).s), count: Number((r as Row).n) }));
  }

  // ── CRLs ───────────────────────────────────────────────────────────────────
  /** Revoked and held certificates of an issuer that have not expired (RFC 5280 §3.3). */
  async revokedEntries(issuerId: string, now: Date, trx?: Transaction) {
    const rows = await this.q(trx)('certificates')
      .where({ issuer_id: issuerId })
      .whereIn('status', ['revoked', 'hold'])
      .where('not_after', '>', now)
      .orderBy('serial')
      .select('serial', 'revoked_at', 'revocation_reason', 'invalidity_date');
    return rows.map((r: Row) => ({
      serial: r.serial as string,
      revokedAt: d(r.revoked_at)!,
      reason: r.revocation_reason as RevocationReasonName,
      invalidityDate: d(r.invalidity_date),
    }));
  }

  /** The issuer's next CRL number; the caller holds the issuer's CRL lock (lockCrl). */
  async nextCrlNumber(trx: Transaction, issuerId: string): Promise<bigint> {
    const row = await trx('crls').where({ issuer_id: issuerId }).max<{ max: string | number | bigint | null }>('number as max').first();
    return row?.max == null ? 1n : BigInt(row.max) + 1n;
  }

  /** Serialises CRL generation per issuer across nodes. */
  async lockCrl(trx: Transaction, issuerId: string): Promise<void> {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`crl:${issuerId}`]);
  }

  async latestCrl(issuerId: string, kind: 'full' | 'delta' | 'delta-base', trx?: Transaction) {
    const q = this.q(trx)('crls').where({ issuer_id: issuerId, kind: kind === 'delta' ? 'delta' : 'full' });
    if (kind === 'delta-base') q.where({ delta_base: true });
    const row = await q.orderBy('number', 'desc').first();
    if (!row) return null;
    return {
      number: BigInt(row.number as string | number),
      baseNumber: row.base_number == null ? null : BigInt(row.base_number as string | number),
      thisUpdate: d(row.this_update)!,
      nextUpdate: d(row.next_update)!,
      der: b(row.der)!,
      entries: ((row.entries as Array<{ serial: string; revokedAt: string; reason: RevocationReasonName; invalidityDate: string | null }>) ?? []).map((e) => ({
        serial: e.serial,
        revokedAt: new Date(e.revokedAt),
        reason: e.reason,
        invalidityDate: e.invalidityDate ? new Date(e.invalidityDate) : null,
      })),
    };
  }

  async publishCrl(
    trx: Transaction,
    c: { issuerId: string; number: bigint; kind: 'full' | 'delta'; deltaBase: boolean; baseNumber: bigint | null; thisUpdate: Date; nextUpdate: Date; der: Uint8Array; entries: unknown[] | null },
  ): Promise<void> {
    await trx('crls').insert({
      issuer_id: c.issuerId,
      number: c.number.toString(),
      kind: c.kind,
      base_number: c.baseNumber?.toString() ?? null,
      this_update: c.thisUpdate,
      next_update: c.nextUpdate,
      der: Buffer.from(c.der),
      entries: c.entries ? JSON.stringify(c.entries) : null,
      delta_base: c.deltaBase,
    });
  }

  // ── requests ───────────────────────────────────────────────────────────────
  async createRequest(
    trx: Transaction,
    r: Omit<CertificateRequestRecord, 'id' | 'approvals' | 'status' | 'rejectReason' | 'certificateSerial' | 'createdAt' | 'updatedAt'>,
    now: Date,
  ): Promise<string> {
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

  async request(id: string, trx?: Transaction, forUpdate = false): Promise<CertificateRequestRecord | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const q = this.q(trx)('certificate_requests').where({ id });
    if (forUpdate) q.forUpdate();
    const row = await q.first();
    if (!row) return null;
    const approvals = await this.q(trx)('certificate_request_approvals').where({ request_id: id }).orderBy('approved_at');
    return {
      id: row.id,
      profileId: row.profile_id,
      issuerId: row.issuer_id,
      csr: b(row.csr)!,
      holder: row.holder,
      subjectDn: row.subject_dn,
      publicKeyFingerprint: row.public_key_fingerprint,
      requestedBy: row.requested_by,
      status: row.status,
      approvalsRequired: row.approvals_required,
      approvals: approvals.map((a: Row) => ({ approver: a.approver as string, approvedAt: d(a.approved_at)! })),
      rejectReason: row.reject_reason,
      certificateSerial: row.certificate_serial,
      predecessorSerial: row.predecessor_serial,
      createdAt: d(row.created_at)!,
      updatedAt: d(row.updated_at)!,
    };
  }

  async requests(status: RequestStatus | undefined, limit: number, offset: number): Promise<CertificateRequestRecord[]> {
    const q = this.knex('certificate_requests').orderBy('created_at', 'desc').limit(limit).offset(offset).select('id');
    if (status) q.where({ status });
    const ids = (await q).map((r: Row) => r.id as string);
    return (await Promise.all(ids.map((id) => this.request(id)))).filter((r): r is CertificateRequestRecord => !!r);
  }

  async addApproval(trx: Transaction, requestId: string, approver: string, now: Date): Promise<boolean> {
    const inserted = await trx('certificate_request_approvals').insert({ request_id: requestId, approver, approved_at: now }).onConflict(['request_id', 'approver']).ignore().returning('approver');
    return inserted.length === 1;
  }

  async setRequestStatus(trx: Transaction, id: string, status: RequestStatus, now: Date, extra: { rejectReason?: string; certificateSerial?: string } = {}): Promise<void> {
    await trx('certificate_requests')
      .where({ id })
      .update({ status, updated_at: now, ...(extra.rejectReason && { reject_reason: extra.rejectReason }), ...(extra.certificateSerial && { certificate_serial: extra.certificateSerial }) });
  }
}
