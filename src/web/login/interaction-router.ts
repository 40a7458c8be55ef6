import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { Account } from '../../../oidc/account.js';
import type { PasswordLoginResult } from '../../accounts/account-service.js';
import { pickLanguage, t, type Language } from '../locales/messages.js';
import { consentPage, loginPage, type LoginMethodLink } from '../views/pages.js';
import { sendPage as page } from '../views/html.js';
import { sendErrorPage } from '../views/error-page.js';
import { formGuard, readUrlEncoded, requireUrlEncoded, type FormGuard } from '../middleware/koa-form-guard.js';
import { interactionOrExpired, type InteractionDetails } from './interaction-session.js';
import { applyRequestedAccess } from '../../../oidc/grants.js';
import { ACR, API_SCOPES, OIDC_SCOPES } from '../../../oidc/scopes.js';
import { ACR_STEP_UP_REASON, isStepUp } from '../../../oidc/step-up.js';

export interface InteractionDeps {
  provider(): Provider;
  publicOrigin: string;
  apiResource: string;
  /** Secret for the forms' CSRF tokens (shared by every node). */
  csrfSecret: Buffer;
  loginWithPassword(input: { login: string; password: string; ip: string; clientId?: string }): Promise<PasswordLoginResult>;
  findAccount(id: string): Promise<Account | null>;
  /**
   * Other login methods (federation, passkeys, certificates) add their buttons here; a method may
   * start its ceremony with the page (the passkey autofill's options, a sealed challenge).
   */
  loginMethods(uid: string): LoginMethodLink[] | Promise<LoginMethodLink[]>;
  /** Where a login prompt for step-up (a stronger factor, oidc/step-up.ts) is answered. */
  stepUpHref?(uid: string): string;
  /** The required action "set your password" (src/web/login/set-password.ts): true when it took over. */
  interceptLogin?(ctx: AppContext, lang: Language, uid: string, account: Account): boolean;
  /** Whether the account has a stronger factor to step up with (a passkey, certificate login). */
  canStepUp?(accountId: string, uid: string): Promise<boolean>;
}

const FORM_LIMIT = 16 * 1024;

/** What the prompt asks that the grant lacks (oidc-provider's prompt details). */
interface MissingAccess {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** What the handlers share: the dependencies, the form guard and the login page. */
interface Pages {
  deps: InteractionDeps;
  guard: FormGuard;
  clientName(clientId: unknown): Promise<string>;
  renderLogin(ctx: AppContext, lang: Language, uid: string, clientId: unknown, extra?: { login?: string; error?: string; status?: number }): Promise<void>;
  /** The interaction's form, or null once the form-expired page is sent (a wrong token). */
  readForm(ctx: AppContext): Promise<URLSearchParams | null>;
}

function interactionPages(deps: InteractionDeps): Pages {
  const guard = formGuard({ publicOrigin: deps.publicOrigin, secret: deps.csrfSecret, purpose: 'interaction' });
  async function clientName(clientId: unknown): Promise<string> {
    const client = await deps.provider().Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
  }
  return {
    deps,
    guard,
    clientName,
    async renderLogin(ctx, lang, uid, clientId, extra = {}) {
      const links = { action: `/interaction/${uid}/login`, selfHref: `/interaction/${uid}`, abortHref: `/interaction/${uid}/abort` };
      const methods = await deps.loginMethods(uid);
      page(ctx, extra.status ?? 200, loginPage({ lang, ...links, csrf: guard.token(uid), clientName: await clientName(clientId), login: extra.login, error: extra.error, methods }));
    },
    async readForm(ctx) {
      requireUrlEncoded(ctx);
      guard.checkOrigin(ctx);
      const form = await readUrlEncoded(ctx, FORM_LIMIT);
      if (guard.accepts(ctx.params.uid, form.get('csrf'))) return form;
      sendErrorPage(ctx, 403, { message: 'error.csrf' });
      return null;
    },
  };
}

/** Redirects the browser on to wherever oidc-provider resumes the authorization (RFC 9110 §15.4.4). */
async function resume(ctx: AppContext, provider: Provider, result: Parameters<Provider['interactionResult']>[2], mergeWithLastSubmission: boolean) {
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
  ctx.redirect(redirectTo);
  ctx.status = 303;
}

/** The `login_hint` of the request, when it can be a username or a national ID (bounded, one line). */
function loginHint(d: InteractionDetails): string | undefined {
  const hint = d.params.login_hint;
  return typeof hint === 'string' && hint.length <= 200 && ![...hint].some((c) => c.charCodeAt(0) < 0x20) ? hint : undefined;
}

/** The login page or the consent page, whichever the interaction's prompt asks for. */
const showPrompt = (p: Pages) =>
  async function showPrompt(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, p.deps.provider);
    if (!d) return;
    const lang = pickLanguage(ctx, d.params.ui_locales);
    if (d.prompt.name === 'login' && isStepUp(d.prompt.reasons)) return stepUp(p, ctx, d);
    // OIDC Core §3.1.2.1 login_hint: the portal already knows who is signing in.
    if (d.prompt.name === 'login') return p.renderLogin(ctx, lang, d.uid, d.params.client_id, { login: loginHint(d) });
    await showConsent(p, ctx, lang, d);
  };

/**
 * A password cannot answer a step-up: the stronger methods have their own page. When the portal
 * made a level essential (acr) and this account has no way to reach it, the portal hears so at
 * once (OIDC Core §3.1.2.6 unmet_authentication_requirements) rather than the person facing a
 * page they cannot get past.
 */
async function stepUp(p: Pages, ctx: AppContext, d: InteractionDetails) {
  const accountId = d.session?.accountId;
  const possible = !!p.deps.stepUpHref && !!accountId && (await (p.deps.canStepUp?.(accountId, d.uid) ?? Promise.resolve(true)));
  if (possible) return ctx.redirect(p.deps.stepUpHref!(d.uid));
  if (d.prompt.reasons.includes(ACR_STEP_UP_REASON)) {
    return resume(ctx, p.deps.provider(), { error: 'unmet_authentication_requirements', error_description: 'this account cannot reach the requested authentication level' }, false);
  }
  return ctx.redirect(p.deps.stepUpHref!(d.uid));
}

/**
 * What the consent page lists: what the grant lacks; or, when the portal asked for the page
 * itself (prompt=consent, which offline_access needs) and the grant already holds everything (a
 * first-party portal), everything the request asks, so the person sees what they allow.
 */
function consentItems(d: InteractionDetails): { scopes: string[]; apiScopes: string[] } {
  const missing = d.prompt.details as MissingAccess;
  const scopes = missing.missingOIDCScope ?? [];
  const apiScopes = Object.values(missing.missingResourceScopes ?? {}).flat();
  if (scopes.length || apiScopes.length) return { scopes, apiScopes };
  const asked = String(d.params.scope ?? '').split(' ');
  return { scopes: OIDC_SCOPES.filter((s) => asked.includes(s)), apiScopes: API_SCOPES.filter((s) => asked.includes(s)) };
}

async function showConsent(p: Pages, ctx: AppContext, lang: Language, d: InteractionDetails) {
  const account = d.session?.accountId ? await p.deps.findAccount(d.session.accountId) : null;
  page(
    ctx,
    200,
    consentPage({
      lang,
      action: `/interaction/${d.uid}/confirm`,
      abortHref: `/interaction/${d.uid}/abort`,
      selfHref: `/interaction/${d.uid}`,
      csrf: p.guard.token(d.uid),
      clientName: await p.clientName(d.params.client_id),
      accountName: account?.fullName ?? '',
      ...consentItems(d),
    }),
  );
}

const submitLogin = (p: Pages) =>
  async function submitLogin(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, p.deps.provider);
    if (!d) return;
    const form = await p.readForm(ctx);
    if (!form) return;
    if (d.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
    if (isStepUp(d.prompt.reasons)) throw new AppError('forbidden', 'a password cannot answer a step-up: use a passkey or a certificate');
    const lang = pickLanguage(ctx, d.params.ui_locales);
    const login = (form.get('login') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!login || !password) return p.renderLogin(ctx, lang, d.uid, d.params.client_id, { login, error: t(lang, 'login.error.missing'), status: 400 });

    const result = await p.deps.loginWithPassword({ login, password, ip: ctx.ip, clientId: String(d.params.client_id) });
    if (!result.ok) {
      const error = passwordLoginError(lang, result);
      const tryLater = result.reason === 'throttled' || result.reason === 'busy';
      if (tryLater) ctx.set('Retry-After', String(result.retryAfterSeconds));
      return p.renderLogin(ctx, lang, d.uid, d.params.client_id, { login, error, status: tryLater ? 429 : 401 });
    }
    if (p.deps.interceptLogin?.(ctx, lang, d.uid, result.account)) return;
    // A password alone is the lowest level (RFC 8176 `pwd`); passkeys and certificates add more.
    await resume(ctx, p.deps.provider(), { login: { accountId: result.account.id, acr: ACR.low, amr: ['pwd'], remember: true } }, false);
  };

/** The login page's message for a refused password login. */
export function passwordLoginError(lang: Language, result: Exclude<PasswordLoginResult, { ok: true }>): string {
  if (result.reason === 'throttled') return t(lang, 'login.error.throttled', { minutes: Math.max(1, Math.ceil(result.retryAfterSeconds / 60)) });
  if (result.reason === 'busy') return t(lang, 'login.error.busy', { seconds: result.retryAfterSeconds });
  return t(lang, result.reason === 'disabled' ? 'login.error.disabled' : 'login.error.invalid');
}

const confirmConsent = (p: Pages) =>
  async function confirmConsent(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, p.deps.provider);
    if (!d) return;
    const form = await p.readForm(ctx);
    if (!form) return;
    if (d.prompt.name !== 'consent' || !d.session?.accountId) throw new AppError('badRequest', 'this interaction does not ask for consent');
    const account = await p.deps.findAccount(d.session.accountId);
    if (!account) throw new AppError('forbidden', 'the account is gone');
    const provider = p.deps.provider();
    const grant = d.grantId ? await provider.Grant.find(d.grantId) : new provider.Grant({ accountId: account.id, clientId: String(d.params.client_id) });
    if (!grant) throw new AppError('badRequest', 'the grant of this interaction is gone');
    const missing = d.prompt.details as MissingAccess;
    const client = await provider.Client.find(String(d.params.client_id));
    applyRequestedAccess(
      grant,
      { oidcScopes: missing.missingOIDCScope ?? [], claims: missing.missingOIDCClaims ?? [], resourceScopes: missing.missingResourceScopes ?? {}, clientScope: client?.scope },
      account,
      p.deps.apiResource,
    );
    const grantId = await grant.save();
    await resume(ctx, provider, { consent: { grantId } }, true);
  };

const abort = (p: Pages) =>
  async function abortInteraction(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, p.deps.provider);
    if (!d) return;
    // Giving up a step-up the portal made essential: the level was not reached (OIDC Core §3.1.2.6).
    const unmet = d.prompt.name === 'login' && d.prompt.reasons.includes(ACR_STEP_UP_REASON);
    const error = unmet
      ? { error: 'unmet_authentication_requirements', error_description: 'the requested authentication level was not reached' }
      : { error: 'access_denied', error_description: 'the user cancelled the sign-in' };
    await resume(ctx, p.deps.provider(), error, false);
  };

/**
 * The login page as the authorization endpoint's own answer, as Keycloak serves it: when
 * oidc-provider answers `GET /oidc/auth` with its redirect to the interaction it has just started
 * (`/interaction/<uid>`, the interaction and resume cookies set), and that interaction asks for a
 * plain login, the page `GET /interaction/<uid>` would show is sent in its place. The person's
 * browser makes one request and one network round trip fewer before the page, and the service
 * reads nothing back: the interaction is the one the provider holds in this request
 * (docs/performance.md, "Passkey login, fourteenth pass"). The page's forms and links carry
 * absolute paths under `/interaction/<uid>` (the interaction cookie's path), so the login, the
 * passkey autofill and the language switch work from it as from `/interaction/<uid>`; a reload
 * sends the authorization request again (a new interaction). Consent and step-up prompts, other
 * routes (the device flow) and any other answer pass as they are.
 */
export function loginPageAtAuthorization(deps: InteractionDeps): Middleware<AppState> {
  const pages = interactionPages(deps);
  return async function loginPageAtAuthorization(ctx, next) {
    await next();
    if (ctx.status !== 303 || ctx.method !== 'GET' || ctx.path !== '/oidc/auth') return;
    const oidc = (ctx as { oidc?: { route?: string; entities?: { Interaction?: InteractionDetails } } }).oidc;
    const d = oidc?.route === 'authorization' ? oidc.entities?.Interaction : undefined;
    if (!d || ctx.response.get('Location') !== `/interaction/${d.uid}`) return;
    if (d.prompt.name !== 'login' || isStepUp(d.prompt.reasons)) return;
    ctx.remove('Location');
    await pages.renderLogin(ctx, pickLanguage(ctx, d.params.ui_locales), d.uid, d.params.client_id, { login: loginHint(d) });
  };
}

/**
 * The login and consent pages of the provider (server-rendered, no script). Every form carries a
 * CSRF token bound to the interaction, and a cross-origin POST is refused outright.
 */
export function interactionRouter(deps: InteractionDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/interaction' });
  const pages = interactionPages(deps);
  router.get('/:uid', showPrompt(pages));
  router.post('/:uid/login', submitLogin(pages));
  router.post('/:uid/confirm', confirmConsent(pages));
  router.get('/:uid/abort', abort(pages));
  return router;
}
