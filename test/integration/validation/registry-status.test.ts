/**
 * What signature validation reads of our registry (src/validation/ports.ts, `RegistryStatus`):
 * the status columns and the SHA-256 of the DER, computed by the database, the same on
 * PostgreSQL and the embedded database; null for a reservation without a certificate and for a
 * serial it does not know.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { CertificateRepository } from '../../../src/storage/certificate-repository.js';
import { PreparedRead } from '../../../src/storage/prepared-read.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../../support/test-db.js';

const NOW = new Date('2026-12-04T06:00:00Z');
const holder = { subjectDn: 'CN=Trần Thị Ngọc Hân,C=VN', holderName: 'Trần Thị Ngọc Hân', nationalId: '094185000091', taxCode: null, budgetCode: null, agency: null, email: null };
let database: TestDatabase;
let ledger: CertificateRepository;

describe(`the registry's status for validation (${usingPostgres() ? 'PostgreSQL' : 'embedded'})`, () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    ledger = new CertificateRepository(database.db.knex);
    await database.db.knex('ca_issuers').insert({ id: 'ext-status', role: 'external', status: 'active', created_at: NOW, updated_at: NOW });
  });
  afterAll(async () => database?.destroy());

  it('answers the status and the digest of the DER, as the whole row says', async () => {
    const der = Buffer.from('30820102aabbccddeeff', 'hex');
    await database.db.withTransaction((trx) =>
      ledger.importCertificate(trx, { issuerId: 'ext-status', serial: '0a', der, publicKeyFingerprint: 'fp-a', notBefore: NOW, notAfter: new Date(NOW.getTime() + 86_400_000), holder, statusSource: 'registry' }, NOW),
    );
    const revokedAt = new Date('2026-12-04T07:00:00Z');
    const invalidityDate = new Date('2026-12-01T00:00:00Z');
    await database.db.withTransaction((trx) => ledger.setStatus(trx, 'ext-status', '0a', { status: 'revoked', revokedAt, reason: 'keyCompromise', invalidityDate, crlEntry: null }, revokedAt));
    const row = (await ledger.find(null, 'ext-status', '0a'))!;
    expect(await ledger.validationStatus(null, 'ext-status', '0a')).toEqual({
      derSha256: createHash('sha256').update(der).digest('hex'),
      status: 'revoked',
      revokedAt,
      revocationReason: 'keyCompromise',
      invalidityDate,
      statusChangedAt: row.statusChangedAt,
    });
    expect(await ledger.validationStatus(null, 'ext-status', '0b')).toBeNull();
    expect(await ledger.validationStatus(null, 'other', '0a')).toBeNull();
  });

  it('has no digest for a reservation (no DER yet)', async () => {
    await database.db.withTransaction((trx) =>
      ledger.reserve(trx, { issuerId: 'ext-status', serial: '0c', tbs: new Uint8Array([0x30, 0]), profileId: 'p', requestId: null, publicKeyFingerprint: 'fp-c', notBefore: NOW, notAfter: NOW, predecessorSerial: null, holder }, NOW),
    );
    expect(await ledger.validationStatus(null, 'ext-status', '0c')).toEqual({ derSha256: null, status: 'good', revokedAt: null, revocationReason: null, invalidityDate: null, statusChangedAt: NOW });
  });

  it('answers the same through the prepared statement as through knex, in and out of a transaction, for every state', async () => {
    const der = Buffer.from('3082010301020304', 'hex');
    await database.db.withTransaction((trx) =>
      ledger.importCertificate(trx, { issuerId: 'ext-status', serial: '0d', der, publicKeyFingerprint: 'fp-d', notBefore: NOW, notAfter: new Date(NOW.getTime() + 86_400_000), holder, statusSource: 'registry' }, NOW),
    );
    const bothWays = async (serial: string) => {
      const prepared = await ledger.validationStatus(null, 'ext-status', serial);
      const inTransaction = await database.db.withTransaction((trx) => ledger.validationStatus(trx, 'ext-status', serial));
      expect(prepared).toEqual(inTransaction);
      return prepared;
    };
    expect((await bothWays('0d'))?.status).toBe('good');
    // The fast path answers (undefined would mean every read fell back to knex).
    const read = new PreparedRead(database.db.knex, 'tn_test_status', 'select status from certificates where issuer_id = $1 and serial = $2');
    expect(await read.first(['ext-status', '0d'])).toEqual({ status: 'good' });
    expect(await read.first(['ext-status', 'none'])).toBeNull();
    const heldAt = new Date('2026-12-04T08:00:00Z');
    await database.db.withTransaction((trx) => ledger.setStatus(trx, 'ext-status', '0d', { status: 'hold', revokedAt: heldAt, reason: 'certificateHold', invalidityDate: null, crlEntry: null }, heldAt));
    // No cache in the prepared read: the change shows at the next read.
    expect(await bothWays('0d')).toMatchObject({ status: 'hold', revokedAt: heldAt, revocationReason: 'certificateHold' });
    await database.db.withTransaction((trx) => ledger.setStatus(trx, 'ext-status', '0d', { status: 'revoked', revokedAt: heldAt, reason: 'keyCompromise', invalidityDate: null, crlEntry: null }, heldAt));
    expect(await bothWays('0d')).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect(await bothWays('0e')).toBeNull();
    // Odd parameters are data, never SQL.
    expect(await ledger.validationStatus(null, "ext-status' or '1'='1", '0d')).toBeNull();
    expect(await ledger.validationStatus(null, 'ext-status', "0d'; drop table certificates; --")).toBeNull();
  });

  it('never reads inside another caller\'s transaction: an uncommitted change is not seen, a committed one is', async () => {
    const der = Buffer.from('3082010405060708', 'hex');
    await database.db.withTransaction((trx) =>
      ledger.importCertificate(trx, { issuerId: 'ext-status', serial: '0f', der, publicKeyFingerprint: 'fp-f', notBefore: NOW, notAfter: new Date(NOW.getTime() + 86_400_000), holder, statusSource: 'registry' }, NOW),
    );
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let changed!: () => void;
    const written = new Promise<void>((resolve) => (changed = resolve));
    const revokedAt = new Date('2026-12-04T09:00:00Z');
    const transaction = database.db.withTransaction(async (trx) => {
      await ledger.setStatus(trx, 'ext-status', '0f', { status: 'revoked', revokedAt, reason: 'keyCompromise', invalidityDate: null, crlEntry: null }, revokedAt);
      changed();
      await gate;
    });
    await written;
    // PostgreSQL: another connection sees the committed row; the embedded database's one connection waits for the transaction.
    const read = ledger.validationStatus(null, 'ext-status', '0f');
    if (usingPostgres()) expect((await read)?.status).toBe('good');
    release();
    await transaction;
    if (!usingPostgres()) expect((await read)?.status).toBe('revoked');
    expect((await ledger.validationStatus(null, 'ext-status', '0f'))?.status).toBe('revoked');
  });

  it('reads pages of our issuers\' certificates with their DER, in keyset order, for the validation node\'s index', async () => {
    await database.db.knex('ca_issuers').insert({ id: 'ext-page', role: 'external', status: 'active', created_at: NOW, updated_at: NOW });
    const at = (ms: number) => new Date(NOW.getTime() + ms);
    for (const [serial, ms] of [['1b', 2], ['1a', 2], ['1c', 1], ['1d', 3]] as const) {
      await database.db.withTransaction((trx) =>
        ledger.importCertificate(trx, { issuerId: 'ext-page', serial, der: Buffer.from(`3003${serial}`, 'hex'), publicKeyFingerprint: `fp-${serial}`, notBefore: NOW, notAfter: at(86_400_000), holder, statusSource: 'registry' }, at(ms)),
      );
    }
    await database.db.withTransaction((trx) =>
      ledger.reserve(trx, { issuerId: 'ext-page', serial: '1e', tbs: new Uint8Array([0x30, 0]), profileId: 'p', requestId: null, publicKeyFingerprint: 'fp-1e', notBefore: NOW, notAfter: NOW, predecessorSerial: null, holder }, at(1)),
    );
    const first = await ledger.validationStatusPage(['ext-page'], null, 3);
    expect(first.map((r) => [r.serial, r.createdAt.getTime() - NOW.getTime()])).toEqual([['1c', 1], ['1a', 2], ['1b', 2]]);
    expect(first[0].status).toEqual(await ledger.validationStatus(null, 'ext-page', '1c'));
    const last = first[2];
    const second = await ledger.validationStatusPage(['ext-page'], { createdAt: last.createdAt, serial: last.serial, issuerId: last.issuerId }, 3);
    expect(second.map((r) => r.serial)).toEqual(['1d']);
    expect(await ledger.validationStatusPage(['nobody'], null, 10)).toEqual([]);
    expect(await ledger.validationStatusPage([], null, 10)).toEqual([]);
  });
});
