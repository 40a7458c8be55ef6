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
import type { Upstream } from '../../../oidc/federation/upstreams.js';
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
  clientName(clientId: unknown): Promise<string>;
  /** The upstream's page saying a brokered login cannot go on (no interaction to end). */
  sendError(ctx: AppContext, status: number, upstreamId: string, messageKey: MessageKey): void;
  /** Ends the interaction with an OAuth error for the portal and shows the person why. */
  fail(ctx: AppContext, status: number, upstreamId: string, uid: string | null, messageKey: MessageKey, oauth: OAuthFailure, vars?: Record<string, string>): Promise<void>;
}

export function createBroker(deps: FederationDeps): Broker {
  const clients = new Map(deps.upstreams.map((u) => [u.id, new UpstreamClient(u, `${deps.publicUrl}${federationCallbackPath(u.id)}`, deps.timeoutMs)]));
  const label = (id: string, lang: Language) => deps.upstreams.find((u) => u.id === id)?.label[lang] ?? id;
  async function clientName(clientId: unknown): Promise<string> {
    const client = await deps.provider().Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
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
    sendError(ctx, status, upstreamId, messageKey) {
      const lang = pickLanguage(ctx);
      sendPage(ctx, status, federationErrorPage({ lang, upstream: label(upstreamId, lang), message: t(lang, messageKey), requestId: ctx.state.requestId }));
    },
    async fail(ctx, status, upstreamId, uid, messageKey, oauth, vars = {}) {
      const lang = pickLanguage(ctx);
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
      const message = t(lang, messageKey, { upstream: label(upstreamId, lang), client: name ?? '', ...vars });
      sendPage(ctx, status, federationErrorPage({ lang, upstream: label(upstreamId, lang), message, returnHref, clientName: name, requestId: ctx.state.requestId }));
    },
  };
}
