import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from './account.js';
import { allowedApiScopes } from './grants.js';
import { ACR, ACR_ORDER, HIGH_ACR_SCOPES, acrAtLeast } from './scopes.js';

export const STEP_UP_REASON = 'step_up';
/** A step-up asked by the portal itself: an essential `acr` (docs/identity.md, "Authentication levels"). */
export const ACR_STEP_UP_REASON = 'acr_step_up';

/** Whether a login prompt asks for a stronger factor than the session's (a password cannot answer it). */
export const isStepUp = (reasons: readonly string[]) => reasons.includes(STEP_UP_REASON) || reasons.includes(ACR_STEP_UP_REASON);

/**
 * The level this request makes essential, as the lowest of our levels it names (a higher one
 * satisfies it too), or undefined when it makes none essential:
 * - `claims={"id_token":{"acr":{"essential":true,"values":[…]}}}` (or `"value"`), OIDC Core §5.5.1.1;
 * - `acr_values`, voluntary in OIDC Core §3.1.2.1, is essential for a client registered with
 *   `acr_values_essential` (our policy).
 * Levels that are all foreign to us cannot be met: unmet_authentication_requirements (§3.1.2.6).
 */
export function requiredAcr(ctx: KoaContextWithOIDC): string | undefined {
  const claim = (ctx.oidc.claims as { id_token?: { acr?: { essential?: boolean; values?: unknown; value?: unknown } } } | undefined)?.id_token?.acr;
  let asked: unknown[] = [];
  if (claim?.essential) {
    if (claim.values !== undefined && !Array.isArray(claim.values)) throw new errors.InvalidRequest('invalid claims.id_token.acr.values type');
    asked = claim.values ?? (claim.value !== undefined ? [claim.value] : []);
  } else if ((ctx.oidc.client as unknown as { acr_values_essential?: boolean } | undefined)?.acr_values_essential && typeof ctx.oidc.params?.acr_values === 'string') {
    asked = ctx.oidc.params.acr_values.split(' ');
  }
  if (!asked.length) return undefined;
  const known = ACR_ORDER.filter((level) => asked.includes(level));
  if (!known.length) throw new errors.UnmetAuthenticationRequirements('none of the requested authentication context classes is offered');
  return known[0];
}


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
  // oidc-provider's own checks want the session's acr to be one of the values exactly, and ask for
  // a login that a password answers again and again: ours (below) ask for a step-up instead.
  policy.get('login')!.checks.remove('essential_acrs');
  policy.get('login')!.checks.remove('essential_acr');
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
  policy.get('login')!.checks.add(
    new Check(
      ACR_STEP_UP_REASON,
      'the requested authentication context class needs a stronger authentication',
      'login_required',
      (ctx) => {
        const required = requiredAcr(ctx);
        const session = ctx.oidc.session;
        // No session yet: the no_session check asks for the login, and this one for what follows.
        if (!required || !session?.accountId || acrAtLeast(session.acr, required)) return Check.NO_NEED_TO_PROMPT;
        return Check.REQUEST_PROMPT;
      },
      (ctx) => ({ acr: requiredAcr(ctx), scopes: [] }),
    ),
  );
  return policy;
}
