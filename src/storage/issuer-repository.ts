import type { Knex } from 'knex';
import type { Transaction } from './db.js';
import { bytes, date, type Row } from './certificate-rows.js';
import type { SignatureAlgorithm } from '../../ca/asn1/algorithms.js';
import type { IssuerRecord } from '../../ca/records.js';
import type { IssuerStore } from '../../ca/ports.js';

function toIssuer(r: Row): IssuerRecord {
  return {
    id: r.id as string,
    role: r.role as IssuerRecord['role'],
    keyUri: (r.key_uri as string) ?? null,
    certificate: bytes(r.certificate),
    csr: bytes(r.csr),
    signatureAlgorithm: (r.signature_algorithm as SignatureAlgorithm) ?? null,
    parentId: (r.parent_id as string) ?? null,
    status: r.status as IssuerRecord['status'],
    subjectDn: (r.subject_dn as string) ?? null,
    keyIdentifier: (r.key_identifier as string) ?? null,
    createdAt: date(r.created_at)!,
    announcedAt: date(r.announced_at),
  };
}

/** The CA's issuers (`ca_issuers`). `trx` first; null runs outside a transaction (ca/ports.ts). */
export class IssuerRepository implements IssuerStore<Transaction> {
  constructor(private readonly knex: Knex) {}

  async list(trx: Transaction | null): Promise<IssuerRecord[]> {
    return (await (trx ?? this.knex)('ca_issuers').orderBy('created_at')).map(toIssuer);
  }

  async get(trx: Transaction | null, id: string): Promise<IssuerRecord | null> {
    const row = await (trx ?? this.knex)('ca_issuers').where({ id }).first();
    return row ? toIssuer(row) : null;
  }

  async add(trx: Transaction, i: Omit<IssuerRecord, 'createdAt'>, now: Date): Promise<void> {
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

  async setKeyUri(trx: Transaction, id: string, keyUri: string, now: Date): Promise<void> {
    await trx('ca_issuers').where({ id }).update({ key_uri: keyUri, updated_at: now });
  }

  async markAnnounced(trx: Transaction, id: string, now: Date): Promise<void> {
    await trx('ca_issuers').where({ id }).update({ announced_at: now, updated_at: now });
  }

  async activate(trx: Transaction, id: string, c: { der: Buffer; subjectDn: string; keyIdentifier: string | null }, now: Date): Promise<void> {
    await trx('ca_issuers')
      .where({ id })
      .update({ certificate: c.der, status: 'active', ...(c.subjectDn && { subject_dn: c.subjectDn }), ...(c.keyIdentifier && { key_identifier: c.keyIdentifier }), updated_at: now });
  }
}
