import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { readBody } from '../middleware/koa-body-limits.js';
import type { Logger } from '../../logging/logger.js';
import type { PasswordLoginResult } from '../../accounts/account-service.js';
import type { FederatedAccountService } from '../../accounts/federated-accounts.js';
import type { Account } from '../../../oidc/account.js';
import { pickLanguage, t, type Language, type MessageKey } from '../locales/messages.js';
import { federationErrorPage, federationLinkPage, errorPage, type LoginMethodLink } from '../views/pages.js';
import { sendPage as page } from '../views/html.js';
import { UpstreamClient, UpstreamFailure, type PendingChecks } from '../../../oidc/federation/upstream-client.js';
import { assuranceOf, acrRank, requiredAcr, upstreamAcrValues, type Upstream } from '../../../oidc/federation/upstreams.js';
import { mapClaims, UnmappableClaims, type UpstreamIdentity } from '../../../oidc/federation/claim-mapping.js';

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
}

/** The pending brokered login, sealed in a cookie while the person is at the upstream. */
interface PendingLogin extends PendingChecks {
  uid: string;
  upstream: string;
  exp: number;
}

/** An upstream identity that waits for an official to confirm with their password. */
interface PendingLink {
  uid: string;
  identity: UpstreamIdentity;
  officialId: string;
  acr: string;
  exp: number;
}

const PENDING_COOKIE = 'tinnhiem_fed';
const LINK_COOKIE = 'tinnhiem_fed_link';
const PENDING_TTL_MS = 10 * 60_000;
const FORM_LIMIT = 16 * 1024;

export const federationCallbackPath = (upstreamId: string) => `/federation/${upstreamId}/callback`;
export const federationLoggedOutPath = (upstreamId: string) => `/federation/${upstreamId}/logged-out`;

/** AES-256-GCM with a key derived from the CSRF secret: shared by every node, unreadable and unforgeable by the browser. */
export class Sealer {
  private readonly key: Buffer;
  constructor(secret: Buffer, purpose: string) {
    this.key = createHmac('sha256', secret).update(`federation-seal:${purpose}`).digest();
  }

  seal(value: object): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  open<T extends { exp: number }>(token: string | undefined, now = Date.now()): T | null {
    if (!token) return null;
    try {
      const raw = Buffer.from(token, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const value = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as T;
      return typeof value.exp === 'number' && value.exp > now ? value : null;
    } catch {
      return null;
    }
  }
}

const space = (v: unknown) => (typeof v === 'string' ? v.split(' ').filter(Boolean) : []);

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
  const clients = new Map(deps.upstreams.map((u) => [u.id, new UpstreamClient(u, `${deps.publicUrl}${federationCallbackPath(u.id)}`, deps.timeoutMs)]));
  const pendingSealer = new Sealer(deps.csrfSecret, 'pending-login');
  const linkSealer = new Sealer(deps.csrfSecret, 'pending-link');
  const logoutSealer = new Sealer(deps.csrfSecret, 'logout');
  const publicOrigin = new URL(deps.publicUrl).origin;
  const csrfFor = (uid: string) => createHmac('sha256', deps.csrfSecret).update(`federation-link:${uid}`).digest('base64url');

  const label = (id: string, lang: Language) => deps.upstreams.find((u) => u.id === id)?.label[lang] ?? id;

  async function clientName(clientId: unknown): Promise<string> {
    const client = await deps.provider().Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
  }

  /** Ends the interaction with an OAuth error for the portal and shows the person why. */
  async function fail(ctx: AppContext, status: number, upstreamId: string, uid: string | null, messageKey: MessageKey, oauth: { error: string; error_description: string }, vars: Record<string, string> = {}) {
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
    page(ctx, status, federationErrorPage({ lang, upstream: label(upstreamId, lang), message: t(lang, messageKey, { upstream: label(upstreamId, lang), client: name ?? '', ...vars }), returnHref, clientName: name, requestId: ctx.state.requestId }));
  }

  // Start: the person chose "log in with <upstream>" on our login page.
  router.get('/interaction/:uid/federation/:upstream', async (ctx) => {
    const upstream = clients.get(ctx.params.upstream);
    if (!upstream) throw new AppError('notFound', `no upstream identity provider ${ctx.params.upstream}`);
    const lang = pickLanguage(ctx);
    let d;
    try {
      d = await deps.provider().interactionDetails(ctx.req, ctx.res);
      if (d.uid !== ctx.params.uid) throw new Error('interaction mismatch');
    } catch {
      return page(ctx, 400, errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId }));
    }
    if (d.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
    let start;
    try {
      start = await upstream.authorizationUrl(upstreamAcrValues(upstream.upstream, space(d.params.acr_values)));
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('unavailable', String(err));
      return fail(ctx, 502, upstream.id, d.uid, `federation.error.${failure.reason}`, { error: 'temporarily_unavailable', error_description: `${upstream.id}: ${failure.message}` });
    }
    const pending: PendingLogin = { uid: d.uid, upstream: upstream.id, ...start.checks, exp: Date.now() + PENDING_TTL_MS };
    // Lax: the upstream's redirect back is a top-level GET navigation from another site. Secure
    // whenever the request came over TLS (behind a proxy: TRUST_PROXY and X-Forwarded-Proto).
    ctx.cookies.set(PENDING_COOKIE, pendingSealer.seal(pending), { path: `/federation/${upstream.id}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: PENDING_TTL_MS, overwrite: true });
    ctx.redirect(start.url.toString());
    ctx.status = 303;
  });

  // The upstream's redirect back to us.
  router.get(federationCallbackPath(':upstream'), async (ctx) => {
    const upstream = clients.get(ctx.params.upstream);
    if (!upstream) throw new AppError('notFound', `no upstream identity provider ${ctx.params.upstream}`);
    const cookieOptions = { path: `/federation/${upstream.id}/`, httpOnly: true, sameSite: 'lax' as const, secure: ctx.secure, overwrite: true };
    const pending = pendingSealer.open<PendingLogin>(ctx.cookies.get(PENDING_COOKIE));
    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    // RFC 6749 §10.12: the state must be the one this browser sent up. Without it (another
    // browser, an old or forged link, a replay after the cookie was used) nothing is done.
    if (!pending || pending.upstream !== upstream.id || !state || !safeEqual(state, pending.state)) {
      ctx.state.log.warn({ upstream: upstream.id, hasPending: !!pending }, 'federation callback with a state that does not match');
      const lang = pickLanguage(ctx);
      return page(ctx, 400, federationErrorPage({ lang, upstream: label(upstream.id, lang), message: t(lang, pending ? 'federation.error.state' : 'federation.error.replay'), requestId: ctx.state.requestId }));
    }
    // One use: the cookie goes now, whatever happens next.
    ctx.cookies.set(PENDING_COOKIE, null, cookieOptions);
    const interaction = await deps.provider().Interaction.find(pending.uid);
    if (!interaction || interaction.result || interaction.prompt.name !== 'login') {
      const lang = pickLanguage(ctx);
      return page(ctx, 400, federationErrorPage({ lang, upstream: label(upstream.id, lang), message: t(lang, 'federation.error.replay'), requestId: ctx.state.requestId }));
    }
    const uid = pending.uid;
    const callbackUrl = new URL(`${deps.publicUrl}${federationCallbackPath(upstream.id)}${ctx.querystring ? `?${ctx.querystring}` : ''}`);

    let claims: Record<string, unknown>;
    try {
      claims = await upstream.complete(callbackUrl, pending);
    } catch (err) {
      const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('malformed', String(err));
      const oauthError = failure.reason === 'denied' ? 'access_denied' : 'temporarily_unavailable';
      return fail(ctx, failure.reason === 'denied' ? 403 : 502, upstream.id, uid, `federation.error.${failure.reason}`, {
        error: oauthError,
        error_description: `${upstream.id}: ${failure.message}`,
      });
    }

    // Assurance first: a level below the portal's requirement creates no session and no account.
    const level = assuranceOf(upstream.upstream, claims);
    const required = requiredAcr(space(interaction.params.acr_values));
    if (required && acrRank(level.acr) < acrRank(required)) {
      return fail(ctx, 403, upstream.id, uid, 'federation.error.level', {
        error: 'unmet_authentication_requirements',
        error_description: `${upstream.id} authenticated at ${level.upstreamLevel ?? 'an unknown level'} (${level.acr}); the request requires ${required}`,
      }, { level: level.upstreamLevel ?? '?' });
    }

    let identity: UpstreamIdentity;
    try {
      identity = mapClaims(upstream.upstream, claims, level);
    } catch (err) {
      if (!(err instanceof UnmappableClaims)) throw err;
      return fail(ctx, 502, upstream.id, uid, 'federation.error.malformed', { error: 'temporarily_unavailable', error_description: `${upstream.id}: ${err.message}` });
    }
    const clientId = String(interaction.params.client_id);
    let outcome;
    try {
      outcome = await deps.federated.login(identity, { ip: ctx.ip, clientId, acr: level.acr });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500 && err.kind !== 'upstreamFailed') throw err;
      const malformed = err.kind === 'upstreamFailed';
      return fail(ctx, malformed ? 502 : 403, upstream.id, uid, malformed ? 'federation.error.malformed' : 'federation.error.account', {
        error: malformed ? 'temporarily_unavailable' : 'access_denied',
        error_description: `${upstream.id}: ${err.detail}`,
      });
    }
    if (outcome.status === 'confirm') {
      const link: PendingLink = { uid, identity, officialId: outcome.official.id, acr: level.acr, exp: Date.now() + PENDING_TTL_MS };
      ctx.cookies.set(LINK_COOKIE, linkSealer.seal(link), { path: `/interaction/${uid}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, maxAge: PENDING_TTL_MS, overwrite: true });
      ctx.redirect(`/interaction/${uid}/federation-link`);
      ctx.status = 303;
      return;
    }
    interaction.result = { login: { accountId: outcome.account.id, acr: level.acr, amr: ['fed'], remember: true } };
    await interaction.persist();
    ctx.redirect(interaction.returnTo);
    ctx.status = 303;
  });

  async function linkContext(ctx: AppContext) {
    const lang = pickLanguage(ctx);
    let d;
    try {
      d = await deps.provider().interactionDetails(ctx.req, ctx.res);
      if (d.uid !== ctx.params.uid) throw new Error('interaction mismatch');
    } catch {
      page(ctx, 400, errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId }));
      return null;
    }
    const link = linkSealer.open<PendingLink>(ctx.cookies.get(LINK_COOKIE));
    if (!link || link.uid !== d.uid || d.prompt.name !== 'login') {
      page(ctx, 400, errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId }));
      return null;
    }
    const official = await deps.findAccount(link.officialId);
    if (!official) throw new AppError('conflict', 'the official account is gone');
    return { d, link, official, lang };
  }

  const renderLink = (ctx: AppContext, c: NonNullable<Awaited<ReturnType<typeof linkContext>>>, error?: string, status = 200) =>
    page(
      ctx,
      status,
      federationLinkPage({
        lang: c.lang,
        action: `/interaction/${c.d.uid}/federation-link`,
        selfHref: `/interaction/${c.d.uid}/federation-link`,
        abortHref: `/interaction/${c.d.uid}/abort`,
        csrf: csrfFor(c.d.uid),
        upstream: label(c.link.identity.upstream, c.lang),
        username: c.official.username ?? c.official.nationalId ?? '',
        error,
      }),
    );

  router.get('/interaction/:uid/federation-link', async (ctx) => {
    const c = await linkContext(ctx);
    if (c) renderLink(ctx, c);
  });

  router.post('/interaction/:uid/federation-link', async (ctx) => {
    if (!ctx.request.is('application/x-www-form-urlencoded')) throw new AppError('unsupportedMediaType', 'expected an application/x-www-form-urlencoded form');
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== publicOrigin)) {
      throw new AppError('forbidden', 'cross-origin form submission refused');
    }
    const c = await linkContext(ctx);
    if (!c) return;
    const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT)).toString('utf8'));
    if (!safeEqual(form.get('csrf') ?? '', csrfFor(c.d.uid))) {
      return page(ctx, 403, errorPage({ lang: c.lang, message: t(c.lang, 'error.csrf'), details: [], requestId: ctx.state.requestId }));
    }
    const clientId = String(c.d.params.client_id);
    // The official proves the link with their own credential, checked against this very account.
    const result = await deps.loginWithPassword({ login: c.official.username ?? c.official.nationalId ?? '', password: form.get('password') ?? '', ip: ctx.ip, clientId });
    if (!result.ok || result.account.id !== c.official.id) {
      if (!result.ok && result.reason === 'throttled') {
        ctx.set('Retry-After', String(result.retryAfterSeconds));
        return renderLink(ctx, c, t(c.lang, 'login.error.throttled', { minutes: Math.max(1, Math.ceil(result.retryAfterSeconds / 60)) }), 429);
      }
      return renderLink(ctx, c, t(c.lang, 'federation.link.error'), 401);
    }
    const account = await deps.federated.linkOfficial(c.link.identity, c.official.id, { ip: ctx.ip, clientId, acr: c.link.acr });
    ctx.cookies.set(LINK_COOKIE, null, { path: `/interaction/${c.d.uid}/`, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    const redirectTo = await deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: account.id, acr: c.link.acr, amr: ['fed', 'pwd'], remember: true } },
      { mergeWithLastSubmission: false },
    );
    ctx.redirect(redirectTo);
    ctx.status = 303;
  });

  // Back from the upstream's logout: on to where our own logout was going (sealed, so no open redirect).
  router.get(federationLoggedOutPath(':upstream'), async (ctx) => {
    const state = logoutSealer.open<{ to: string; upstream: string; exp: number }>(typeof ctx.query.state === 'string' ? ctx.query.state : undefined);
    if (!state || state.upstream !== ctx.params.upstream) {
      const lang = pickLanguage(ctx);
      return page(ctx, 400, errorPage({ lang, message: t(lang, 'error.intro'), details: [], requestId: ctx.state.requestId }));
    }
    ctx.redirect(state.to);
    ctx.status = 303;
  });

  return {
    router,
    /** The buttons on our login page. */
    loginMethods: (uid: string): LoginMethodLink[] =>
      deps.upstreams.map((u) => ({ id: `federation-${u.id}`, href: `/interaction/${uid}/federation/${u.id}`, label: u.label })),
    /**
     * Where our RP-initiated logout goes next: through the upstream's end-session endpoint when
     * the session came from an upstream that has one, back to `location` afterwards.
     */
    async logoutThroughUpstream(session: { accountId?: string; amr?: string[] }, location: string): Promise<string | null> {
      if (!session.accountId || !session.amr?.includes('fed')) return null;
      // The upstream this person last came through (links are ordered by their last login).
      for (const link of await deps.federated.linksOf(session.accountId)) {
        const upstream = clients.get(link.upstream);
        if (!upstream) continue;
        const state = logoutSealer.seal({ to: location, upstream: upstream.id, exp: Date.now() + PENDING_TTL_MS });
        try {
          const url = await upstream.endSessionUrl(`${deps.publicUrl}${federationLoggedOutPath(upstream.id)}`, state);
          return url ? url.toString() : null;
        } catch (err) {
          deps.log.warn({ err, upstream: upstream.id }, 'upstream logout unavailable; logging out locally only');
          return null;
        }
      }
      return null;
    },
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

