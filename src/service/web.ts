import type Koa from 'koa';
import type { RequestListener } from 'node:http';
import type Router from '@koa/router';
import type { Wiring } from './wiring.js';
import { buildClientAuthThrottle, type Identity } from './identity.js';
import type { Certificates } from './certificates.js';
import type { Validation } from './validation.js';
import type { AppState } from '../web/context.js';
import type { CertificateLoginService } from '../auth/certificate-login.js';
import { createApp, frontMiddlewares } from '../web/app.js';
import { tokenFastPath } from '../web/token-fast-path.js';
import { clientAuthThrottle } from '../web/middleware/koa-client-auth-throttle.js';
import { createHttpMetrics, registerRootCrlGauge, type HttpMetrics } from '../web/metrics.js';
import { databaseReadiness } from '../storage/database-readiness.js';
import { AuditService } from '../audit/audit-service.js';
import { configuredCheckpoints } from './audit-checkpoints.js';
import { auditRouter } from '../web/api/audit-router.js';
import { certificatesRouter } from '../web/api/certificates-router.js';
import { BATCH_BODY_LIMIT_BYTES, certificateBatchRouter } from '../web/api/certificate-batch-router.js';
import { apiDocsRouter } from '../web/api/api-docs-router.js';
import { signaturesRouter } from '../web/api/signatures-router.js';
import { verifyRouter } from '../web/verify/verify-router.js';
import { certificatePagesRouter } from '../web/verify/certificate-pages.js';
import type { ReportSigningKey } from '../validation/report-pdf.js';
import type { DocumentRegistry } from '../documents/document-registry.js';
import { documentsRouter } from '../web/api/documents-router.js';
import { staticRouter } from '../web/static-router.js';
import { pkiRouter } from '../web/pki/pki-router.js';
import { PublishedCopies } from '../certificates/published-copies.js';
import { ocspRouter } from '../web/pki/ocsp-router.js';
import { ocspFastPath } from '../web/pki/ocsp-fast-path.js';
import { interactionRouter, loginPageAtAuthorization, type InteractionDeps } from '../web/login/interaction-router.js';
import { federationRouter } from '../web/login/federation-router.js';
import { passkeyLoginMethod, passkeyRouter } from '../web/login/passkey-router.js';
import { certificateLoginMethod, certificateLoginRouter, certificateTlsRouter, type CertificateLoginDeps } from '../web/login/certificate-login-router.js';
import { accountRouter } from '../web/account/account-router.js';
import { adminRouter } from '../web/admin/admin-router.js';
import { apiResource } from '../../oidc/settings.js';
import { accountSessions, newcomerRouters } from './newcomer.js';
import { setPasswordStep } from '../web/login/set-password.js';
import { passwordChangeRequired } from '../accounts/account-service.js';
import { accountReadOncePerRequest } from '../../oidc/request-memo.js';
import { passkeyResume } from '../web/login/passkey-resume.js';

export interface Web {
  app: Koa<AppState>;
  /** The node:http listener: the OCSP fast path ahead of the Koa app (src/web/pki/ocsp-fast-path.ts). */
  handler: RequestListener;
  /** The application of the mutual-TLS listener (certificate login); serve.ts listens with it. */
  certificateLoginApp: Koa<AppState>;
  /** The listener's external URL, once it listens (when CERT_LOGIN_PUBLIC_URL is not set). */
  setCertificateTlsUrl(url: string): void;
}

interface Parts {
  identity: Identity;
  pki: Certificates;
  validation: Validation;
  documents: DocumentRegistry;
  certificateLogin: CertificateLoginService;
  federation: ReturnType<typeof federationRouter>;
  isShuttingDown(): boolean;
}

/** The federation routes ("log in with DVCQG"); the provider's logout goes through them. */
export function buildFederation(w: Wiring, identity: Identity): ReturnType<typeof federationRouter> {
  const { accounts } = identity;
  return federationRouter({
    provider: () => identity.oidc.provider,
    publicUrl: w.config.server.publicUrl,
    csrfSecret: w.secrets.csrfSecret,
    upstreams: identity.upstreams,
    timeoutMs: w.config.federation.timeoutMs,
    federated: identity.federated,
    loginWithPassword: (input) => accounts.loginWithPassword(input),
    findAccount: (id) => accounts.findById(id),
    log: w.log,
    now: () => w.clock.now(),
  });
}

/** The Koa applications and the node:http listener of one node. */
export function buildWeb(w: Wiring, parts: Parts): Web {
  const { config, log, db } = w;
  const { certificateLogin } = parts;
  const certificateLoginEnabled = config.certLogin.tlsPort !== undefined || !!config.certLogin.proxyHeader;
  let certificateTlsUrl =
    config.certLogin.publicUrl ?? (config.certLogin.tlsPort ? `https://${new URL(config.server.publicUrl).hostname}:${config.certLogin.tlsPort}` : undefined);
  const certificateLoginDeps: CertificateLoginDeps = {
    provider: () => parts.identity.oidc.provider,
    publicUrl: config.server.publicUrl,
    secret: w.secrets.csrfSecret,
    service: certificateLogin,
    tlsUrl: () => certificateTlsUrl,
    proxyHeader: config.certLogin.proxyHeader,
    trustedProxies: config.certLogin.trustedProxies,
    log,
    now: () => w.clock.now(),
  };
  const strongMethods = (uid: string) => (certificateLoginEnabled ? [certificateLoginMethod(uid)] : []);
  const { responder } = parts.pki;
  const metrics = createHttpMetrics();
  if (w.role === 'all') registerRootCrlGauge(metrics.registry, () => w.clock.now(), () => parts.pki.certificates.setup.rootCrls());
  // One throttle for both ways to the token endpoint (its leases are per process).
  const throttle = w.role === 'all' ? clientAuthThrottle(buildClientAuthThrottle(w, parts.identity.clients)) : null;
  const appDeps = { config, log, metrics, isShuttingDown: parts.isShuttingDown };
  const app = createApp({
    ...appDeps,
    // A responder-only node answers from memory through a database restart (up to the fence),
    // so its readiness is the responder's, or a balancer would drop the whole fleet then.
    readiness: w.role === 'ocsp' ? [{ name: 'ocsp', check: async () => responder.readiness() }] : databaseReadiness(db),
    mounts: throttle
      ? [
          throttle,
          passkeyResume({ provider: () => parts.identity.oidc.provider, publicOrigin: new URL(config.server.publicUrl).origin, csrfSecret: w.secrets.csrfSecret, passkeys: parts.identity.passkeys, limitBytes: config.server.bodyLimitBytes, now: () => w.clock.now() }),
          loginPageAtAuthorization(interactionDeps(w, parts, strongMethods)),
          parts.identity.oidc.middleware(),
        ]
      : [],
    selfParsingPrefixes: ['/oidc'],
    bodyPrefixLimits: [
      { prefix: '/api/v1/signatures', limitBytes: config.validation.maxBytes },
      { prefix: '/api/v1/certificates/validate', limitBytes: config.validation.maxBytes },
      { prefix: '/verify', limitBytes: config.verify.maxBytes },
      { prefix: '/api/v1/documents', limitBytes: config.validation.maxBytes },
      { prefix: '/api/v1/certificate-requests/batch', limitBytes: Math.max(config.server.bodyLimitBytes, BATCH_BODY_LIMIT_BYTES) },
      { prefix: '/api/v1/certificate-requests/batch-approve', limitBytes: Math.max(config.server.bodyLimitBytes, BATCH_BODY_LIMIT_BYTES) },
    ],
    routers: [ocspRouter({ responder }), ...(w.role === 'ocsp' ? [] : featureRouters(w, parts, strongMethods, certificateLoginDeps)), ...(w.options.extraRouters ?? [])],
  });
  // The mutual-TLS listener's own small application: the certificate check and the stylesheet.
  const certificateLoginApp = createApp({
    config,
    log,
    metrics: createHttpMetrics(),
    readiness: databaseReadiness(db),
    isShuttingDown: parts.isShuttingDown,
    routers: [staticRouter(), certificateTlsRouter(certificateLoginDeps)],
    // It terminates TLS itself: an X-Forwarded-For there was written by the client.
    trustProxyHops: 0,
  });
  const ocsp = ocspListener(w, responder, metrics, parts.isShuttingDown, app);
  const handler = throttle ? tokenFastPath({ limitBytes: config.server.bodyLimitBytes, serve: parts.identity.oidc.tokenListener([...frontMiddlewares(appDeps, { securityHeadersLast: true }), throttle]) }, ocsp) : ocsp;
  return {
    app,
    handler,
    certificateLoginApp,
    setCertificateTlsUrl: (url) => {
      certificateTlsUrl = config.certLogin.publicUrl ?? url;
    },
  };
}

function ocspListener(w: Wiring, responder: Certificates['responder'], metrics: HttpMetrics, isShuttingDown: () => boolean, app: Koa<AppState>): RequestListener {
  return ocspFastPath({ responder, log: w.log, metrics, hsts: w.config.server.publicUrl.startsWith('https:'), isShuttingDown }, app.callback());
}

/**
 * What the login and consent pages use: the interaction routes, and the login page the
 * authorization endpoint answers with (loginPageAtAuthorization, mounted before the provider).
 */
function interactionDeps(w: Wiring, parts: Parts, strongMethods: (uid: string) => ReturnType<typeof certificateLoginMethod>[], interceptLogin?: InteractionDeps['interceptLogin']): InteractionDeps {
  const { identity, federation } = parts;
  return {
    provider: () => identity.oidc.provider,
    publicOrigin: new URL(w.config.server.publicUrl).origin,
    apiResource: apiResource(w.config.server),
    csrfSecret: w.secrets.csrfSecret,
    loginWithPassword: (input) => identity.accounts.loginWithPassword(input),
    findAccount: accountReadOncePerRequest((id) => identity.accounts.findById(id)),
    loginMethods: async (uid) => [await passkeyLoginMethod(uid, identity.passkeys), ...strongMethods(uid), ...federation.loginMethods(uid)],
    stepUpHref: (uid) => `/interaction/${uid}/passkey`,
    interceptLogin,
    canStepUp: async (accountId, uid) => strongMethods(uid).length > 0 || (await identity.passkeys.list(accountId)).length > 0,
  };
}

/** Every router of a full node, in order: pages and interactions, then the API and PKI routes. */
function featureRouters(w: Wiring, parts: Parts, strongMethods: (uid: string) => ReturnType<typeof certificateLoginMethod>[], certificateLoginDeps: CertificateLoginDeps): Router<AppState>[] {
  const { config, secrets, clock } = w;
  const { identity, pki, validation, federation } = parts;
  const provider = () => identity.oidc.provider;
  const { certificates } = pki;
  const publicOrigin = new URL(config.server.publicUrl).origin;
  const audit = new AuditService(w.audit, configuredCheckpoints(w.config));
  const verifier = identity.apiTokens;
  const setPassword = setPasswordStep({
    provider,
    publicOrigin,
    csrfSecret: secrets.csrfSecret,
    required: passwordChangeRequired,
    setPassword: (id, password) => identity.accounts.setPasswordAfterReset(id, password),
    now: () => clock.now(),
  });
  return [
    staticRouter(),
    setPassword.router,
    interactionRouter(interactionDeps(w, parts, strongMethods, setPassword.interceptLogin)),
    federation.router,
    passkeyRouter({ provider, publicOrigin, csrfSecret: secrets.csrfSecret, passkeys: identity.passkeys, strongMethods }),
    certificateLoginRouter(certificateLoginDeps),
    accountRouter({
      provider,
      publicUrl: config.server.publicUrl,
      csrfSecret: secrets.csrfSecret,
      passkeys: identity.passkeys,
      findAccount: (id) => identity.accounts.findById(id),
      enrolment: identity.enrolment,
      certificates: parts.certificateLogin,
      credentialHistory: (id) => credentialHistory(audit, id),
      changePassword: (id, password, authorise) => identity.accounts.changeOwnPassword(id, password, authorise),
      sessions: accountSessions(w, identity),
      linkedIdentities: async (id) => (await identity.federated.linksOf(id)).map((l) => ({ upstream: l.upstream, subject: l.subject, createdAt: l.createdAt, lastLoginAt: l.lastLoginAt })),
    }),
    adminRouter({
      provider,
      publicUrl: config.server.publicUrl,
      apiResource: apiResource(config.server),
      csrfSecret: secrets.csrfSecret,
      certificates,
      accounts: identity.accounts,
      accountChanges: identity.accountChanges,
      codes: identity.codes,
      passkeys: identity.passkeys,
      clients: identity.clients,
      audit,
      trust: validation.trust,
      now: () => clock.now(),
    }),
    auditRouter({ audit, verifier, pii: certificates }),
    certificatesRouter({ certificates, verifier, now: () => clock.now() }),
    certificateBatchRouter({ certificates, verifier }),
    pkiRouter({ certificates, now: () => clock.now(), copies: new PublishedCopies(config.dataDir) }),
    apiDocsRouter({ publicUrl: config.server.publicUrl }),
    signaturesRouter({ validator: validation.validator, verifier }),
    ...newcomerRouters(w, certificates),
    ...publicPortalRouters(w, parts),
  ];
}

/** The public trust portal (docs/verify.md): /verify, the certificate pages, QR document registration. */
function publicPortalRouters(w: Wiring, parts: Parts): Router<AppState>[] {
  const { config, secrets, clock } = w;
  const { certificates } = parts.pki;
  return [
    verifyRouter({
      validator: parts.validation.validator,
      publicOrigin: new URL(config.server.publicUrl).origin,
      secret: secrets.csrfSecret,
      maxBytes: config.verify.maxBytes,
      uploadsPerMinute: config.verify.uploadsPerMinute,
      documents: parts.documents,
      reportSigner: () => reportSigningKey(certificates),
      serviceName: config.server.publicUrl,
      now: () => clock.now(),
    }),
    certificatePagesRouter({ certificates, now: () => clock.now() }),
    documentsRouter({ documents: parts.documents, verifier: parts.identity.apiTokens }),
  ];
}

/** The newest active validation-report signer of the newest issuing CA, with its key (docs/verify.md). */
async function reportSigningKey(certificates: Certificates['certificates']): Promise<ReportSigningKey | null> {
  const issuers = await certificates.ca.issuers();
  const signer = issuers.filter((i) => i.role === 'report-signer' && i.status === 'active' && i.certificate && i.keyUri).at(-1);
  const parent = signer && issuers.find((i) => i.id === signer.parentId && i.certificate);
  if (!signer || !parent) return null;
  const key = await certificates.ca.key(signer.keyUri!);
  return { privateKey: key.privateKey, crypto: key.crypto, certificates: [new Uint8Array(signer.certificate!), new Uint8Array(parent.certificate!)] };
}

/** The latest registrations and deletions of an account's login credentials, for its page. */
const CREDENTIAL_ACTIONS = ['passkey.register', 'passkey.delete', 'account.certificate_register', 'account.certificate_remove', 'account.password_set', 'account.password_change', 'account.enrolment_code_issue'];
async function credentialHistory(audit: AuditService, accountId: string) {
  const events = await audit.list({ target: `account:${accountId}`, limit: 100 });
  return events
    .filter((e) => CREDENTIAL_ACTIONS.includes(e.action))
    .slice(0, 10)
    .map((e) => ({ at: e.occurredAt, action: e.action, basis: typeof e.details.basis === 'string' ? e.details.basis : null }));
}
