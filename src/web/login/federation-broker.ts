import type { Provider } from 'oidc-provider';
import type { AppContext } from '../context.js';
import type { Logger } from '../../logging/logger.js';
import type { PasswordLoginResult } from '../../accounts/account-service.js';
import type { FederatedAccountService } from '../../accounts/federated-accounts.js';
import type { UpstreamIdentity } from '../../../oidc/federation/claim-mapping.js';
import type { Account } from '../../../oidc/account.js';
import { pickLanguage, t, type Language, type MessageKey } from '../locales/messages.js';
import { federationErrorPage } from '../views/pages.js';
import { sendPage } from '../views/html.js';
import { formGuard, type FormGuard } from '../middleware/koa-form-guard.js';
import { UpstreamClient, type PendingChecks } from '../../../oidc/federation/upstream-client.js';
import { upstreamName, type Upstream } from '../../../oidc/federation/upstreams.js';
import { Sealer } from './federation-sealer.js';

export interface FederationDeps {
  provider(): Provider;
  publicUrl: string;
  /** The installation's CSRF secret: seals the federation cookies and signs the link form. */
  csrfSecret: Buffer;
  upstreams: readonly Upstream[];
  timeoutMs: number;
  federated: FederatedAccountService;
  loginWithPassword(input: { login: string; password: string; ip: string; clientId?: string }): Promise<PasswordLoginResult>;
  findAccount(id: string): Promise<Account | null>;
  log: Logger;
  now(): Date;
}

/** The pending brokered login, sealed in a cookie while the person is at the upstream. */
export interface PendingLogin extends PendingChecks {
  uid: string;
  upstream: string;
  exp: number;
}

/** An upstream identity that waits for an official to confirm with their password. */
export interface PendingLink {
  uid: string;
  identity: UpstreamIdentity;
  officialId: string;
  acr: string;
  exp: number;
}

export const PENDING_COOKIE = 'tinnhiem_fed';
export const LINK_COOKIE = 'tinnhiem_fed_link';
export const PENDING_TTL_MS = 10 * 60_000;

export const federationCallbackPath = (upstreamId: string) => `/federation/${upstreamId}/callback`;
export const federationLoggedOutPath = (upstreamId: string) => `/federation/${upstreamId}/logged-out`;
/** The last federation error page, again in the other language (its content sealed in a cookie). */
export const FEDERATION_ERROR_PATH = '/federation/error';
export const FEDERATION_ERROR_COOKIE = 'tinnhiem_fed_error';
const ERROR_PAGE_TTL_MS = 15 * 60 * 1000;

/** What a federation error page says, language aside: sealed so the language switch can show it again. */
export interface SealedErrorPage {
  exp: number;
  status: number;
  upstream: string;
  messageKey: MessageKey;
  vars: Record<string, string>;
  returnHref?: string;
  clientName?: string;
  requestId?: string;
}

/** The OAuth error the portal gets when a brokered login fails (RFC 6749 §4.1.2.1). */
export type OAuthFailure = {
  error: string;
  error_description: string;
};

/** What the federation routes share. */
export interface Broker {
  deps: FederationDeps;
  clients: ReadonlyMap<string, UpstreamClient>;
  pendingSealer: Sealer;
  linkSealer: Sealer;
  logoutSealer: Sealer;
  /** The link form's guard (purpose `federation-link`, bound to the interaction). */
  guard: FormGuard;
  label(id: string, lang: Language): string;
  errorSealer: Sealer;
  /** Renders a federation error page in `lang`, with a language switch. */
  renderError(ctx: AppContext, lang: Language, page: SealedErrorPage): void;
  clientName(clientId: unknown): Promise<string>;
  /** The upstream's page saying a brokered login cannot go on (no interaction to end). */
  sendError(ctx: AppContext, status: number, upstreamId: string, messageKey: MessageKey): void;
  /** Ends the interaction with an OAuth error for the portal and shows the person why. */
  fail(ctx: AppContext, status: number, upstreamId: string, uid: string | null, messageKey: MessageKey, oauth: OAuthFailure, vars?: Record<string, string>): Promise<void>;
}

export function createBroker(deps: FederationDeps): Broker {
  const clients = new Map(deps.upstreams.map((u) => [u.id, new UpstreamClient(u, `${deps.publicUrl}${federationCallbackPath(u.id)}`, deps.timeoutMs)]));
  const label = (id: string, lang: Language) => {
    const upstream = deps.upstreams.find((u) => u.id === id);
    return upstream ? upstreamName(upstream, lang) : id;
  };
  async function clientName(clientId: unknown): Promise<string> {
    const client = await deps.provider().Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
  }
  const errorSealer = new Sealer(deps.csrfSecret, 'error-page');
  function renderError(ctx: AppContext, lang: Language, page: SealedErrorPage) {
    const upstream = label(page.upstream, lang);
    const message = t(lang, page.messageKey, { upstream, client: page.clientName ?? '', ...page.vars });
    sendPage(ctx, page.status, federationErrorPage({ lang, upstream, message, returnHref: page.returnHref, clientName: page.clientName, requestId: page.requestId, switchHref: FEDERATION_ERROR_PATH }));
  }
  /** The page, and its content sealed for the language switch (a callback URL cannot be loaded twice). */
  function showError(ctx: AppContext, page: SealedErrorPage) {
    ctx.cookies.set(FEDERATION_ERROR_COOKIE, errorSealer.seal(page), { path: FEDERATION_ERROR_PATH, httpOnly: true, sameSite: 'lax', maxAge: ERROR_PAGE_TTL_MS, signed: false });
    renderError(ctx, pickLanguage(ctx), page);
  }
  return {
    deps,
    clients,
    pendingSealer: new Sealer(deps.csrfSecret, 'pending-login'),
    linkSealer: new Sealer(deps.csrfSecret, 'pending-link'),
    logoutSealer: new Sealer(deps.csrfSecret, 'logout'),
    guard: formGuard({ publicOrigin: new URL(deps.publicUrl).origin, secret: deps.csrfSecret, purpose: 'federation-link' }),
    label,
    clientName,
    errorSealer,
    renderError,
    sendError(ctx, status, upstreamId, messageKey) {
      showError(ctx, { exp: deps.now().getTime() + ERROR_PAGE_TTL_MS, status, upstream: upstreamId, messageKey, vars: {}, requestId: ctx.state.requestId });
    },
    async fail(ctx, status, upstreamId, uid, messageKey, oauth, vars = {}) {
      let returnHref: string | undefined;
      let name: string | undefined;
      if (uid) {
        const interaction = await deps.provider().Interaction.find(uid);
        if (interaction && !interaction.result) {
          interaction.result = oauth;
          await interaction.persist();
          returnHref = interaction.returnTo;
          name = await clientName(interaction.params.client_id);
        }
      }
      ctx.state.log.warn({ upstream: upstreamId, error: oauth.error, reason: oauth.error_description }, 'brokered login failed');
      showError(ctx, { exp: deps.now().getTime() + ERROR_PAGE_TTL_MS, status, upstream: upstreamId, messageKey, vars, returnHref, clientName: name, requestId: ctx.state.requestId });
    },
  };
}
