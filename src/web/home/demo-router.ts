import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import * as client from 'openid-client';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { pickLanguage } from '../locales/messages.js';
import { sendPage } from '../views/html.js';
import { demoPage, type DemoLogin } from '../views/home-pages.js';
import { formGuard, readUrlEncoded, requireUrlEncoded } from '../middleware/koa-form-guard.js';

export interface DemoRouterDeps {
  publicUrl: string;
  csrfSecret: Buffer;
  /** The demo client (src/dev/dev-clients.json): registered redirect `${publicUrl}/demo/callback`. */
  clientId: string;
  clientSecret: string;
  now(): Date;
}

/** A browser's state at the demo portal, kept in this process (development only). */
interface DemoSession {
  pending?: { state: string; nonce: string; verifier: string; at: number };
  login?: DemoLogin & { idToken?: string };
}

const COOKIE = 'tinnhiem_demo';
const COOKIE_PATH = '/demo';
const PENDING_TTL_MS = 10 * 60_000;
/** The store is in memory: a bound, the oldest browsers forgotten first. */
const MAX_SESSIONS = 1000;
const FORM_LIMIT = 1024;

/** What the handlers share: the relying party's configuration, the browsers' state, the page. */
interface DemoPortal {
  deps: DemoRouterDeps;
  redirectUri: string;
  rp(): Promise<client.Configuration>;
  /** The browser's state (a new one, with its cookie, when it has none). */
  browser(ctx: AppContext): { id: string; session: DemoSession };
  /** The browser's state, or undefined. */
  existing(ctx: AppContext): DemoSession | undefined;
  render(ctx: AppContext, status: number, error?: string): Promise<void>;
  /** A form of the page: same origin and the browser's token (403 otherwise). */
  readForm(ctx: AppContext): Promise<{ session: DemoSession; form: URLSearchParams }>;
}

function demoPortal(deps: DemoRouterDeps): DemoPortal {
  const guard = formGuard({ publicOrigin: new URL(deps.publicUrl).origin, secret: deps.csrfSecret, purpose: 'demo' });
  const sessions = new Map<string, DemoSession>();
  const redirectUri = `${deps.publicUrl}/demo/callback`;
  let configuration: Promise<client.Configuration> | null = null;
  /** Discovery of our own issuer, once (again after a failure). */
  function rp(): Promise<client.Configuration> {
    configuration ??= client
      .discovery(new URL(`${deps.publicUrl}/oidc`), deps.clientId, undefined, client.ClientSecretBasic(deps.clientSecret), {
        execute: deps.publicUrl.startsWith('http:') ? [client.allowInsecureRequests] : [],
      })
      .catch((err: unknown) => {
        configuration = null;
        throw err;
      });
    return configuration;
  }
  const existing = (ctx: AppContext) => {
    const id = ctx.cookies.get(COOKIE);
    return id ? sessions.get(id) : undefined;
  };
  function browser(ctx: AppContext): { id: string; session: DemoSession } {
    let id = ctx.cookies.get(COOKIE);
    if (!id || !sessions.has(id)) {
      id = randomBytes(18).toString('base64url');
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      sessions.set(id, {});
      ctx.cookies.set(COOKIE, id, { path: COOKIE_PATH, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
    }
    return { id, session: sessions.get(id)! };
  }
  return {
    deps,
    redirectUri,
    rp,
    browser,
    existing,
    async render(ctx, status, error) {
      const { id, session } = browser(ctx);
      const config = await rp();
      const tokenEndpoint = config.serverMetadata().token_endpoint ?? `${deps.publicUrl}/oidc/token`;
      sendPage(ctx, status, demoPage({ lang: pickLanguage(ctx), csrf: guard.token(id), clientId: deps.clientId, redirectUri, tokenEndpoint, login: session.login, error }));
    },
    async readForm(ctx) {
      requireUrlEncoded(ctx);
      guard.checkOrigin(ctx);
      const form = await readUrlEncoded(ctx, FORM_LIMIT);
      const id = ctx.cookies.get(COOKIE);
      const session = existing(ctx);
      if (!id || !session || !guard.accepts(id, form.get('csrf'))) throw new AppError('forbidden', 'the form expired: reload /demo');
      return { session, form };
    },
  };
}

/** "Log in": a new state, nonce and PKCE verifier for this browser, then the authorization request. */
const startLogin = (d: DemoPortal) =>
  async function startLogin(ctx: AppContext) {
    const { session, form } = await d.readForm(ctx);
    const config = await d.rp();
    const verifier = client.randomPKCECodeVerifier();
    const pending = { state: client.randomState(), nonce: client.randomNonce(), verifier, at: d.deps.now().getTime() };
    session.pending = pending;
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: d.redirectUri,
      scope: 'openid profile email vn_identity vn_official',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ui_locales: pickLanguage(ctx),
      ...(form.get('via') === 'dvcqg' ? { prompt: 'login' } : {}),
    });
    ctx.status = 303;
    ctx.redirect(url.href);
  };

/** Back from the provider: the code redeemed (state, nonce, PKCE checked by openid-client), then userinfo. */
const callback = (d: DemoPortal) =>
  async function callback(ctx: AppContext) {
    const session = d.existing(ctx);
    const pending = session?.pending;
    if (!session || !pending || d.deps.now().getTime() - pending.at > PENDING_TTL_MS) return d.render(ctx, 400, 'no login in progress in this browser (start again)');
    delete session.pending;
    const config = await d.rp();
    const current = new URL(`${d.redirectUri}${ctx.querystring ? `?${ctx.querystring}` : ''}`);
    try {
      const tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      const claims = tokens.claims()!;
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      session.login = { claims: { ...claims }, userinfo: { ...userinfo }, idToken: tokens.id_token };
    } catch (err) {
      if (!(err instanceof client.AuthorizationResponseError || err instanceof client.ResponseBodyError || err instanceof client.ClientError)) throw err;
      ctx.state.log.info({ err: err.message }, 'demo portal: login refused');
      return d.render(ctx, 400, err instanceof client.AuthorizationResponseError ? `${err.error}${err.error_description ? `: ${err.error_description}` : ''}` : err.message);
    }
    ctx.status = 303;
    ctx.redirect('/demo');
  };

/** "Log out": forgotten here, then RP-initiated logout at the provider, back to /demo/. */
const logout = (d: DemoPortal) =>
  async function logout(ctx: AppContext) {
    const { session } = await d.readForm(ctx);
    const idToken = session.login?.idToken;
    delete session.login;
    const config = await d.rp();
    const end = client.buildEndSessionUrl(config, {
      post_logout_redirect_uri: `${d.deps.publicUrl}/demo/`,
      ...(idToken ? { id_token_hint: idToken } : { client_id: d.deps.clientId }),
    });
    ctx.status = 303;
    ctx.redirect(end.href);
  };

/**
 * The demo portal (development only, never mounted otherwise): a real relying party of our own
 * issuer, server-side with openid-client, as a portal's back end would be. "Log in" is the
 * authorization code flow with PKCE (S256), state and nonce checked at the callback; the page
 * shows the ID token's claims (acr, amr) and the userinfo answer; "log out" is RP-initiated
 * logout (OpenID Connect RP-Initiated Logout 1.0) back to `/demo/`. "Log in with DVCQG" asks for
 * a fresh login (`prompt=login`), where the person picks the DVCQG button (the broker, then the
 * simulator).
 */
export function demoRouter(deps: DemoRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const portal = demoPortal(deps);
  router.get('/demo', (ctx) => portal.render(ctx, 200));
  router.post('/demo/login', startLogin(portal));
  router.get('/demo/callback', callback(portal));
  router.post('/demo/logout', logout(portal));
  return router;
}
