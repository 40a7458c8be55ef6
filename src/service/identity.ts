import { readFileSync } from 'node:fs';
import type { Wiring } from './wiring.js';
import type { Transaction } from '../storage/db.js';
import { AccountRepository } from '../storage/account-repository.js';
import { LoginThrottleRepository } from '../storage/login-throttle-repository.js';
import { OidcClientRepository } from '../storage/oidc-client-repository.js';
import { OidcKeyRepository } from '../storage/oidc-key-repository.js';
import { OidcPayloadRepository } from '../storage/oidc-payload-repository.js';
import { TokenRevocationRepository } from '../storage/token-revocation-repository.js';
import { TokenRevocations } from '../auth/token-revocations.js';
import { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { DpopProofs } from '../auth/dpop.js';
import { FederatedIdentityRepository } from '../storage/federated-identity-repository.js';
import { PasskeyRepository } from '../storage/passkey-repository.js';
import { AccountService, type LoginPolicy } from '../accounts/account-service.js';
import { AccountChangeService } from '../accounts/account-changes.js';
import { OneTimeCodes } from '../accounts/one-time-codes.js';
import { OfficerProof } from '../accounts/officer-proof.js';
import { EnrolmentGate } from '../accounts/enrolment.js';
import { AccountControlRepository } from '../storage/account-control-repository.js';
import { FederatedAccountService } from '../accounts/federated-accounts.js';
import { PasskeyService } from '../webauthn/passkey-service.js';
import { ChallengeSeal } from '../webauthn/sealed-challenge.js';
import { CertificateLoginService } from '../auth/certificate-login.js';
import { ClientAuthThrottle } from '../auth/client-auth-throttle.js';
import { ClientAuthLeases } from '../auth/client-auth-leases.js';
import { AttemptThrottle } from '../accounts/attempt-throttle.js';
import type { CertificateService } from '../certificates/certificate-service.js';
import { SigningKeyService } from '../../oidc/keys/signing-keys.js';
import { ClientRegistryService, type ClientRegistry } from '../../oidc/clients/client-registry.js';
import { adapterFactory } from '../../oidc/adapter.js';
import { accountReadOncePerRequest } from '../../oidc/request-memo.js';
import { OidcProvider } from '../../oidc/provider.js';
import type { Upstream } from '../../oidc/federation/upstreams.js';
import { apiResource, issuerOf, retiredKeyLifetimeMs } from '../../oidc/settings.js';
import { isDatabaseUnavailable } from '../errors/dependency-unavailable.js';
import { providerPages } from '../web/views/provider-pages.js';
import { loadUpstreams, oidcSettings } from './oidc-wiring.js';
import { OutboundFetcher } from '../outbound/outbound-fetcher.js';

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
  /** The API's token check, with the revocation list every node keeps (docs/identity.md). */
  apiTokens: AccessTokenVerifier;
  revocations: TokenRevocations;
  /** Issue 16: enrolment and approval codes, dual control over people, the CLI's proof of an officer. */
  codes: OneTimeCodes;
  accountChanges: AccountChangeService;
  officerProof: OfficerProof;
  enrolment: EnrolmentGate;
  /** Set once the OCSP responder exists: whether this node follows the change feed (the client cache relies on it). */
  feed: { follows: () => boolean };
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
  const payloads = new OidcPayloadRepository(db.knex);
  const revocationRepo = new TokenRevocationRepository(db.knex, db.kind);
  const revocations = tokenRevocations(w, revocationRepo);
  await revocations.reload();
  // Ends what an account holds at the provider, and its API tokens (JWTs the database has no row of).
  const sessions = {
    async endAll(trx: Transaction, accountId: string) {
      const rows = await payloads.destroyForAccount(trx, accountId);
      await revocations.revoke(trx, 'account', accountId);
      return rows;
    },
  };
  const accounts = new AccountService(db, new AccountRepository(db.knex, clock), new LoginThrottleRepository(db.knex), audit, clock, loginPolicy(config.login), passkeyRepo, sessions);
  const control = new AccountControlRepository(db.knex);
  const codes = new OneTimeCodes(db, control, audit, clock);
  const accountChanges = new AccountChangeService(db, accounts, control, codes, audit, clock, passkeyRepo);
  const officerProof = new OfficerProof(db, accounts, (id) => passkeyRepo.listForAccount(id), codes, audit);

  // The registry validates metadata with the provider, which reads clients from it: the reference closes the loop.
  const providerRef: { current?: OidcProvider } = {};
  const feed = { follows: () => false };
  const clients = clientRegistry(w, providerRef, feed, async (trx, clientId) => {
    await payloads.destroyForClient(trx, clientId);
    await revocations.revoke(trx, 'client', clientId);
  });
  const apiTokens = new AccessTokenVerifier(issuerOf(config.server), apiResource(config.server), () => {
    const jwks = providerRef.current!.publicJwks;
    return { version: jwks.map((k) => k.kid).join(','), jwks };
  }, 5, clock, revocations, new DpopProofs(config.server.publicUrl, clock, revocationRepo));
  // "Log in with DVCQG": upstream identity providers, and the accounts they link to.
  const upstreams = loadUpstreams(config, w.options.upstreams);
  const federated = new FederatedAccountService(db, new AccountRepository(db.knex, clock), new FederatedIdentityRepository(db.knex, clock), audit);
  const oidc = await OidcProvider.create({
    settings: oidcSettings(config),
    log: w.log,
    keys: signingKeys,
    cookieKeys: secrets.cookieKeys,
    adapter: adapterFactory(payloads, clients, clock, isDatabaseUnavailable, (grantId) => revocations.revoke(null, 'grant', grantId)), cachedClient: (id) => clients.cachedEntry(id), secretVerdict: (a, entry) => clients.presentedVerdict(a, entry),
    findAccount: accountReadOncePerRequest((id) => accounts.findById(id)),
    logoutRedirect: upstreamLogout,
    pages: providerPages,
    apiTokens: {
      inspect: (token) => apiTokens.inspect(token),
      async revoke(claims) {
        if (typeof claims.jti === 'string') await revocations.revoke(null, 'jti', claims.jti);
        // RFC 7009 §2.1 allows it, and oidc-provider does it for its own tokens: the grant goes too.
        if (typeof claims.grant_id === 'string') await endGrant(payloads, revocations, claims.grant_id);
      },
    },
  });
  providerRef.current = oidc;

  const passkeys = new PasskeyService(db, passkeyRepo, audit, clock, {
    rpId: config.webauthn.rpId ?? new URL(config.server.publicUrl).hostname,
    rpName: config.webauthn.rpName,
    origins: config.webauthn.origins?.length ? config.webauthn.origins : [new URL(config.server.publicUrl).origin],
    timeoutMs: config.webauthn.timeoutSeconds * 1000,
  }, new ChallengeSeal(secrets.csrfSecret));

  if (w.role === 'all') {
    oidc.startKeyPolling();
    w.onClose(() => oidc.stop());
    w.jobs.every(10 * 60_000, 'could not sweep expired OIDC rows', () => payloads.sweepExpired(clock.now(), 5_000));
    w.jobs.every(10 * 60_000, 'could not sweep expired WebAuthn challenges', () => passkeyRepo.sweepChallenges(clock.now()));
  }
  return { accounts, signingKeys, clients, oidc, federated, upstreams, passkeys, passkeyRepo, apiTokens, revocations, codes, accountChanges, officerProof, enrolment: new EnrolmentGate(codes), feed };
}

/**
 * The client registry, its clients kept in memory while this node follows the change feed
 * (`feed.follows`, set once the OCSP responder exists); `onRemove` ends a removed client's tokens.
 */
function clientRegistry(w: Wiring, providerRef: { current?: OidcProvider }, feed: { follows: () => boolean }, onRemove: (trx: Transaction, clientId: string) => Promise<void>): ClientRegistry {
  return new ClientRegistryService(
    w.db,
    new OidcClientRepository(w.db.knex, w.db.kind),
    w.audit,
    w.secrets.masterKey,
    w.clock,
    (metadata) => providerRef.current!.validateClient(metadata),
    onRemove,
    () => feed.follows(),
  );
}

/** The revocation list of API tokens, loaded now, reloaded now and then, its old rows pruned. */
function tokenRevocations(w: Wiring, repo: TokenRevocationRepository): TokenRevocations {
  // A revocation refuses tokens issued before it: kept as long as such a token can be valid.
  const keepMs = (w.config.oidc.accessTokenTtlSeconds + 5 + 60) * 1000;
  const revocations = new TokenRevocations(w.db, repo, w.clock, keepMs);
  w.jobs.every(30_000, 'could not reload the API token revocations', () => revocations.reload());
  if (w.role === 'all') w.jobs.every(10 * 60_000, 'could not prune API token revocations and DPoP proofs', () => repo.prune(w.clock.now()));
  return revocations;
}

/** Ends a grant as oidc-provider does (its codes and tokens, then the grant, which the adapter reports). */
async function endGrant(payloads: OidcPayloadRepository, revocations: TokenRevocations, grantId: string): Promise<void> {
  await payloads.revokeByGrantId(grantId);
  await payloads.destroy('Grant', grantId);
  await revocations.revoke(null, 'grant', grantId);
}

/** The bounds of password login (docs/security.md, "Login throttling"). */
export function loginPolicy(login: Wiring['config']['login']): LoginPolicy {
  const window = { windowMs: login.failureWindowSeconds * 1000, lockMs: login.lockSeconds * 1000 };
  return {
    perAccountAddress: { maxFailures: login.maxFailuresPerAccountAddress, ...window },
    perAddress: { maxFailures: login.maxFailuresPerAddress, ...window },
    perAccount: { maxFailures: login.maxFailuresPerAccount, windowMs: login.accountFailureWindowSeconds * 1000, lockMs: login.accountLockSeconds * 1000 },
    hash: { concurrency: login.hashConcurrency, maxWaiting: login.hashQueue, maxWaitMs: login.hashWaitMs },
  };
}

/** Client authentication at the token endpoints, counted like password logins (docs/security.md). */
export function buildClientAuthThrottle(w: Wiring, clients?: Pick<ClientRegistry, 'secretMatches'>): ClientAuthThrottle {
  const { login } = w.config;
  const window = { windowMs: login.failureWindowSeconds * 1000, lockMs: login.lockSeconds * 1000 };
  const counters = new LoginThrottleRepository(w.db.knex);
  return new ClientAuthThrottle(
    w.db,
    new AttemptThrottle(counters, w.clock),
    w.audit,
    {
      perClientAddress: { maxFailures: login.clientAuthMaxFailuresPerClientAddress, ...window },
      perAddress: { maxFailures: login.clientAuthMaxFailuresPerAddress, ...window },
    },
    clients && ((clientId, secret, attempt) => clients.secretMatches(clientId, secret, attempt)),
    clients && new ClientAuthLeases(counters, w.clock),
  );
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
    // Another CA's OCSP responder: the validator's guarded fetcher and its private-network setting.
    new OutboundFetcher({ enabled: true, timeoutMs: w.config.validation.fetchTimeoutMs, maxBytes: 256 * 1024, allowPrivateNetworks: w.config.validation.fetchPrivateNetworks }),
  );
}
