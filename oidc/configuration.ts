import type { Adapter, Configuration, JWK } from 'oidc-provider';
import { ACR_ORDER, CLAIMS_BY_SCOPE, OIDC_SCOPES } from './scopes.js';
import { interactionPolicyWithStepUp } from './step-up.js';
import { accountPageClient } from './clients/account-client.js';
import { adminConsoleClient } from './clients/admin-client.js';
import { clientBasedCORS, extraTokenClaims, fetchWithoutSsrfGuard, findAccountCallback, loadExistingGrantCallback } from './callbacks.js';
import { features } from './features.js';
import { cookieSigner } from './cookie-keys.js';
import type { FindAccount, ProviderPages } from './ports.js';
import { apiResource, type OidcSettings } from './settings.js';

export interface ProviderDeps {
  settings: OidcSettings;
  /** Private JWKs in the order oidc-provider should prefer them (oidc/keys/signing-keys.ts). */
  jwks: JWK[];
  cookieKeys: string[];
  adapter: new (model: string) => Adapter;
  findAccount: FindAccount;
  /** The provider renders no pages: the host does (src/web/views/provider-pages.ts). */
  pages: ProviderPages;
}

/** oidc-provider's configuration, assembled from the builders below and in callbacks.ts and features.ts. */
export function providerConfiguration(deps: ProviderDeps): Configuration {
  const { settings, pages } = deps;
  const api = apiResource(settings);
  return {
    adapter: deps.adapter,
    // The account page (passkeys) is the provider's own first-party client: response type
    // `none` signs the person in and returns no code or token (nothing to redeem or leak).
    clients: [accountPageClient(settings), adminConsoleClient(settings)],
    jwks: { keys: deps.jwks },
    cookies: cookies(deps.cookieKeys),
    // API scopes are not OIDC scopes: they exist only for the API resource (getResourceServerInfo).
    scopes: OIDC_SCOPES,
    claims: claims(),
    acrValues: [...ACR_ORDER],
    responseTypes: ['code', 'none'],
    extraClientMetadata: { properties: ['first_party', 'api_scopes', 'acr_values_essential'] },
    pkce: {
      // PKCE (S256, the only method oidc-provider accepts) is required of public clients.
      required: (_ctx, client) => client.clientAuthMethod === 'none',
    },
    // Exact redirect URI matching is oidc-provider's default; never relax it.
    allowOmittingSingleRegisteredRedirectUri: false,
    ttl: ttl(settings),
    rotateRefreshToken: true,
    extraTokenClaims,
    findAccount: findAccountCallback(deps.findAccount),
    loadExistingGrant: loadExistingGrantCallback(deps.findAccount, api),
    fetch: fetchWithoutSsrfGuard,
    interactions: { policy: interactionPolicyWithStepUp(deps.findAccount, api), url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // The API's tokens are signed with the first ES256 key of `jwks` (the active one), the key
    // oidc-provider's own choice picks when it is not named (its key store's order, stable).
    features: features(settings, pages, deps.jwks.find((k) => k.alg === 'ES256' && typeof k.kid === 'string')?.kid),
    clientBasedCORS,
    renderError: (ctx, out, error) => pages.renderError(ctx, out, error),
  };
}

function cookies(keys: string[]): Configuration['cookies'] {
  return {
    // Keygrip's signatures, made without its per-call key import and double-HMAC comparison (oidc/cookie-keys.ts).
    keys: cookieSigner(keys),
    long: { httpOnly: true, sameSite: 'lax', signed: true },
    short: { httpOnly: true, sameSite: 'lax', signed: true },
  };
}

/**
 * Claims by scope (oidc/scopes.ts). `acr` and `amr` (RFC 8176) ride with `openid`, so every ID
 * token says how the user logged in: oidc-provider releases a claim that no scope names only when
 * the RP asks for it (acr_values or the claims parameter), and portals decide on the level from
 * these two.
 */
function claims(): Configuration['claims'] {
  return {
    ...Object.fromEntries(Object.entries(CLAIMS_BY_SCOPE).map(([s, c]) => [s, [...c]])),
    openid: [...CLAIMS_BY_SCOPE.openid, 'acr', 'amr'],
    sid: null,
    auth_time: null,
  };
}

function ttl(settings: OidcSettings): Configuration['ttl'] {
  return {
    AccessToken: settings.accessTokenTtlSeconds,
    ClientCredentials: settings.accessTokenTtlSeconds,
    IdToken: settings.idTokenTtlSeconds,
    AuthorizationCode: 60,
    Interaction: 30 * 60,
    RefreshToken: settings.refreshTokenTtlSeconds,
    Session: settings.sessionTtlSeconds,
    Grant: settings.refreshTokenTtlSeconds,
  };
}
