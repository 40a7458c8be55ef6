import type { Wiring } from './wiring.js';
import type { Certificates } from './certificates.js';
import { TrustRepository } from '../storage/trust-repository.js';
import { CertificateRepository } from '../storage/certificate-repository.js';
import { TrustStore } from '../validation/trust-store.js';
import { RevocationChecker } from '../validation/revocation.js';
import { OutboundFetcher } from '../outbound/outbound-fetcher.js';
import { SignatureValidator } from '../validation/signature-validator.js';
import { ISSUERS_CHANGED } from '../ocsp/change-feed-follower.js';
import { RegistryIndex } from '../validation/registry-index.js';

export interface Validation {
  trust: TrustStore;
  validator: SignatureValidator;
  /** Our registry held on this node (null when the node does not follow the change feed). */
  registryIndex: RegistryIndex | null;
}

/** Where the validator's caches learn of changes: this node's CA and set-up, and the change feed for the other nodes. */
export interface ValidationEvents {
  onStatusChange(listener: (c: { issuerId: string; serial: string }) => Promise<void>): void;
  onIssuersChange(listener: () => Promise<void>): void;
  onFeedEntry(listener: (issuerId: string, serial: string) => void): void;
  /** True while this node follows the change feed (the registry index answers only then). */
  followsFeed?(): boolean;
}

/** Signature validation: our registry answers for our certificates, the issuers' OCSP/CRL for others. */
export function buildValidation(w: Wiring, caStore: Certificates['caStore'], events?: ValidationEvents): Validation {
  const { config, db, audit, clock, log } = w;
  // The certificates table read narrowly: a status and a digest, not the row (src/validation/ports.ts).
  const ledger = new CertificateRepository(db.knex);
  const registryPort = { issuers: () => caStore.issuers.list(null), certificate: (issuerId: string, serial: string) => ledger.validationStatus(null, issuerId, serial) };
  const trust = new TrustStore(new TrustRepository(db, db.knex, audit, clock), registryPort, config.validation.trustAnchors, log);
  // Our registry held on this node while it follows the change feed: no registry read per new signer.
  const followsFeed = events?.followsFeed;
  const index = followsFeed ? new RegistryIndex({ page: (ids, after, limit) => ledger.validationStatusPage(ids, after, limit) }, { fresh: followsFeed }) : null;
  if (index) w.onClose(async () => {
    index.close();
    await index.settled();
  });
  const revocation = new RevocationChecker(
    registryPort,
    new OutboundFetcher({ enabled: config.validation.fetch, timeoutMs: config.validation.fetchTimeoutMs, maxBytes: 10 * 1024 * 1024, allowPrivateNetworks: config.validation.fetchPrivateNetworks }),
    clock,
    undefined,
    index,
  );
  const issuersChanged = () => {
    revocation.issuersChanged();
    trust.invalidate();
  };
  events?.onStatusChange(async (c) => revocation.forget(c.issuerId, c.serial));
  events?.onIssuersChange(async () => issuersChanged());
  events?.onFeedEntry((issuerId, serial) => (serial === ISSUERS_CHANGED ? issuersChanged() : revocation.forget(issuerId, serial)));
  const validator = new SignatureValidator(trust, revocation, clock, { maxSignatures: config.validation.maxSignatures, timeBudgetMs: config.validation.timeBudgetMs });
  return { trust, validator, registryIndex: index };
}
