import type { Wiring } from './wiring.js';
import type { Certificates } from './certificates.js';
import { TrustRepository } from '../storage/trust-repository.js';
import { TrustStore } from '../validation/trust-store.js';
import { RevocationChecker } from '../validation/revocation.js';
import { OutboundFetcher } from '../outbound/outbound-fetcher.js';
import { SignatureValidator } from '../validation/signature-validator.js';

export interface Validation {
  trust: TrustStore;
  validator: SignatureValidator;
}

/** Signature validation: our registry answers for our certificates, the issuers' OCSP/CRL for others. */
export function buildValidation(w: Wiring, caStore: Certificates['caStore']): Validation {
  const { config, db, audit, clock, log } = w;
  const registryPort = { issuers: () => caStore.issuers.list(null), certificate: (issuerId: string, serial: string) => caStore.ledger.find(null, issuerId, serial) };
  const trust = new TrustStore(new TrustRepository(db, db.knex, audit, clock), registryPort, config.validation.trustAnchors, log);
  const revocation = new RevocationChecker(
    registryPort,
    new OutboundFetcher({ enabled: config.validation.fetch, timeoutMs: config.validation.fetchTimeoutMs, maxBytes: 10 * 1024 * 1024, allowPrivateNetworks: config.validation.fetchPrivateNetworks }),
    clock,
  );
  const validator = new SignatureValidator(trust, revocation, clock, { maxSignatures: config.validation.maxSignatures, timeBudgetMs: config.validation.timeBudgetMs });
  return { trust, validator };
}
