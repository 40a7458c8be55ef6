/**
 * The CA's storage, put together for the composition root: the repositories that implement the
 * ports the CA declares (ca/ports.ts), the transactions and the audit log. Type-checked against
 * `CaStorage`, so a port the storage stops implementing fails to compile here.
 */
import type { Database, Transaction } from './db.js';
import type { AuditRepository } from './audit-repository.js';
import { IssuerRepository } from './issuer-repository.js';
import { CertificateRepository } from './certificate-repository.js';
import { CrlRepository } from './crl-repository.js';
import { CertificateRequestRepository } from './certificate-request-repository.js';
import { CertificateSearchRepository } from './certificate-search-repository.js';
import { BlockedKeyRepository } from './blocked-key-repository.js';
import type { CaStorage } from '../../ca/ports.js';

export function caStorage(db: Database, audit: AuditRepository): CaStorage<Transaction> {
  return {
    transactions: db,
    audit,
    issuers: new IssuerRepository(db.knex),
    ledger: new CertificateRepository(db.knex),
    crls: new CrlRepository(db.knex),
    requests: new CertificateRequestRepository(db.knex),
    search: new CertificateSearchRepository(db.knex),
    blockedKeys: new BlockedKeyRepository(db.knex),
  };
}
