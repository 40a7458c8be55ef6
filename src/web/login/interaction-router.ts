import { createHmac, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import { readBody } from '../middleware/koa-body-limits.js';
import type { Account } from '../../../oidc/account.js';
import type { PasswordLoginResult } from '../../accounts/account-service.js';
import { pickLanguage, t, type Language } from '../locales/messages.js';
import { consentPage, errorPage, loginPage, type LoginMethodLink } from '../views/pages.js';
import { sendPage as page } from '../views/html.js';
import { applyRequestedAccess } from '../../../oidc/grants.js';
import { ACR } from '../../../oidc/scopes.js';
import { STEP_UP_REASON } from '../../../oidc/step-up.js';

export interface InteractionDeps {
  provider(): Provider;
  publicOrigin: string;
  apiResource: string;
  /** Secret for the forms' CSRF tokens (shared by every node). */
  csrfSecret: Buffer;
  loginWithPassword(input: { login: string; password: string; ip: string; clientId?: string }): Promise<PasswordLoginResult>;
  findAccount(id: string): Promise<Account | null>;
  /** Other login methods (federation, passkeys, certificates) add their buttons here. */
  loginMethods(uid: string): LoginMethodLink[];
  /** Where a login prompt for step-up (a stronger factor, oidc/step-up.ts) is answered. */
  stepUpHref?(uid: string): string;
}

const FORM_LIMIT = 16 * 1024;

/**
 * The login and consent pages of the provider (server-rendered, no script). Every form carries a
 * CSRF token bound to the interaction, and a cross-origin POST is refused outright.
 */
export function interactionRouter(deps: InteractionDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/interaction' });
  const csrfFor = (uid: string) => createHmac('sha256', deps.csrfSecret).update(`interaction:${uid}`).digest('base64url');

  async function details(ctx: AppContext) {
    try {
      const found = await deps.provider().interactionDetails(ctx.req, ctx.res);
      if (found.uid !== ctx.params.uid) throw new Error('interaction mismatch');
      return found;
    } catch {
      // Missing or expired interaction cookie, or a uid from another browser.
      const lang = pickLanguage(ctx);
      page(ctx, 400, errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId }));
      return null;
    }
  }

  async function readForm(ctx: AppContext): Promise<URLSearchParams | null> {
    if (!ctx.request.is('application/x-www-form-urlencoded')) {
      throw new AppError('unsupportedMediaType', 'expected an application/x-www-form-urlencoded form');
    }
    // Fetch metadata first (browsers send it on every form post); Origin as the fallback. A
    // privacy setting may turn Origin into "null" on a same-origin post, so that alone is no refusal.
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== 'null' && origin !== deps.publicOrigin)) {
      throw new AppError('forbidden', 'cross-origin form submission refused');
    }
    const form = new URLSearchParams((await readBody(ctx, FORM_LIMIT)).toString('utf8'));
    const expected = Buffer.from(csrfFor(ctx.params.uid));
    const given = Buffer.from(form.get('csrf') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      const lang = pickLanguage(ctx);
      page(ctx, 403, errorPage({ lang, message: t(lang, 'error.csrf'), details: [], requestId: ctx.state.requestId }));
      return null;
    }
    return form;
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = await deps.provider().Client.find(String(clientId));
    return client?.clientName ?? String(clientId);
  }

  async function renderLogin(ctx: AppContext, lang: Language, uid: string, clientId: unknown, extra: { login?: string; error?: string; status?: number } = {}) {
    page(
      ctx,
      extra.status ?? 200,
      loginPage({
        lang,
        action: `/interaction/${uid}/login`,
        selfHref: `/interaction/${uid}`,
        abortHref: `/interaction/${uid}/abort`,
        csrf: csrfFor(uid),
        clientName: await clientName(clientId),
        login: extra.login,
        error: extra.error,
        methods: deps.loginMethods(uid),
      }),
    );
  }

  router.get('/:uid', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const lang = pickLanguage(ctx);
    // A password cannot answer a step-up: the stronger methods have their own page.
    if (d.prompt.name === 'login' && deps.stepUpHref && d.prompt.reasons.includes(STEP_UP_REASON)) return ctx.redirect(deps.stepUpHref(d.uid));
    if (d.prompt.name === 'login') return renderLogin(ctx, lang, d.uid, d.params.client_id);
    const account = d.session?.accountId ? await deps.findAccount(d.session.accountId) : null;
    const missing = d.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
    page(
      ctx,
      200,
      consentPage({
        lang,
        action: `/interaction/${d.uid}/confirm`,
        abortHref: `/interaction/${d.uid}/abort`,
        selfHref: `/interaction/${d.uid}`,
        csrf: csrfFor(d.uid),
        clientName: await clientName(d.params.client_id),
        accountName: account?.fullName ?? '',
        scopes: missing.missingOIDCScope ?? [],
        apiScopes: Object.values(missing.missingResourceScopes ?? {}).flat(),
      }),
    );
  });

  router.post('/:uid/login', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!form) return;
    if (d.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
    if (d.prompt.reasons.includes(STEP_UP_REASON)) throw new AppError('forbidden', 'a password cannot answer a step-up: use a passkey or a certificate');
    const lang = pickLanguage(ctx);
    const login = (form.get('login') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!login || !password) return renderLogin(ctx, lang, d.uid, d.params.client_id, { login, error: t(lang, 'login.error.missing'), status: 400 });

    const result = await deps.loginWithPassword({ login, password, ip: ctx.ip, clientId: String(d.params.client_id) });
    if (!result.ok) {
      const error =
        result.reason === 'throttled'
          ? t(lang, 'login.error.throttled', { minutes: Math.max(1, Math.ceil(result.retryAfterSeconds / 60)) })
          : t(lang, result.reason === 'disabled' ? 'login.error.disabled' : 'login.error.invalid');
      if (result.reason === 'throttled') ctx.set('Retry-After', String(result.retryAfterSeconds));
      return renderLogin(ctx, lang, d.uid, d.params.client_id, { login, error, status: result.reason === 'throttled' ? 429 : 401 });
    }
    // A password alone is the lowest level (RFC 8176 `pwd`); passkeys and certificates add more.
    const redirectTo = await deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: result.account.id, acr: ACR.low, amr: ['pwd'], remember: true } },
      { mergeWithLastSubmission: false },
    );
    ctx.redirect(redirectTo);
    ctx.status = 303;
  });

  router.post('/:uid/confirm', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const form = await readForm(ctx);
    if (!form) return;
    if (d.prompt.name !== 'consent' || !d.session?.accountId) throw new AppError('badRequest', 'this interaction does not ask for consent');
    const account = await deps.findAccount(d.session.accountId);
    if (!account) throw new AppError('forbidden', 'the account is gone');
    const provider = deps.provider();
    const grant = d.grantId ? await provider.Grant.find(d.grantId) : new provider.Grant({ accountId: account.id, clientId: String(d.params.client_id) });
    if (!grant) throw new AppError('badRequest', 'the grant of this interaction is gone');
    const missing = d.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    applyRequestedAccess(
      grant,
      { oidcScopes: missing.missingOIDCScope ?? [], claims: missing.missingOIDCClaims ?? [], resourceScopes: missing.missingResourceScopes ?? {} },
      account,
      deps.apiResource,
    );
    const grantId = await grant.save();
    const redirectTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.redirect(redirectTo);
    ctx.status = 303;
  });

  router.get('/:uid/abort', async (ctx) => {
    const d = await details(ctx);
    if (!d) return;
    const redirectTo = await deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
    ctx.redirect(redirectTo);
    ctx.status = 303;
  });

  return router;
}
