import Router from '@koa/router';
import type { Interaction } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { UpstreamIdentity } from '../../../oidc/federation/claim-mapping.js';
import { pickLanguage } from '../locales/messages.js';
import type { LoginMethodLink } from '../views/pages.js';
import { sendErrorPage } from '../views/error-page.js';
import { sameToken } from '../middleware/koa-form-guard.js';
import { interactionOrExpired } from './interaction-session.js';
import { UpstreamFailure, type UpstreamClient } from '../../../oidc/federation/upstream-client.js';
import { assuranceOf, acrRank, requiredAcr, upstreamAcrValues } from '../../../oidc/federation/upstreams.js';
import { mapClaims, UnmappableClaims } from '../../../oidc/federation/claim-mapping.js';
import { confirmLink, showLinkForm } from './federation-link.js';
import {
  createBroker,
  federationCallbackPath,
  federationLoggedOutPath,
  FEDERATION_ERROR_COOKIE,
  FEDERATION_ERROR_PATH,
  LINK_COOKIE,
  PENDING_COOKIE,
  PENDING_TTL_MS,
  type Broker,
  type FederationDeps,
  type PendingLink,
  type PendingLogin,
  type SealedErrorPage,
} from './federation-broker.js';

export { federationCallbackPath, federationLoggedOutPath, type FederationDeps };

const space = (v: unknown) => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

function upstreamOf(b: Broker, ctx: AppContext): UpstreamClient {
  const upstream = b.clients.get(ctx.params.upstream);
  if (!upstream) throw new AppError('notFound', `no upstream identity provider ${ctx.params.upstream}`);
  return upstream;
}

/** Start: the person chose "log in with <upstream>" on our login page. */
const startBrokeredLogin = (b: Broker) =>
  async function startBrokeredLogin(ctx: AppContext) {
    const upstream = upstreamOf(b, ctx);
    const d = await interactionOrExpired(ctx, b.deps.provider, { lang: pickLanguage(ctx), loginOnly: true });
    if (!d) return;
    let start;
    try {
      start = await upstream.authorizationUrl(upstreamAcrValues(upstream.upstream, space(d.params.acr_values)));
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('unavailable', String(err));
      return b.fail(ctx, 502, upstream.id, d.uid, `federation.error.${failure.reason}`, { error: 'temporarily_unavailable', error_description: `${upstream.id}: ${failure.message}` });
    }
    const pending: PendingLogin = { uid: d.uid, upstream: upstream.id, ...start.checks, exp: b.deps.now().getTime() + PENDING_TTL_MS };
    // Lax: the upstream's redirect back is a top-level GET navigation from another site. Secure
    // whenever the request came over TLS (behind a proxy: TRUST_PROXY and X-Forwarded-Proto).
    ctx.cookies.set(PENDING_COOKIE, b.pendingSealer.seal(pending), { path: `/federation/${upstream.id}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: PENDING_TTL_MS, overwrite: true });
    ctx.redirect(start.url.toString());
    ctx.status = 303;
  };

/**
 * The pending login this browser sealed before it went up, used once; null once the refusal is
 * shown. RFC 6749 §10.12: the state must be the one this browser sent up. Without it (another
 * browser, an old or forged link, a replay after the cookie was used) nothing is done.
 */
async function claimPending(b: Broker, ctx: AppContext, upstream: UpstreamClient): Promise<{ pending: PendingLogin; interaction: Interaction } | null> {
  const pending = b.pendingSealer.open<PendingLogin>(ctx.cookies.get(PENDING_COOKIE), b.deps.now());
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  if (!pending || pending.upstream !== upstream.id || !state || !sameToken(state, pending.state)) {
    ctx.state.log.warn({ upstream: upstream.id, hasPending: !!pending }, 'federation callback with a state that does not match');
    b.sendError(ctx, 400, upstream.id, pending ? 'federation.error.state' : 'federation.error.replay');
    return null;
  }
  // One use: the cookie goes now, whatever happens next.
  ctx.cookies.set(PENDING_COOKIE, null, { path: `/federation/${upstream.id}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
  const interaction = await b.deps.provider().Interaction.find(pending.uid);
  if (!interaction || interaction.result || interaction.prompt.name !== 'login') {
    b.sendError(ctx, 400, upstream.id, 'federation.error.replay');
    return null;
  }
  return { pending, interaction };
}

/** The upstream's answer as our identity at its assurance level, or null once the failure is shown. */
async function upstreamIdentity(b: Broker, ctx: AppContext, upstream: UpstreamClient, pending: PendingLogin, interaction: Interaction): Promise<{ identity: UpstreamIdentity; acr: string } | null> {
  const uid = pending.uid;
  const callbackUrl = new URL(`${b.deps.publicUrl}${federationCallbackPath(upstream.id)}${ctx.querystring ? `?${ctx.querystring}` : ''}`);
  let claims: Record<string, unknown>;
  try {
    claims = await upstream.complete(callbackUrl, pending);
  } catch (err) {
    const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('malformed', String(err));
    const oauthError = failure.reason === 'denied' ? 'access_denied' : 'temporarily_unavailable';
    await b.fail(ctx, failure.reason === 'denied' ? 403 : 502, upstream.id, uid, `federation.error.${failure.reason}`, { error: oauthError, error_description: `${upstream.id}: ${failure.message}` });
    return null;
  }
  // Assurance first: a level below the portal's requirement creates no session and no account.
  const level = assuranceOf(upstream.upstream, claims);
  const required = requiredAcr(space(interaction.params.acr_values));
  if (required && acrRank(level.acr) < acrRank(required)) {
    const description = `${upstream.id} authenticated at ${level.upstreamLevel ?? 'an unknown level'} (${level.acr}); the request requires ${required}`;
    await b.fail(ctx, 403, upstream.id, uid, 'federation.error.level', { error: 'unmet_authentication_requirements', error_description: description }, { level: level.upstreamLevel ?? '?' });
    return null;
  }
  try {
    return { identity: mapClaims(upstream.upstream, claims, level), acr: level.acr };
  } catch (err) {
    if (!(err instanceof UnmappableClaims)) throw err;
    await b.fail(ctx, 502, upstream.id, uid, 'federation.error.malformed', { error: 'temporarily_unavailable', error_description: `${upstream.id}: ${err.message}` });
    return null;
  }
}

/** The upstream's redirect back to us: code → tokens → userinfo → account, then on to the portal. */
const upstreamCallback = (b: Broker) =>
  async function upstreamCallback(ctx: AppContext) {
    const upstream = upstreamOf(b, ctx);
    const claimed = await claimPending(b, ctx, upstream);
    if (!claimed) return;
    const { pending, interaction } = claimed;
    const uid = pending.uid;
    const found = await upstreamIdentity(b, ctx, upstream, pending, interaction);
    if (!found) return;
    let outcome;
    try {
      outcome = await b.deps.federated.login(found.identity, { ip: ctx.ip, clientId: String(interaction.params.client_id), acr: found.acr });
    } catch (err) {
      if (!(err instanceof AppError) || (err.status >= 500 && err.kind !== 'upstreamFailed')) throw err;
      const malformed = err.kind === 'upstreamFailed';
      return b.fail(ctx, malformed ? 502 : 403, upstream.id, uid, malformed ? 'federation.error.malformed' : 'federation.error.account', {
        error: malformed ? 'temporarily_unavailable' : 'access_denied',
        error_description: `${upstream.id}: ${err.detail}`,
      });
    }
    if (outcome.status === 'confirm') {
      const link: PendingLink = { uid, identity: found.identity, officialId: outcome.official.id, acr: found.acr, exp: b.deps.now().getTime() + PENDING_TTL_MS };
      ctx.cookies.set(LINK_COOKIE, b.linkSealer.seal(link), { path: `/interaction/${uid}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: PENDING_TTL_MS, overwrite: true });
      ctx.redirect(`/interaction/${uid}/federation-link`);
      ctx.status = 303;
      return;
    }
    interaction.result = { login: { accountId: outcome.account.id, acr: found.acr, amr: ['fed'], remember: true } };
    await interaction.persist();
    ctx.redirect(interaction.returnTo);
    ctx.status = 303;
  };

/** Back from the upstream's logout: on to where our own logout was going (sealed, so no open redirect). */
/** The last federation error page of this browser, in the language just chosen (?lang=). */
const errorAgain = (b: Broker) =>
  async function errorAgain(ctx: AppContext) {
    const page = b.errorSealer.open<SealedErrorPage>(ctx.cookies.get(FEDERATION_ERROR_COOKIE), b.deps.now());
    if (!page) return sendErrorPage(ctx, 400, { message: 'error.intro' });
    b.renderError(ctx, pickLanguage(ctx), page);
  };

const loggedOut = (b: Broker) =>
  async function loggedOut(ctx: AppContext) {
    const state = b.logoutSealer.open<{ to: string; upstream: string; exp: number }>(typeof ctx.query.state === 'string' ? ctx.query.state : undefined, b.deps.now());
    if (!state || state.upstream !== ctx.params.upstream) return sendErrorPage(ctx, 400, { message: 'error.intro' });
    ctx.redirect(state.to);
    ctx.status = 303;
  };

/**
 * Where our RP-initiated logout goes next: through the upstream's end-session endpoint when the
 * session came from an upstream that has one, back to `location` afterwards.
 */
async function logoutThroughUpstream(b: Broker, session: { accountId?: string; amr?: string[] }, location: string): Promise<string | null> {
  if (!session.accountId || !session.amr?.includes('fed')) return null;
  // The upstream this person last came through (links are ordered by their last login).
  for (const link of await b.deps.federated.linksOf(session.accountId)) {
    const upstream = b.clients.get(link.upstream);
    if (!upstream) continue;
    const state = b.logoutSealer.seal({ to: location, upstream: upstream.id, exp: b.deps.now().getTime() + PENDING_TTL_MS });
    try {
      const url = await upstream.endSessionUrl(`${b.deps.publicUrl}${federationLoggedOutPath(upstream.id)}`, state);
      return url ? url.toString() : null;
    } catch (err) {
      b.deps.log.warn({ err, upstream: upstream.id }, 'upstream logout unavailable; logging out locally only');
      return null;
    }
  }
  return null;
}

/**
 * "Log in with DVCQG": the broker between the portals (we are their OpenID provider) and the
 * upstream identity providers (we are their client).
 *
 *   /interaction/:uid/federation/:upstream   start: state (+ nonce, PKCE) sealed in a cookie, redirect up
 *   /federation/:upstream/callback           the upstream's redirect: code → tokens → userinfo → account
 *   /interaction/:uid/federation-link        an official confirms the link with their password
 *   /federation/:upstream/logged-out         back from the upstream's logout, on to the portal
 *
 * Failures of the upstream end the interaction with an OAuth error for the portal and show the
 * person a page saying what happened; nothing is written for them.
 */
export function federationRouter(deps: FederationDeps) {
  const router = new Router<AppState>();
  const broker = createBroker(deps);
  router.get('/interaction/:uid/federation/:upstream', startBrokeredLogin(broker));
  router.get(federationCallbackPath(':upstream'), upstreamCallback(broker));
  router.get('/interaction/:uid/federation-link', showLinkForm(broker));
  router.post('/interaction/:uid/federation-link', confirmLink(broker));
  router.get(federationLoggedOutPath(':upstream'), loggedOut(broker));
  router.get(FEDERATION_ERROR_PATH, errorAgain(broker));
  return {
    router,
    /** The buttons on our login page. */
    loginMethods: (uid: string): LoginMethodLink[] => deps.upstreams.map((u) => ({ id: `federation-${u.id}`, href: `/interaction/${uid}/federation/${u.id}`, label: u.label })),
    logoutThroughUpstream: (session: { accountId?: string; amr?: string[] }, location: string) => logoutThroughUpstream(broker, session, location),
  };
}
