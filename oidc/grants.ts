import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from './account.js';
import { SCOPES_BY_ROLE, API_SCOPES, CLAIMS_BY_SCOPE } from './scopes.js';

/**
 * API scopes an account may be granted through a login: those of its roles. A portal asking for
 * more does not get them (least privilege): they are recorded as rejected in the grant, so the
 * user is not asked again, and the token's `scope` says what was granted.
 */
export function allowedApiScopes(account: Account): Set<string> {
  const allowed = new Set<string>();
  if (account.status !== 'active') return allowed;
  for (const role of account.roles) for (const s of SCOPES_BY_ROLE[role] ?? []) allowed.add(s);
  return allowed;
}

/** Claims every login may carry whatever the scopes (how and when the person authenticated). */
const ALWAYS_RELEASED = new Set(['sub', 'acr', 'amr', 'auth_time', 'sid']);

/**
 * The claims of a `claims` request parameter (OIDC Core §5.5) that the client may have: those of
 * the scopes it is registered for. Without this, a portal registered for `profile` only could ask
 * for `vn_national_id` by name.
 */
export function claimsWithinClientScope(claims: readonly string[], clientScope: string | undefined): string[] {
  const scopes = new Set(String(clientScope ?? '').split(' '));
  const allowed = new Set<string>(ALWAYS_RELEASED);
  for (const [scope, released] of Object.entries(CLAIMS_BY_SCOPE)) if (scopes.has(scope)) for (const c of released) allowed.add(c);
  return claims.filter((c) => allowed.has(c));
}

export interface RequestedAccess {
  oidcScopes: string[];
  claims: string[];
  /** Resource indicator → requested scopes. */
  resourceScopes: Record<string, string[]>;
  /** The client's registered OIDC scopes: requested claims beyond them are rejected in the grant. */
  clientScope?: string;
}

/** Adds what was requested to the grant, within the account's policy for the API resource. */
export function applyRequestedAccess(grant: Grant, requested: RequestedAccess, account: Account, apiResource: string): { granted: string[]; rejected: string[] } {
  if (requested.oidcScopes.length) grant.addOIDCScope(requested.oidcScopes.join(' '));
  const claims = claimsWithinClientScope(requested.claims, requested.clientScope);
  const refusedClaims = requested.claims.filter((c) => !claims.includes(c));
  if (claims.length) grant.addOIDCClaims(claims);
  // Recorded as rejected, so the consent prompt does not ask for them again (and again).
  if (refusedClaims.length) grant.rejectOIDCClaims(refusedClaims);
  const allowed = allowedApiScopes(account);
  const granted: string[] = [];
  const rejected: string[] = [];
  for (const [indicator, scopes] of Object.entries(requested.resourceScopes)) {
    if (indicator !== apiResource) continue;
    for (const s of scopes) ((API_SCOPES as readonly string[]).includes(s) && allowed.has(s) ? granted : rejected).push(s);
    if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
    if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(' '));
  }
  return { granted, rejected };
}

/**
 * The grant a first-party portal gets without a consent page: what it asked for, within policy.
 * An existing grant (an earlier login of this session) is extended the same way, so a later
 * request for more (the console's administration scopes after a step-up) asks no consent either.
 */
export async function grantForFirstParty(ctx: KoaContextWithOIDC, account: Account, apiResource: string, existing?: Grant): Promise<Grant> {
  const { Grant: GrantModel } = ctx.oidc.provider;
  const grant = existing ?? new GrantModel({ accountId: account.id, clientId: ctx.oidc.client!.clientId });
  const snapshot = () => JSON.stringify([grant.openid, grant.resources, grant.rejected]);
  const before = existing ? snapshot() : '';
  const requested = [...(ctx.oidc.requestParamScopes ?? new Set<string>())];
  const resourceScopes: Record<string, string[]> = {};
  for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
    resourceScopes[indicator] = requested.filter((s) => (server as { scopes: Set<string> }).scopes.has(s));
  }
  applyRequestedAccess(
    grant,
    { oidcScopes: [...(ctx.oidc.requestParamOIDCScopes ?? [])], claims: [...(ctx.oidc.requestParamClaims ?? [])], resourceScopes, clientScope: ctx.oidc.client!.scope },
    account,
    apiResource,
  );
  // An existing grant that already covers the request is not written again (a login stays one read).
  if (!existing || snapshot() !== before) await grant.save();
  return grant;
}
