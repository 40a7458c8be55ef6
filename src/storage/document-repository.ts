import type { Knex } from 'knex';
import type { Database } from './db.js';
import { normalise } from './db.js';
import type { AuditRepository } from './audit-repository.js';
import type { DocumentStore, RegisteredDocument } from '../documents/ports.js';

interface DocumentRow {
  id: string;
  sha256: string;
  title: string;
  issuer: string;
  document_date: Date | string | null;
  registered_by: string;
  registered_at: Date | string;
}

/** A DATE column as YYYY-MM-DD whatever the driver returns (pg: a local-midnight Date, PGlite: a string or Date). */
function isoDate(v: Date | string | null): string | null {
  if (v === null) return null;
  if (typeof v === 'string') return v.slice(0, 10);
  return `${v.getFullYear()}-${String(v.getMonth() + 1).padStart(2, '0')}-${String(v.getDate()).padStart(2, '0')}`;
}

const toDocument = (r: DocumentRow): RegisteredDocument => ({
  id: r.id,
  sha256: r.sha256,
  title: r.title,
  issuer: r.issuer,
  documentDate: isoDate(r.document_date),
  registeredBy: r.registered_by,
  registeredAt: normalise.date(r.registered_at),
});

/** Documents registered for QR verification; each registration and its audit event commit together. */
export class DocumentRepository implements DocumentStore {
  constructor(
    private readonly db: Database,
    private readonly knex: Knex,
    private readonly audit: AuditRepository,
  ) {}

  async add(doc: RegisteredDocument): Promise<void> {
    await this.db.withTransaction(async (trx) => {
      await trx('registered_documents').insert({ id: doc.id, sha256: doc.sha256, title: doc.title, issuer: doc.issuer, document_date: doc.documentDate, registered_by: doc.registeredBy, registered_at: doc.registeredAt });
      await this.audit.append(trx, { actor: doc.registeredBy, action: 'document.register', target: `document:${doc.id}`, details: { sha256: doc.sha256, title: doc.title, issuer: doc.issuer, documentDate: doc.documentDate } });
    });
  }

  async find(id: string): Promise<RegisteredDocument | null> {
    const row = await this.knex<DocumentRow>('registered_documents').where({ id }).first();
    return row ? toDocument(row) : null;
  }
}
