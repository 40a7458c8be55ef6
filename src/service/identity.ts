import { readFileSync } from 'node:fs';
import type { Wiring } from './wiring.js';
import { AccountRepository } from '../storage/account-repository.js';
import { LoginThrottleRepository } from '../storage/login-throttle-repository.js';
import { OidcClientRepository } from '../storage/oidc-client-repository.js';
import { OidcKeyRepository } from '../storage/oidc-key-repository.js';
import { OidcPayloadRepository } from '../storage/oidc-payload-repository.js';
import { FederatedIdentityRepository } from '../storage/federated-identity-repository.js';
import { PasskeyRepository } from '../storage/passkey-repository.js';
import { AccountService } from '../accounts/account-service.js';
import { AccountChangeService } from '../accounts/account-changes.js';
import { OneTimeCodes } from '../accounts/one-time-codes.js';
import { OfficerProof } from '../accounts/officer-proof.js';
import { EnrolmentGate } from '../accounts/enrolment.js';
import { AccountControlRepository } from '../storage/account-control-repository.js';
import { FederatedAccountService } from '../accounts/federated-accounts.js';
import { PasskeyService } from '../webauthn/passkey-service.js';
import { CertificateLoginService } from '../auth/certificate-login.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import { SigningKeyService } from '../../oidc/keys/signing-keys.js';
import { ClientRegistryService, type ClientRegistry } from '../../oidc/clients/client-registry.js';
import { adapterFactory } from '../../oidc/adapter.js';
import { OidcProvider } from '../../oidc/provider.js';
import type { Upstream } from '../../oidc/federation/upstreams.js';
import { retiredKeyLifetimeMs } from '../../oidc/settings.js';
import { isDatabaseUnavailable } from '../errors/dependency-unavailable.js';
import { providerPages } from '../web/views/provider-pages.js';
import { loadUpstreams, oidcSettings } from './oidc-wiring.js';

/** The identity side: accounts, token keys, the client registry, the provider, passkeys. */
export interface Identity {
  accounts: AccountService;
  signingKeys: SigningKeyService;
  clients: ClientRegistry;
  oidc: OidcProvider;
  federated: FederatedAccountService;
  upstreams: Upstream[];
  passkeys: PasskeyService;
  passkeyRepo: PasskeyRepository;
  /** Issue 16: enrolment and approval codes, dual control over people, the CLI's proof of an officer. */
  codes: OneTimeCodes;
  accountChanges: AccountChangeService;
  officerProof: OfficerProof;
  enrolment: EnrolmentGate;
}

/**
 * After an RP-initiated logout of a federated login, where the browser goes first (the upstream's
 * end-session endpoint); the federation routes answer it, and they are built after the provider.
 */
export type UpstreamLogout = (session: { accountId?: string; amr?: string[] }, location: string) => Promise<string | null>;

export async function buildIdentity(w: Wiring, upstreamLogout: UpstreamLogout): Promise<Identity> {
  const { config, db, audit, secrets, clock } = w;
  const signingKeys = new SigningKeyService(
    db,
    new OidcKeyRepository(db.knex),
    audit,
    secrets.masterKey,
    clock,
    retiredKeyLifetimeMs(config.oidc),
  );
  if (w.options.initialise) await signingKeys.ensureInitialised('system');

  const passkeyRepo = new PasskeyRepository(db.knex);
  const window = { windowMs: config.login.failureWindowSeconds * 1000, lockMs: config.login.lockSeconds * 1000 };
  const accounts = new AccountService(db, new AccountRepository(db.knex, clock), new LoginThrottleRepository(db.knex), audit, clock, {
    perAccount: { maxFailures: config.login.maxFailuresPerAccount, ...window },
    perAddress: { maxFailures: config.login.maxFailuresPerAddress, ...window },
  }, passkeyRepo);
  const control = new AccountControlRepository(db.knex);
  const codes = new OneTimeCodes(db, control, audit, clock);
  const accountChanges = new AccountChangeService(db, accounts, control, codes, audit, clock);
  const officerProof = new OfficerProof(db, accounts, (id) => passkeyRepo.listForAccount(id), codes, audit);

  // The registry validates metadata with the provider, and the provider reads clients from the
  // registry: the reference closes that loop once both exist.
  const providerRef: { current?: OidcProvider } = {};
  const clients: ClientRegistry = new ClientRegistryService(db, new OidcClientRepository(db.knex), audit, secrets.masterKey, clock, (metadata) => providerRef.current!.validateClient(metadata));
  const payloads = new OidcPayloadRepository(db.knex);
  // "Log in with DVCQG": upstream identity providers, and the accounts they link to.
  const upstreams = loadUpstreams(config, w.options.upstreams);
  const federated = new FederatedAccountService(db, new AccountRepository(db.knex, clock), new FederatedIdentityRepository(db.knex, clock), audit);
  const oidc = await OidcProvider.create({
    settings: oidcSettings(config),
    log: w.log,
    keys: signingKeys,
    cookieKeys: secrets.cookieKeys,
    adapter: adapterFactory(payloads, clients, clock, isDatabaseUnavailable),
    findAccount: (id) => accounts.findById(id),
    logoutRedirect: upstreamLogout,
    pages: providerPages,
  });
  providerRef.current = oidc;

  const passkeys = new PasskeyService(db, passkeyRepo, audit, clock, {
    rpId: config.webauthn.rpId ?? new URL(config.server.publicUrl).hostname,
    rpName: config.webauthn.rpName,
    origins: config.webauthn.origins?.length ? config.webauthn.origins : [new URL(config.server.publicUrl).origin],
    timeoutMs: config.webauthn.timeoutSeconds * 1000,
  });

  if (w.role === 'all') {
    oidc.startKeyPolling();
    w.onClose(() => oidc.stop());
    w.jobs.every(10 * 60_000, 'could not sweep expired OIDC rows', () => payloads.sweepExpired(clock.now(), 5_000));
    w.jobs.every(10 * 60_000, 'could not sweep expired WebAuthn challenges', () => passkeyRepo.sweepChallenges(clock.now()));
  }
  return { accounts, signingKeys, clients, oidc, federated, upstreams, passkeys, passkeyRepo, codes, accountChanges, officerProof, enrolment: new EnrolmentGate(codes) };
}

/** Certificate login: a mutual-TLS listener (serve.ts starts it) and/or a trusted proxy's header. */
export function buildCertificateLogin(w: Wiring, identity: Identity, certificates: CertificateService): CertificateLoginService {
  const { caBundleFile } = w.config.certLogin;
  return new CertificateLoginService(
    w.db,
    certificates,
    identity.accounts,
    identity.passkeyRepo,
    w.audit,
    w.clock,
    caBundleFile ? readFileSync(caBundleFile, 'utf8') : undefined,
  );
}
