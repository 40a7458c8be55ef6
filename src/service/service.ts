import type Koa from 'koa';
import type { RequestListener } from 'node:http';
import type Router from '@koa/router';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { AppState } from '../web/context.js';
import { createApp } from '../web/app.js';
import { createHttpMetrics } from '../web/metrics.js';
import { databaseTarget, openDatabase, type Database, type DatabaseTarget } from '../storage/db.js';
import { databaseReadiness } from '../storage/database-readiness.js';
import { AuditRepository } from '../storage/audit-repository.js';
import { SettingsRepository } from '../storage/settings-repository.js';
import { AccountRepository } from '../storage/account-repository.js';
import { LoginThrottleRepository } from '../storage/login-throttle-repository.js';
import { OidcClientRepository } from '../storage/oidc-client-repository.js';
import { OidcKeyRepository } from '../storage/oidc-key-repository.js';
import { OidcPayloadRepository } from '../storage/oidc-payload-repository.js';
import { systemClock, type Clock } from '../lifecycle/clock.js';
import { openInstallation } from '../secrets/installation.js';
import { AccountService } from '../accounts/account-service.js';
import { AuditService } from '../audit/audit-service.js';
import { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { auditRouter } from '../web/api/audit-router.js';
import { staticRouter } from '../web/static-router.js';
import { SigningKeyService } from '../../oidc/keys/signing-keys.js';
import { ClientRegistry } from '../../oidc/clients/client-registry.js';
import { adapterFactory } from '../../oidc/adapter.js';
import { OidcProvider, issuerOf } from '../../oidc/provider.js';
import { apiResource } from '../../oidc/configuration.js';
import { interactionRouter } from '../web/login/interaction-router.js';
import { join, resolve } from 'node:path';
import { FileKeyStore } from '../../ca/keys/file-key-store.js';
import { openKeyStores, checkHsmKeys } from '../certificates/open-key-stores.js';
import { loadProfiles } from '../../ca/profiles/profile.js';
import { caStorage } from '../storage/ca-storage.js';
import { CertificateAuthority } from '../certificates/certificate-authority.js';
import { RegistrationAuthority } from '../certificates/registration-authority.js';
import { CaSetup } from '../certificates/ca-setup.js';
import { CertificateService } from '../certificates/certificate-service.js';
import { certificatesRouter } from '../web/api/certificates-router.js';
import { pkiRouter } from '../web/pki/pki-router.js';
import { apiDocsRouter } from '../web/api/api-docs-router.js';
import { ocspRouter } from '../web/pki/ocsp-router.js';
import { ocspFastPath } from '../web/pki/ocsp-fast-path.js';
import { OcspRepository } from '../storage/ocsp-repository.js';
import { listenForOcspChanges } from '../storage/ocsp-change-listener.js';
import { OcspResponderService } from '../ocsp/ocsp-responder.js';
import { FederatedIdentityRepository } from '../storage/federated-identity-repository.js';
import { FederatedAccountService } from '../accounts/federated-accounts.js';
import { federationRouter } from '../web/login/federation-router.js';
import { loadUpstreamsFile, type Upstream } from '../../oidc/federation/upstreams.js';
import { PasskeyRepository } from '../storage/passkey-repository.js';
import { PasskeyService } from '../webauthn/passkey-service.js';
import { passkeyLoginMethod, passkeyRouter } from '../web/login/passkey-router.js';
import { accountRouter } from '../web/account/account-router.js';
import { adminRouter } from '../web/admin/admin-router.js';
import { readFileSync } from 'node:fs';
import { CertificateLoginService } from '../auth/certificate-login.js';
import { certificateLoginMethod, certificateLoginRouter, certificateTlsRouter, type CertificateLoginDeps } from '../web/login/certificate-login-router.js';
import { TrustRepository } from '../storage/trust-repository.js';
import { TrustStore } from '../validation/trust-store.js';
import { RevocationChecker } from '../validation/revocation.js';
import { SignatureValidator } from '../validation/signature-validator.js';
import { signaturesRouter } from '../web/api/signatures-router.js';

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
  readonly federated: FederatedAccountService;
  readonly passkeys: PasskeyService;
  readonly certificateLogin: CertificateLoginService;
  /** The application of the mutual-TLS listener (certificate login); serve.ts listens with it. */
  readonly certificateLoginApp: Koa<AppState>;
  /** The listener's external URL, once it listens (when CERT_LOGIN_PUBLIC_URL is not set). */
  setCertificateTlsUrl(url: string): void;
  /** Signature validation: the trust store (`tinnhiem trust`) and the validator. */
  readonly validation: { trust: TrustStore; validator: SignatureValidator };
  /** Readiness turns 503 and responses say `Connection: close`. */
  beginShutdown(): void;
  isShuttingDown(): boolean;
  close(): Promise<void>;
}

export interface CreateServiceOptions {
  log: Logger;
  clock?: Clock;
  /** Who holds the embedded database (shown to a refused second process). */
  purpose?: string;
  /** Overrides the database chosen by the config (tests). */
  database?: DatabaseTarget;
  /** The master passphrase (resolved by the caller from config or the dev file). */
  masterPassphrase: string;
  /** Create the installation's secrets and signing keys when missing (`init`, dev start, tests). */
  initialise?: boolean;
  /** Create a development CA hierarchy when there is none (dev start, tests); production uses `ca init`. */
  devCa?: boolean;
  /** Extra routers (tests add a slow route to exercise graceful shutdown). */
  extraRouters?: readonly Router<AppState>[];
  /** PBKDF2 iterations for new CA key files (default 600,000; tests lower it for speed). */
  keyKdfIterations?: number;
  /** `ocsp`: serve only the OCSP responder and the health routes (a responder fleet). Default `all`. */
  role?: 'all' | 'ocsp';
  /** Upstream identity providers given directly (the dev start's DVCQG simulator); else FEDERATION_UPSTREAMS_FILE. */
  upstreams?: Upstream[];
}

/**
 * Composition root: config → database → repositories → services → Koa. The only place that
 * knows every concrete class.
 */
export async function createService(config: Config, options: CreateServiceOptions): Promise<Service> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const target = options.database ?? databaseTarget(config);
  const db = await openDatabase(target, { log, purpose: options.purpose ?? 'serve' });
  const role = options.role ?? 'all';
  const cleanups: Array<() => void> = [];
  let ocsp: OcspResponderService | undefined;
  try {
    const applied = await db.migrateLatest();
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');

    const audit = new AuditRepository(db.knex, clock);
    const settings = new SettingsRepository(db.knex, clock);
    const secrets = await openInstallation(db, settings, audit, options.masterPassphrase, { initialise: !!options.initialise, actor: 'system' });

    const signingKeys = new SigningKeyService(
      db,
      new OidcKeyRepository(db.knex),
      audit,
      secrets.masterKey,
      clock,
      (Math.max(config.oidc.accessTokenTtlSeconds, config.oidc.idTokenTtlSeconds) + 300) * 1000,
    );
    if (options.initialise) await signingKeys.ensureInitialised('system');

    const accounts = new AccountService(db, new AccountRepository(db.knex, clock), new LoginThrottleRepository(db.knex), audit, clock, {
      perAccount: { maxFailures: config.login.maxFailuresPerAccount, windowMs: config.login.failureWindowSeconds * 1000, lockMs: config.login.lockSeconds * 1000 },
      perAddress: { maxFailures: config.login.maxFailuresPerAddress, windowMs: config.login.failureWindowSeconds * 1000, lockMs: config.login.lockSeconds * 1000 },
    });

    // The registry validates metadata with the provider, and the provider reads clients from the
    // registry: the reference closes that loop once both exist.
    const providerRef: { current?: OidcProvider } = {};
    const clients = new ClientRegistry(db, new OidcClientRepository(db.knex), audit, secrets.masterKey, clock, (metadata) => providerRef.current!.validateClient(metadata));
    const payloads = new OidcPayloadRepository(db.knex);
    // "Log in with DVCQG": upstream identity providers, and the accounts they link to.
    const upstreams = options.upstreams ?? (config.federation.upstreamsFile ? loadUpstreamsFile(config.federation.upstreamsFile) : []);
    const federated = new FederatedAccountService(db, new AccountRepository(db.knex, clock), new FederatedIdentityRepository(db.knex, clock), audit);
    const federation = federationRouter({
      provider: () => providerRef.current!.provider,
      publicUrl: config.server.publicUrl,
      csrfSecret: secrets.csrfSecret,
      upstreams,
      timeoutMs: config.federation.timeoutMs,
      federated,
      loginWithPassword: (input) => accounts.loginWithPassword(input),
      findAccount: (id) => accounts.findById(id),
      log,
    });
    const oidc = await OidcProvider.create({
      config,
      log,
      keys: signingKeys,
      cookieKeys: secrets.cookieKeys,
      adapter: adapterFactory(payloads, clients, clock),
      findAccount: (id) => accounts.findById(id),
      logoutRedirect: (session, location) => federation.logoutThroughUpstream(session, location),
    });
    providerRef.current = oidc;
    if (role === 'all') {
      oidc.startKeyPolling();
      cleanups.push(() => oidc.stop());
      const sweeper = setInterval(() => {
        payloads.sweepExpired(clock.now(), 5_000).catch((err: unknown) => log.warn({ err }, 'could not sweep expired OIDC rows'));
      }, 10 * 60_000);
      sweeper.unref();
      cleanups.push(() => clearInterval(sweeper));
    }

    // The CA: keys in DATA_DIR/keys, sealed with the same master passphrase.
    const fileKeys = new FileKeyStore({ directory: join(resolve(config.dataDir), 'keys'), passphrase: options.masterPassphrase, kdfIterations: options.keyKdfIterations });
    // …or in an HSM token (CA_KEY_STORE=pkcs11, docs/hsm.md); a missing token or wrong PIN stops the start.
    const { keyStore, close: closeKeyStores } = await openKeyStores(config, fileKeys);
    cleanups.push(closeKeyStores);
    const caStore = caStorage(db, audit);
    const ca = new CertificateAuthority(caStore, keyStore, await loadProfiles(), clock, { publicUrl: config.server.publicUrl, ...config.ca }, log);
    const ra = new RegistrationAuthority(caStore, ca, clock);
    const caSetup = new CaSetup(config, caStore, keyStore, ca, clock);
    const certificates = new CertificateService(ca, ra, caSetup, caStore, clock);
    await checkHsmKeys(config, keyStore, await ca.issuers(), (uri) => ca.key(uri));
    if (options.devCa && !(await ca.issuers()).some((i) => i.role === 'issuing')) {
      await caSetup.initHierarchy('system');
      log.info('development CA created (root, issuing CA, OCSP signer)');
    }
    if (role === 'all') {
      const recovered = await ca.finishUnfinished();
      if (recovered) log.warn({ recovered }, 'finished issuances interrupted by a crash');
      const crlTimer = setInterval(() => {
        ca.refreshCrls().catch((err: unknown) => log.warn({ err }, 'CRL refresh failed'));
      }, 5 * 60_000);
      crlTimer.unref();
      cleanups.push(() => clearInterval(crlTimer));
      // The delegated OCSP signers live 30 days: a new one is made a week before the old expires.
      const signerTimer = setInterval(() => {
        void (async () => {
          for (const issuer of await ca.issuers()) {
            if (issuer.role === 'issuing' && issuer.status === 'active') await caSetup.ensureOcspSigner('system', issuer.id);
          }
        })().catch((err: unknown) => log.warn({ err }, 'OCSP signer rotation failed'));
      }, 6 * 3_600_000);
      signerTimer.unref();
      cleanups.push(() => clearInterval(signerTimer));
    }

    // The OCSP responder: pre-signed responses, re-signed before a revoke/hold/release returns.
    const responder = new OcspResponderService({
      repo: new OcspRepository(db.knex, db.kind),
      ca,
      clock,
      log,
      config: config.ocsp,
      role,
      listen: (onChange) => listenForOcspChanges(target, log, onChange),
    });
    ocsp = responder;
    ca.onStatusChange((certificate) => responder.onStatusChange(certificate));
    await responder.start();

    const passkeyRepo = new PasskeyRepository(db.knex);
    const passkeys = new PasskeyService(db, passkeyRepo, audit, clock, {
      rpId: config.webauthn.rpId ?? new URL(config.server.publicUrl).hostname,
      rpName: config.webauthn.rpName,
      origins: config.webauthn.origins?.length ? config.webauthn.origins : [new URL(config.server.publicUrl).origin],
      timeoutMs: config.webauthn.timeoutSeconds * 1000,
    });
    if (role === 'all') {
      const challengeSweeper = setInterval(() => {
        passkeyRepo.sweepChallenges(clock.now()).catch((err: unknown) => log.warn({ err }, 'could not sweep expired WebAuthn challenges'));
      }, 10 * 60_000);
      challengeSweeper.unref();
      cleanups.push(() => clearInterval(challengeSweeper));
    }

    // Certificate login: a mutual-TLS listener (serve.ts starts it) and/or a trusted proxy's header.
    const certificateLogin = new CertificateLoginService(
      db,
      certificates,
      accounts,
      passkeyRepo,
      audit,
      clock,
      config.certLogin.caBundleFile ? readFileSync(config.certLogin.caBundleFile, 'utf8') : undefined,
    );
    const certificateLoginEnabled = config.certLogin.tlsPort !== undefined || !!config.certLogin.proxyHeader;
    let certificateTlsUrl =
      config.certLogin.publicUrl ?? (config.certLogin.tlsPort ? `https://${new URL(config.server.publicUrl).hostname}:${config.certLogin.tlsPort}` : undefined);
    const certificateLoginDeps: CertificateLoginDeps = {
      provider: () => oidc.provider,
      publicUrl: config.server.publicUrl,
      secret: secrets.csrfSecret,
      service: certificateLogin,
      tlsUrl: () => certificateTlsUrl,
      proxyHeader: config.certLogin.proxyHeader,
      trustedProxies: config.certLogin.trustedProxies,
      log,
    };
    const strongMethods = (uid: string) => (certificateLoginEnabled ? [certificateLoginMethod(uid)] : []);
    // Signature validation: our registry answers for our certificates, the issuers' OCSP/CRL for others.
    const registryPort = { issuers: () => caStore.issuers.list(null), certificate: (issuerId: string, serial: string) => caStore.ledger.find(null, issuerId, serial) };
    const trustStore = new TrustStore(new TrustRepository(db, db.knex, audit, clock), registryPort, config.validation.trustAnchors, log);
    const revocation = new RevocationChecker(
      registryPort,
      { enabled: config.validation.fetch, timeoutMs: config.validation.fetchTimeoutMs, maxBytes: 10 * 1024 * 1024, allowPrivateNetworks: config.validation.fetchPrivateNetworks },
      clock,
    );
    const validator = new SignatureValidator(trustStore, revocation, clock, { maxSignatures: config.validation.maxSignatures, timeBudgetMs: config.validation.timeBudgetMs });

    const provider = oidc;
    const verifier = new AccessTokenVerifier(issuerOf(config), apiResource(config), () => ({ version: provider.publicJwks.map((k) => k.kid).join(','), jwks: provider.publicJwks }), 5, clock);

    let shuttingDown = false;
    const isShuttingDown = () => shuttingDown;
    const metrics = createHttpMetrics();
    const app = createApp({
      config,
      log,
      metrics,
      // A responder-only node answers from memory through a database restart (up to the fence),
      // so its readiness is the responder's, or a balancer would drop the whole fleet then.
      readiness: role === 'ocsp' ? [{ name: 'ocsp', check: async () => responder.readiness() }] : databaseReadiness(db),
      isShuttingDown,
      mounts: role === 'all' ? [provider.middleware()] : [],
      selfParsingPrefixes: ['/oidc'],
      bodyPrefixLimits: [
        { prefix: '/api/v1/signatures', limitBytes: config.validation.maxBytes },
        { prefix: '/api/v1/certificates/validate', limitBytes: config.validation.maxBytes },
      ],
      routers: [
        ocspRouter({ responder }),
        ...(role === 'ocsp' ? [] : featureRouters()),
        ...(options.extraRouters ?? []),
      ],
    });

    // The mutual-TLS listener's own small application: the certificate check and the stylesheet.
    const certificateLoginApp = createApp({
      config,
      log,
      metrics: createHttpMetrics(),
      readiness: databaseReadiness(db),
      isShuttingDown,
      routers: [staticRouter(), certificateTlsRouter(certificateLoginDeps)],
    });

    function featureRouters() {
      return [
        staticRouter(),
        interactionRouter({
          provider: () => provider.provider,
          publicOrigin: new URL(config.server.publicUrl).origin,
          apiResource: apiResource(config),
          csrfSecret: secrets.csrfSecret,
          loginWithPassword: (input) => accounts.loginWithPassword(input),
          findAccount: (id) => accounts.findById(id),
          loginMethods: (uid) => [passkeyLoginMethod(uid), ...strongMethods(uid), ...federation.loginMethods(uid)],
          stepUpHref: (uid) => `/interaction/${uid}/passkey`,
        }),
        federation.router,
        passkeyRouter({
          provider: () => provider.provider,
          publicOrigin: new URL(config.server.publicUrl).origin,
          csrfSecret: secrets.csrfSecret,
          passkeys,
          strongMethods,
        }),
        certificateLoginRouter(certificateLoginDeps),
        accountRouter({ provider: () => provider.provider, publicUrl: config.server.publicUrl, csrfSecret: secrets.csrfSecret, passkeys, findAccount: (id) => accounts.findById(id) }),
        adminRouter({
          provider: () => provider.provider,
          publicUrl: config.server.publicUrl,
          apiResource: apiResource(config),
          csrfSecret: secrets.csrfSecret,
          certificates,
          accounts,
          passkeys,
          clients,
          audit: new AuditService(audit),
          trust: trustStore,
        }),
        auditRouter({ audit: new AuditService(audit), verifier }),
        certificatesRouter({ certificates, verifier, now: () => clock.now() }),
        pkiRouter({ certificates, now: () => clock.now() }),
        apiDocsRouter({ publicUrl: config.server.publicUrl }),
        signaturesRouter({ validator, verifier }),
      ];
    }

    const handler = ocspFastPath({ responder, log, metrics, hsts: config.server.publicUrl.startsWith('https:'), isShuttingDown }, app.callback());

    return {
      config,
      log,
      app,
      handler,
      db,
      audit,
      clock,
      accounts,
      clients,
      signingKeys,
      oidc: provider,
      certificates,
      ocsp: responder,
      federated,
      passkeys,
      certificateLogin,
      certificateLoginApp,
      setCertificateTlsUrl: (url) => {
        certificateTlsUrl = config.certLogin.publicUrl ?? url;
      },
      validation: { trust: trustStore, validator },
      beginShutdown: () => {
        shuttingDown = true;
      },
      isShuttingDown,
      close: async () => {
        for (const cleanup of cleanups) cleanup();
        await responder.close();
        await db.close();
      },
    };
  } catch (err) {
    for (const cleanup of cleanups) cleanup();
    await ocsp?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
}
