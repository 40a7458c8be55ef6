import type { Account as OidcAccount, Configuration } from 'oidc-provider';
import { accountClaims } from './account-claims.js';
import { grantForFirstParty } from './grants.js';
import type { FindAccount } from './ports.js';

type Callback<K extends keyof Configuration> = NonNullable<Configuration[K]>;

/**
 * RFC 9068 §2.2.1: a person's access token says how they authenticated (acr, amr, auth_time), so
 * the API can ask for step-up itself (RFC 9470). Taken from the code or refresh token the access
 * token is minted from, which carry the session's login at the time.
 */
export const extraTokenClaims: Callback<'extraTokenClaims'> = async (ctx, token) => {
  if (!('accountId' in token) || !token.accountId) return undefined;
  // The grant the token was minted from: revoking the grant (a refresh token's revocation, a
  // logout) refuses its API tokens too (docs/identity.md, "Revoking API tokens").
  const forApi = 'resourceServer' in token && !!token.resourceServer;
  const grantId = forApi && 'grantId' in token && typeof token.grantId === 'string' ? { grant_id: token.grantId } : {};
  const source = (ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken) as { acr?: string; amr?: string[]; authTime?: number } | undefined;
  if (!source?.acr) return Object.keys(grantId).length ? grantId : undefined;
  return { ...grantId, acr: source.acr, amr: source.amr, auth_time: typeof source.authTime === 'number' ? source.authTime : undefined };
};

/** The `sub` of a token or session as oidc-provider's Account: active accounts only. */
export function findAccountCallback(findAccount: FindAccount): Callback<'findAccount'> {
  return async (_ctx, sub): Promise<OidcAccount | undefined> => {
    const account = await findAccount(sub);
    if (!account || account.status !== 'active') return undefined;
    const claims = accountClaims(account);
    return { accountId: account.id, claims: async () => claims };
  };
}

/** The session's grant for the client, or a new one without consent for a first-party portal. */
export function loadExistingGrantCallback(findAccount: FindAccount, apiResource: string): Callback<'loadExistingGrant'> {
  return async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
    const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    // First-party portals of the province skip consent (their use is the province's own), also
    // when they ask for more than the session's grant holds; consent given on the page stays as given.
    const firstParty = (ctx.oidc.client as unknown as { first_party?: boolean })?.first_party;
    if (firstParty && !ctx.oidc.result?.consent?.grantId) {
      const account = await findAccount(ctx.oidc.session!.accountId!);
      if (account) return grantForFirstParty(ctx, account, apiResource, grant);
    }
    return grant;
  };
}

/**
 * oidc-provider refuses outgoing connections to special-use addresses (loopback, RFC 1918, …) to
 * stop server-side request forgery through URLs that clients register themselves. Here only
 * administrators register clients (no dynamic registration), and the province's portals sit on
 * its private network: with the guard, back-channel logout (and private_key_jwt's jwks_uri) could
 * never reach them. oidc-provider still bounds each request to 2.5 s.
 */
export const fetchWithoutSsrfGuard: Callback<'fetch'> = (url, options) => {
  const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown };
  return globalThis.fetch(url, rest);
};

/** Browsers may call the token and userinfo endpoints only from a registered redirect origin. */
export const clientBasedCORS: Callback<'clientBasedCORS'> = (_ctx, origin, client) =>
  (client.redirectUris ?? []).some((uri: string) => URL.canParse(uri) && new URL(uri).origin === origin);
