import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import { pickLanguage, t } from '../locales/messages.js';
import { errorPage, passkeyPage, type LoginMethodLink } from '../views/pages.js';
import { PAGE_CSP } from '../views/html.js';
import { ACR } from '../../../oidc/scopes.js';
import { STEP_UP_REASON } from '../../../oidc/step-up.js';

export interface PasskeyRouterDeps {
  provider(): Provider;
  publicOrigin: string;
  /** The interaction router's CSRF secret: the login page's token is valid here too. */
  csrfSecret: Buffer;
  passkeys: PasskeyService;
  /** Other strong methods offered on the step-up page (certificate login). */
  strongMethods(uid: string): LoginMethodLink[];
}

export const PASSKEY_SCRIPT = '/static/passkeys.js';

/** The login page's link to the passkey page (and the script for autofill, conditional UI). */
export const passkeyLoginMethod = (uid: string): LoginMethodLink => ({
  id: 'passkey',
  href: `/interaction/${uid}/passkey`,
  label: { vi: t('vi', 'passkey.method'), en: t('en', 'passkey.method') },
  script: PASSKEY_SCRIPT,
});

/** The interaction's CSRF token, the same formula as the interaction router's forms. */
export const interactionCsrf = (secret: Buffer, uid: string) => createHmac('sha256', secret).update(`interaction:${uid}`).digest('base64url');

/** Refuses a cross-site call and a call without the page's token (JSON endpoints of the ceremonies). */
export function checkJsonCall(ctx: AppContext, publicOrigin: string, expectedCsrf: string): void {
  const site = ctx.get('sec-fetch-site');
  const origin = ctx.get('origin');
  if ((site && site !== 'same-origin') || (origin && origin !== publicOrigin)) throw new AppError('forbidden', 'cross-origin call refused');
  const given = Buffer.from(ctx.get('x-csrf-token'));
  const expected = Buffer.from(expectedCsrf);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('forbidden', 'missing or wrong X-CSRF-Token');
}

/** The JSON body (already parsed, within the body limit, by the bodyLimits middleware). */
export function readJson(ctx: AppContext): unknown {
  if (!ctx.request.is('application/json')) throw new AppError('unsupportedMediaType', 'expected application/json');
  return (ctx.request as { body?: unknown }).body ?? {};
}

/**
 * Passkey login inside an OIDC interaction: passwordless (any discoverable credential of this
 * RP, user verification required) or, when the interaction asks for step-up, a second factor
 * limited to the signed-in account's passkeys. Serves the ceremony script too.
 */
export function passkeyRouter(deps: PasskeyRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const script = readFileSync(new URL('../static/passkeys.js', import.meta.url));
  const etag = `"${createHash('sha256').update(script).digest('base64url').slice(0, 22)}"`;

  router.get(PASSKEY_SCRIPT, (ctx) => {
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'public, max-age=3600');
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.body = script;
  });

  async function details(ctx: AppContext, asJson: boolean) {
    try {
      const found = await deps.provider().interactionDetails(ctx.req, ctx.res);
      if (found.uid !== ctx.params.uid) throw new Error('interaction mismatch');
      if (found.prompt.name !== 'login') throw new AppError('badRequest', 'this interaction does not ask for a login');
      return found;
    } catch (err) {
      if (err instanceof AppError || asJson) throw err instanceof AppError ? err : new AppError('badRequest', 'the sign-in session expired: go back to the portal and sign in again');
      const lang = pickLanguage(ctx);
      ctx.status = 400;
      ctx.type = 'html';
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = errorPage({ lang, message: t(lang, 'error.session'), details: [], requestId: ctx.state.requestId });
      return null;
    }
  }

  /** The account a step-up must prove again, or undefined for a passwordless login. */
  const stepUpAccount = (d: Awaited<ReturnType<Provider['interactionDetails']>>) =>
    d.prompt.reasons.includes(STEP_UP_REASON) && d.session?.accountId ? d.session.accountId : undefined;

  router.get('/interaction/:uid/passkey', async (ctx) => {
    const d = await details(ctx, false);
    if (!d) return;
    const lang = pickLanguage(ctx);
    const client = await deps.provider().Client.find(String(d.params.client_id));
    const stepUp = stepUpAccount(d);
    const base = `/interaction/${d.uid}/passkey`;
    const stepUpDetails = d.prompt.details as { scopes?: string[] };
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = passkeyPage({
      lang,
      selfHref: base,
      clientName: client?.clientName ?? String(d.params.client_id),
      csrf: interactionCsrf(deps.csrfSecret, d.uid),
      optionsUrl: `${base}/options`,
      verifyUrl: `${base}/verify`,
      backHref: stepUp ? undefined : `/interaction/${d.uid}`,
      abortHref: `/interaction/${d.uid}/abort`,
      stepUpScopes: stepUp ? (stepUpDetails.scopes ?? []) : undefined,
      hasPasskey: stepUp ? (await deps.passkeys.list(stepUp)).length > 0 : undefined,
      methods: stepUp ? deps.strongMethods(d.uid) : [],
    });
  });

  router.post('/interaction/:uid/passkey/options', async (ctx) => {
    checkJsonCall(ctx, deps.publicOrigin, interactionCsrf(deps.csrfSecret, ctx.params.uid));
    const d = (await details(ctx, true))!;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.passkeys.authenticationOptions(`interaction:${d.uid}`, stepUpAccount(d));
  });

  router.post('/interaction/:uid/passkey/verify', async (ctx) => {
    checkJsonCall(ctx, deps.publicOrigin, interactionCsrf(deps.csrfSecret, ctx.params.uid));
    const d = (await details(ctx, true))!;
    const body = readJson(ctx);
    const stepUp = stepUpAccount(d);
    const login = await deps.passkeys.authenticate(`interaction:${d.uid}`, body, { ip: ctx.ip, clientId: String(d.params.client_id), expectAccountId: stepUp });
    // A step-up adds the passkey to the factors of this session's earlier login (RFC 8176 `mfa`).
    const earlier = stepUp ? ((d.session as { amr?: string[] } | undefined)?.amr ?? []) : [];
    const amr = [...new Set([...earlier, ...login.amr, ...(earlier.length ? ['mfa'] : [])])];
    const location = await deps.provider().interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: login.accountId, acr: ACR.high, amr, remember: true } },
      { mergeWithLastSubmission: false },
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location };
  });

  return router;
}
