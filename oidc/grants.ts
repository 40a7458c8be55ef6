import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from './account.js';
import { SCOPES_BY_ROLE, API_SCOPES } from './scopes.js';

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

export interface RequestedAccess {
  oidcScopes: string[];
  claims: string[];
  /** Resource indicator → requested scopes. */
  resourceScopes: Record<string, string[]>;
}

/** Adds what was requested to the grant, within the account's policy for the API resource. */
export function applyRequestedAccess(grant: Grant, requested: RequestedAccess, account: Account, apiResource: string): { granted: string[]; rejected: string[] } {
  if (requested.oidcScopes.length) grant.addOIDCScope(requested.oidcScopes.join(' '));
  if (requested.claims.length) grant.addOIDCClaims(requested.claims);
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

/** The grant a first-party portal gets without a consent page: what it asked for, within policy. */
export async function grantForFirstParty(ctx: KoaContextWithOIDC, account: Account, apiResource: string): Promise<Grant> {
  const { Grant: GrantModel } = ctx.oidc.provider;
  const grant = new GrantModel({ accountId: account.id, clientId: ctx.oidc.client!.clientId });
  const requested = [...(ctx.oidc.requestParamScopes ?? new Set<string>())];
  const resourceScopes: Record<string, string[]> = {};
  for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
    resourceScopes[indicator] = requested.filter((s) => (server as { scopes: Set<string> }).scopes.has(s));
  }
  applyRequestedAccess(
    grant,
    { oidcScopes: [...(ctx.oidc.requestParamOIDCScopes ?? [])], claims: [...(ctx.oidc.requestParamClaims ?? [])], resourceScopes },
    account,
    apiResource,
  );
  await grant.save();
  return grant;
}
