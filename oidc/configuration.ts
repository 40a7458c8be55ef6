import type { Configuration, KoaContextWithOIDC, Adapter, Account as OidcAccount } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from '../src/config/schema.js';
import type { Account } from './account.js';
import { accountClaims } from './account-claims.js';
import { ACR_ORDER, API_SCOPES, CLAIMS_BY_SCOPE, OIDC_SCOPES } from './scopes.js';
import { loggedOutPage, logoutPage, errorPage } from '../src/web/views/pages.js';
import { PAGE_CSP } from '../src/web/views/html.js';
import { pickLanguage } from '../src/web/locales/messages.js';
import { grantForFirstParty } from './grants.js';
import { interactionPolicyWithStepUp } from './step-up.js';
import { accountPageClient } from './clients/account-client.js';
import { adminConsoleClient } from './clients/admin-client.js';

export interface ProviderDeps {
  config: Config;
  jwks: JWK[];
  cookieKeys: string[];
  adapter: new (model: string) => Adapter;
  findAccount(id: string): Promise<Account | null>;
}

/** The API's resource indicator (RFC 8707): access tokens for it are JWTs (RFC 9068). */
export const apiResource = (config: Config) => `${config.server.publicUrl}/api`;

export function providerConfiguration(deps: ProviderDeps): Configuration {
  const { config } = deps;
  const api = apiResource(config);
  const ttl = config.oidc;

  return {
    adapter: deps.adapter,
    // The account page (passkeys) is the provider's own first-party client: response type
    // `none` signs the person in and returns no code or token (nothing to redeem or leak).
    clients: [accountPageClient(config), adminConsoleClient(config)],
    jwks: { keys: deps.jwks as never },
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    // API scopes are not OIDC scopes: they exist only for the API resource (getResourceServerInfo).
    scopes: OIDC_SCOPES,
    // `acr` and `amr` (RFC 8176) ride with `openid`, so every ID token says how the user logged
    // in: oidc-provider releases a claim that no scope names only when the RP asks for it
    // (acr_values or the claims parameter), and portals decide on the level from these two.
    claims: {
      ...Object.fromEntries(Object.entries(CLAIMS_BY_SCOPE).map(([s, c]) => [s, [...c]])),
      openid: [...CLAIMS_BY_SCOPE.openid, 'acr', 'amr'],
      sid: null,
      auth_time: null,
    },
    acrValues: [...ACR_ORDER],
    responseTypes: ['code', 'none'],
    extraClientMetadata: { properties: ['first_party', 'api_scopes'] },
    pkce: {
      // PKCE (S256, the only method oidc-provider accepts) is required of public clients.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    // Exact redirect URI matching is oidc-provider's default; never relax it.
    allowOmittingSingleRegisteredRedirectUri: false,
    ttl: {
      AccessToken: ttl.accessTokenTtlSeconds,
      ClientCredentials: ttl.accessTokenTtlSeconds,
      IdToken: ttl.idTokenTtlSeconds,
      AuthorizationCode: 60,
      Interaction: 30 * 60,
      RefreshToken: ttl.refreshTokenTtlSeconds,
      Session: ttl.sessionTtlSeconds,
      Grant: ttl.refreshTokenTtlSeconds,
    },
    rotateRefreshToken: true,
    // RFC 9068 §2.2.1: a person's access token says how they authenticated (acr, amr, auth_time),
    // so the API can ask for step-up itself (RFC 9470). Taken from the code or refresh token the
    // access token is minted from, which carry the session's login at the time.
    async extraTokenClaims(ctx, token) {
      if (!('accountId' in token) || !token.accountId) return undefined;
      const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { acr?: string; amr?: string[]; authTime?: number } | undefined;
      if (!source?.acr) return undefined;
      return { acr: source.acr, amr: source.amr, auth_time: typeof source.authTime === 'number' ? source.authTime : undefined };
    },
    async findAccount(_ctx, sub): Promise<OidcAccount | undefined> {
      const account = await deps.findAccount(sub);
      if (!account || account.status !== 'active') return undefined;
      const claims = accountClaims(account);
      return { accountId: account.id, claims: async () => claims as never };
    },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) {
        const grant = await ctx.oidc.provider.Grant.find(grantId);
        if (grant) return grant;
      }
      // First-party portals of the province skip consent (their use is the province's own).
      if ((ctx.oidc.client as unknown as { first_party?: boolean })?.first_party) {
        const account = await deps.findAccount(ctx.oidc.session!.accountId!);
        if (account) return grantForFirstParty(ctx, account, api);
      }
      return undefined;
    },
    // oidc-provider refuses outgoing connections to special-use addresses (loopback, RFC 1918,
    // …) to stop server-side request forgery through URLs that clients register themselves. Here
    // only administrators register clients (no dynamic registration), and the province's portals
    // sit on its private network: with the guard, back-channel logout (and private_key_jwt's
    // jwks_uri) could never reach them. oidc-provider still bounds each request to 2.5 s.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
    interactions: { policy: interactionPolicyWithStepUp(deps.findAccount, api), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        // A client may introspect only tokens issued to it.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.set('Content-Security-Policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = logoutPage({ lang: pickLanguage(ctx), form });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.set('Content-Security-Policy', PAGE_CSP);
          ctx.type = 'html';
          ctx.body = loggedOutPage({ lang: pickLanguage(ctx), clientName: ctx.oidc.client?.clientName });
        },
      },
      resourceIndicators: {
        enabled: true,
        // Machine clients get API tokens without naming the resource; logins get an opaque
        // token for userinfo unless the portal asks for the API (resource=…/api).
        defaultResource: async (ctx, _client, oneOf) => oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? api : undefined),
        useGrantedResource: async () => false,
        async getResourceServerInfo(_ctx, resourceIndicator, client) {
          if (resourceIndicator !== api) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          // The client's registered API scopes bound what any token for it can carry.
          const registered = String((client as unknown as { api_scopes?: string }).api_scopes ?? '').split(' ');
          const scope = API_SCOPES.filter((s) => registered.includes(s)).join(' ');
          if (!scope) throw new errors.InvalidTarget('this client is not registered for the API');
          return {
            scope,
            audience: api,
            accessTokenTTL: ttl.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // Browsers may call the token and userinfo endpoints only from a registered redirect origin.
    clientBasedCORS(_ctx, origin, client) {
      return (client.redirectUris ?? []).some((uri: string) => URL.canParse(uri) && new URL(uri).origin === origin);
    },
    async renderError(ctx: KoaContextWithOIDC, out, error) {
      const lang = pickLanguage(ctx);
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.type = 'html';
      const details: Array<[string, string]> = Object.entries(out).map(([k, v]) => [k, String(v)]);
      ctx.body = errorPage({ lang, details, requestId: (ctx.state as { requestId?: string }).requestId });
      void error;
    },
  };
}
