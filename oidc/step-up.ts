import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from './account.js';
import { allowedApiScopes } from './grants.js';
import { ACR, HIGH_ACR_SCOPES, acrAtLeast } from './scopes.js';

export const STEP_UP_REASON = 'step_up';


/**
 * The API scopes of this authorization request that need a high `acr`, restricted to those the
 * account's roles allow (the others are rejected in the grant anyway, so they ask for nothing).
 */
export function scopesNeedingHighAcr(ctx: KoaContextWithOIDC, account: Account | null, apiResource: string): string[] {
  if (!account || !Object.keys(ctx.oidc.resourceServers ?? {}).includes(apiResource)) return [];
  const allowed = allowedApiScopes(account);
  return [...ctx.oidc.requestParamScopes].filter((s) => (HIGH_ACR_SCOPES as readonly string[]).includes(s) && allowed.has(s));
}

/**
 * oidc-provider's default prompts with one more login check: a request for an administration
 * scope (admin, certs:approve, certs:revoke) from a session below high assurance asks for a new
 * login with a stronger factor (step-up) instead of failing or silently dropping the scope. The
 * interaction then carries the reason `step_up`; a passkey or a certificate satisfies it.
 */
export function interactionPolicyWithStepUp(findAccount: (id: string) => Promise<Account | null>, apiResource: string): interactionPolicy.DefaultPolicy {
  const { Check, base } = interactionPolicy;
  const policy = base();
  // A session whose account was disabled is no login at all: ask for one (disabling also ends the
  // sessions; this covers a session that survived, and never lets the consent checks run without
  // an account, which made oidc-provider fail with a TypeError).
  policy.get('login')!.checks.add(
    new Check('account_disabled', 'the account of this session is disabled', 'login_required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId) return Check.NO_NEED_TO_PROMPT;
      const account = await findAccount(accountId);
      return account?.status === 'active' ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  policy.get('login')!.checks.add(
    new Check(
      STEP_UP_REASON,
      'the requested scopes need a stronger authentication (high acr)',
      'login_required',
      async (ctx) => {
        const session = ctx.oidc.session;
        if (!session?.accountId || acrAtLeast(session.acr, ACR.high)) return Check.NO_NEED_TO_PROMPT;
        const account = await findAccount(session.accountId);
        return scopesNeedingHighAcr(ctx, account, apiResource).length ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      },
      async (ctx) => {
        const accountId = ctx.oidc.session?.accountId;
        return { acr: ACR.high, scopes: scopesNeedingHighAcr(ctx, accountId ? await findAccount(accountId) : null, apiResource) };
      },
    ),
  );
  return policy;
}
