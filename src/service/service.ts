import { CLIENT_FEED_ISSUER } from '../storage/oidc-client-repository.js';
import type Koa from 'koa';
import type { RequestListener } from 'node:http';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { AppState } from '../web/context.js';
import { databaseTarget, openDatabase, type Database } from '../storage/db.js';
import { AuditRepository } from '../storage/audit-repository.js';
import { SettingsRepository } from '../storage/settings-repository.js';
import { systemClock, type Clock } from '../lifecycle/clock.js';
import { BackgroundJobs } from '../lifecycle/background-jobs.js';
import { openInstallation } from '../secrets/installation.js';
import type { AccountService } from '../accounts/account-service.js';
import type { FederatedAccountService } from '../accounts/federated-accounts.js';
import type { PasskeyService } from '../webauthn/passkey-service.js';
import type { CertificateLoginService } from '../auth/certificate-login.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import type { OcspResponderService } from '../ocsp/ocsp-responder.js';
import type { RegistryIndex } from '../validation/registry-index.js';
import type { AuditCheckpointer } from '../audit/audit-checkpointer.js';
import type { TrustStore } from '../validation/trust-store.js';
import type { SignatureValidator } from '../validation/signature-validator.js';
import type { SigningKeyService } from '../../oidc/keys/signing-keys.js';
import type { ClientRegistry } from '../../oidc/clients/client-registry.js';
import type { OidcProvider } from '../../oidc/provider.js';
import type { CreateServiceOptions, Wiring } from './wiring.js';

export type { CreateServiceOptions } from './wiring.js';
import { buildCertificateLogin, buildIdentity, type Identity } from './identity.js';
import { buildCertificates } from './certificates.js';
import { buildValidation } from './validation.js';
import { buildFederation, buildWeb } from './web.js';
import { DocumentRegistry } from '../documents/document-registry.js';
import { DocumentRepository } from '../storage/document-repository.js';

/** Everything one running tinnhiem node is made of. */
export interface Service {
  readonly config: Config;
  readonly log: Logger;
  readonly app: Koa<AppState>;
  /** The node:http listener: the OCSP fast path ahead of the Koa app (src/web/pki/ocsp-fast-path.ts). */
  readonly handler: RequestListener;
  readonly db: Database;
  readonly audit: AuditRepository;
  readonly clock: Clock;
  readonly accounts: AccountService;
  readonly clients: ClientRegistry;
  readonly signingKeys: SigningKeyService;
  readonly oidc: OidcProvider;
  readonly certificates: CertificateService;
  readonly ocsp: OcspResponderService;
  /** Signs audit checkpoints (docs/audit.md); null when AUDIT_KEY_URI is unset. */
  readonly auditCheckpointer: AuditCheckpointer | null;
  readonly federated: FederatedAccountService;
  readonly passkeys: PasskeyService;
  readonly codes: Identity['codes'];
  readonly accountChanges: Identity['accountChanges'];
  readonly officerProof: Identity['officerProof'];
  readonly certificateLogin: CertificateLoginService;
  /** The application of the mutual-TLS listener (certificate login); serve.ts listens with it. */
  readonly certificateLoginApp: Koa<AppState>;
  /** The listener's external URL, once it listens (when CERT_LOGIN_PUBLIC_URL is not set). */
  setCertificateTlsUrl(url: string): void;
  /** QR verification of issued documents (docs/verify.md). */
  readonly documents: DocumentRegistry;
  /** Signature validation: the trust store (`tinnhiem trust`) and the validator. */
  readonly validation: { trust: TrustStore; validator: SignatureValidator; registryIndex: RegistryIndex | null };
  /** Readiness turns 503 and responses say `Connection: close`. */
  beginShutdown(): void;
  isShuttingDown(): boolean;
  close(): Promise<void>;
}


/**
 * Composition root: config → database → repositories → services → Koa. The only place that
 * knows every concrete class; each part is built in its own module of src/service (identity,
 * certificates, validation, web), and the periodic work is registered with BackgroundJobs.
 */
export async function createService(config: Config, options: CreateServiceOptions): Promise<Service> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const target = options.database ?? databaseTarget(config);
  const db = await openDatabase(target, { log, purpose: options.purpose ?? 'serve' });
  const jobs = new BackgroundJobs(log);
  const cleanups: Array<() => void | Promise<void>> = [];
  const closeAll = async () => {
    jobs.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await db.close();
  };
  try {
    const applied = await db.migrateLatest();
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
    const audit = new AuditRepository(db.knex, clock);
    const secrets = await openInstallation(db, new SettingsRepository(db.knex, clock), audit, options.masterPassphrase, { initialise: !!options.initialise, actor: 'system' });
    const w: Wiring = { config, log, clock, db, target, audit, secrets, role: options.role ?? 'all', jobs, options, onClose: (cleanup) => cleanups.push(cleanup) };
    return await assemble(w, closeAll);
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}

async function assemble(w: Wiring, closeAll: () => Promise<void>): Promise<Service> {
  // The provider sends a federated logout through the federation routes, which need the provider.
  const hop: { federation?: ReturnType<typeof buildFederation> } = {};
  const identity = await buildIdentity(w, async (session, location) => (hop.federation ? hop.federation.logoutThroughUpstream(session, location) : null));
  const federation = (hop.federation = buildFederation(w, identity));
  const pki = await buildCertificates(w, (issuerId, serial) => {
    if (issuerId !== CLIENT_FEED_ISSUER) return identity.revocations.onFeedEntry(issuerId, serial);
    identity.clients.forget(serial);
    return true;
  });
  identity.feed.follows = () => pki.responder.followsFeed();
  const certificateLogin = buildCertificateLogin(w, identity, pki.certificates);
  const validation = buildValidation(w, pki.caStore, {
    onStatusChange: (listener) => pki.certificates.ca.onStatusChange(listener),
    onIssuersChange: (listener) => pki.certificates.setup.onIssuersChange(listener),
    onFeedEntry: (listener) => pki.responder.onFeedEntry(listener),
    followsFeed: () => pki.responder.followsFeed(),
  });
  const documents = new DocumentRegistry(new DocumentRepository(w.db, w.db.knex, w.audit), w.clock, w.config.server.publicUrl);
  let shuttingDown = false;
  const isShuttingDown = () => shuttingDown;
  const web = buildWeb(w, { identity, pki, validation, documents, certificateLogin, federation, isShuttingDown });
  return {
    config: w.config,
    log: w.log,
    db: w.db,
    audit: w.audit,
    clock: w.clock,
    ...web,
    accounts: identity.accounts,
    clients: identity.clients,
    signingKeys: identity.signingKeys,
    oidc: identity.oidc,
    federated: identity.federated,
    passkeys: identity.passkeys,
    codes: identity.codes,
    accountChanges: identity.accountChanges,
    officerProof: identity.officerProof,
    certificates: pki.certificates,
    ocsp: pki.responder,
    auditCheckpointer: pki.auditCheckpointer,
    certificateLogin,
    validation,
    documents,
    beginShutdown: () => {
      shuttingDown = true;
    },
    isShuttingDown,
    close: closeAll,
  };
}
