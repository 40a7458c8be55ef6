import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { REGISTERED_STATES, date, holderColumns, toCertificate } from './certificate-rows.js';
import type { CertificateRecord, CertificateStatus, RevocationReasonName } from '../../ca/records.js';
import type { RegistryStatus } from '../validation/ports.js';
import { PreparedRead } from './prepared-read.js';
import type { BatchLedger, ImportedCertificate, IssuanceIntent, IssuanceLedger, StatusChange } from '../../ca/ports.js';

const STATUS_SQL = "select encode(sha256(der), 'hex') as der_sha256, status, revoked_at, revocation_reason, invalidity_date, status_changed_at from certificates where issuer_id = $1 and serial = $2";

/**
 * The issuance ledger (`certificates`): reservations, issued and imported certificates and their
 * status. `trx` first; null runs outside a transaction (ca/ports.ts).
 */
export class CertificateRepository implements IssuanceLedger<Transaction>, BatchLedger<Transaction> {
  constructor(private readonly knex: Knex) {}

  /**
   * Records the serial and the linted TBS before the key signs (Boulder's precertificate step).
   * Returns false when the serial is taken (the caller draws another); the primary key enforces
   * uniqueness even between nodes.
   */
  async reserve(trx: Transaction, r: IssuanceIntent, now: Date): Promise<boolean> {
    return (await this.reserveMany(trx, [r], now)).has(r.serial);
  }

  /** `reserve` for many intents: one multi-row insert per 500; a taken serial is left out of the answer. */
  async reserveMany(trx: Transaction, intents: readonly IssuanceIntent[], now: Date): Promise<Set<string>> {
    const reserved = new Set<string>();
    for (let i = 0; i < intents.length; i += 500) {
      const rows = intents.slice(i, i + 500).map((r) => this.reservationRow(r, now));
      const inserted: Array<{ serial: string }> = await trx('certificates').insert(rows).onConflict(['issuer_id', 'serial']).ignore().returning('serial');
      for (const row of inserted) reserved.add(row.serial);
    }
    return reserved;
  }

  private reservationRow(r: IssuanceIntent, now: Date) {
    return {
        issuer_id: r.issuerId,
        serial: r.serial,
        state: 'reserved',
        tbs: Buffer.from(r.tbs),
        profile_id: r.profileId,
        request_id: r.requestId,
        public_key_fingerprint: r.publicKeyFingerprint,
        not_before: r.notBefore,
        not_after: r.notAfter,
        status: 'good',
        status_changed_at: now,
        source: 'issued',
        status_source: 'registry',
        predecessor_serial: r.predecessorSerial,
        created_at: now,
        ...holderColumns(r.holder, r.serial),
    };
  }

  async record(trx: Transaction, issuerId: string, serial: string, der: Uint8Array): Promise<void> {
    const n = await trx('certificates').where({ issuer_id: issuerId, serial, state: 'reserved' }).update({ state: 'issued', der: Buffer.from(der) });
    if (n !== 1) throw new Error(`certificate ${serial} of ${issuerId} was not reserved`);
  }

  /** One statement per 1,000 certificates; every serial must be a reservation of this issuer. */
  async recordMany(trx: Transaction, issuerId: string, certificates: ReadonlyArray<{ serial: string; der: Uint8Array }>): Promise<void> {
    for (let i = 0; i < certificates.length; i += 1_000) {
      const page = certificates.slice(i, i + 1_000);
      const result = (await trx.raw(
        `UPDATE certificates c SET state = 'issued', der = decode(v.hex, 'hex') FROM unnest(?::text[], ?::text[]) AS v(serial, hex) WHERE c.issuer_id = ? AND c.serial = v.serial AND c.state = 'reserved' RETURNING c.serial`,
        [page.map((c) => c.serial), page.map((c) => Buffer.from(c.der).toString('hex')), issuerId],
      )) as { rows: unknown[] };
      if (result.rows.length !== page.length) throw new Error(`${page.length - result.rows.length} of ${page.length} certificates of ${issuerId} were not reserved`);
    }
  }

  async abandonMany(trx: Transaction | null, issuerId: string, serials: readonly string[]): Promise<void> {
    for (let i = 0; i < serials.length; i += 1_000) {
      await (trx ?? this.knex)('certificates').where({ issuer_id: issuerId, state: 'reserved' }).whereIn('serial', serials.slice(i, i + 1_000)).update({ state: 'abandoned' });
    }
  }

  /** `isPublicKeyInUse` for a batch: one query per 1,000 fingerprints. */
  async keysInUse(trx: Transaction | null, fingerprints: readonly string[], now: Date): Promise<Set<string>> {
    const used = new Set<string>();
    const distinct = [...new Set(fingerprints)];
    for (let i = 0; i < distinct.length; i += 1_000) {
      const rows: Array<{ public_key_fingerprint: string }> = await (trx ?? this.knex)('certificates')
        .distinct('public_key_fingerprint')
        .whereIn('public_key_fingerprint', distinct.slice(i, i + 1_000))
        .whereNot('state', 'abandoned')
        .whereNot('status', 'revoked')
        .where('not_after', '>', now);
      for (const row of rows) used.add(row.public_key_fingerprint);
    }
    return used;
  }

  async abandon(trx: Transaction | null, issuerId: string, serial: string): Promise<void> {
    await (trx ?? this.knex)('certificates').where({ issuer_id: issuerId, serial, state: 'reserved' }).update({ state: 'abandoned' });
  }

  async unfinished(trx: Transaction | null): Promise<CertificateRecord[]> {
    return (await (trx ?? this.knex)('certificates').where({ state: 'reserved' })).map(toCertificate);
  }

  /** Key reuse: the key is in another certificate that is not revoked and not expired. */
  async isPublicKeyInUse(trx: Transaction | null, fingerprint: string, now: Date): Promise<boolean> {
    const row = await (trx ?? this.knex)('certificates')
      .where({ public_key_fingerprint: fingerprint })
      .whereNot('state', 'abandoned')
      .whereNot('status', 'revoked')
      .where('not_after', '>', now)
      .first('serial');
    return !!row;
  }

  async importCertificate(trx: Transaction, c: ImportedCertificate, now: Date): Promise<boolean> {
    const inserted = await trx('certificates')
      .insert({
        issuer_id: c.issuerId,
        serial: c.serial,
        state: 'imported',
        der: Buffer.from(c.der),
        public_key_fingerprint: c.publicKeyFingerprint,
        not_before: c.notBefore,
        not_after: c.notAfter,
        status: 'good',
        status_changed_at: now,
        source: 'imported',
        status_source: c.statusSource,
        created_at: now,
        ...holderColumns(c.holder, c.serial),
      })
      .onConflict(['issuer_id', 'serial'])
      .ignore()
      .returning('serial');
    return inserted.length === 1;
  }

  /** By serial (hex), across issuers: random 128-bit serials do not collide between our issuers. */
  async bySerial(trx: Transaction | null, serial: string, options: { forUpdate?: boolean } = {}): Promise<CertificateRecord[]> {
    const q = (trx ?? this.knex)('certificates').where({ serial }).whereIn('state', REGISTERED_STATES);
    if (options.forUpdate) q.forUpdate();
    return (await q).map(toCertificate);
  }

  async find(trx: Transaction | null, issuerId: string, serial: string): Promise<CertificateRecord | null> {
    const row = await (trx ?? this.knex)('certificates').where({ issuer_id: issuerId, serial }).first();
    return row ? toCertificate(row) : null;
  }

  /** The same read as `validationStatus`'s query, prepared once (prepared-read.ts): every new signer a validation sees costs one. */
  private statusRead: PreparedRead | null = null;

  /**
   * A certificate's status and the SHA-256 of its DER (PostgreSQL's sha256(), 11 and later, and
   * PGlite): what signature validation reads for every new signer (src/validation/ports.ts).
   * Outside a transaction as a prepared statement; the knex query when that cannot answer.
   */
  async validationStatus(trx: Transaction | null, issuerId: string, serial: string): Promise<RegistryStatus | null> {
    this.statusRead ??= new PreparedRead(this.knex, 'tn_validation_status_v1', STATUS_SQL);
    const prepared = trx ? undefined : await this.statusRead.first([issuerId, serial]);
    const row = prepared !== undefined ? prepared : await this.validationStatusQuery(trx, issuerId, serial);
    return row ? registryStatusOf(row) : null;
  }

  /**
   * A page of `validationStatus`'s rows for the given issuers, certificates with their DER only,
   * in keyset order (created_at, serial, issuer_id) after `after`: what a validation node holds
   * of our registry (src/validation/registry-index.ts). Served by certificates_created_serial.
   */
  async validationStatusPage(issuerIds: string[], after: { createdAt: Date; serial: string; issuerId: string } | null, limit: number): Promise<Array<{ issuerId: string; serial: string; createdAt: Date; status: RegistryStatus }>> {
    if (!issuerIds.length) return [];
    const q = this.knex('certificates')
      .select('issuer_id', 'serial', 'created_at', this.knex.raw("encode(sha256(der), 'hex') as der_sha256"), 'status', 'revoked_at', 'revocation_reason', 'invalidity_date', 'status_changed_at')
      .whereIn('issuer_id', issuerIds)
      .whereNotNull('der')
      .orderBy([{ column: 'created_at' }, { column: 'serial' }, { column: 'issuer_id' }])
      .limit(limit);
    if (after) q.whereRaw('(created_at, serial, issuer_id) > (?, ?, ?)', [after.createdAt, after.serial, after.issuerId]);
    const rows = (await q) as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      issuerId: row.issuer_id as string,
      serial: row.serial as string,
      createdAt: date(row.created_at)!,
      status: registryStatusOf(row),
    }));
  }

  /** `validationStatus`'s row through knex (in a transaction, and whenever the prepared read cannot answer). */
  async validationStatusQuery(trx: Transaction | null, issuerId: string, serial: string): Promise<Record<string, unknown> | null> {
    const row = await (trx ?? this.knex)('certificates')
      .select(this.knex.raw("encode(sha256(der), 'hex') as der_sha256"), 'status', 'revoked_at', 'revocation_reason', 'invalidity_date', 'status_changed_at')
      .where({ issuer_id: issuerId, serial })
      .first();
    return (row as Record<string, unknown> | undefined) ?? null;
  }

  async setStatus(trx: Transaction, issuerId: string, serial: string, s: StatusChange, now: Date): Promise<void> {
    await trx('certificates')
      .where({ issuer_id: issuerId, serial })
      // Only a release leads back to good: record when, for the delta CRLs' removeFromCRL (RFC 5280 §5.2.4).
      .update({ status: s.status, revoked_at: s.revokedAt, revocation_reason: s.reason, invalidity_date: s.invalidityDate, crl_entry: s.crlEntry ? Buffer.from(s.crlEntry) : null, status_changed_at: now, ...(s.status === 'good' ? { released_at: now } : {}) });
  }
}

/** A validation status row (validationStatus, validationStatusPage) as the validator reads it. */
function registryStatusOf(row: Record<string, unknown>): RegistryStatus {
  return {
    derSha256: (row.der_sha256 as string | null) ?? null,
    status: row.status as CertificateStatus,
    revokedAt: date(row.revoked_at),
    revocationReason: (row.revocation_reason as RevocationReasonName) ?? null,
    invalidityDate: date(row.invalidity_date),
    statusChangedAt: date(row.status_changed_at)!,
  };
}
