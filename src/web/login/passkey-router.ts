import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { PasskeyService } from '../../webauthn/passkey-service.js';
import { pickLanguage, t } from '../locales/messages.js';
import { passkeyPage, type LoginMethodLink } from '../views/pages.js';
import { sendPage } from '../views/html.js';
import { formGuard, type FormGuard } from '../middleware/koa-form-guard.js';
import { serveStatic } from '../middleware/koa-serve-static.js';
import { interactionForCall, interactionOrExpired, type InteractionDetails } from './interaction-session.js';
import { ACR } from '../../../oidc/scopes.js';
import { isStepUp } from '../../../oidc/step-up.js';
import { capturingInteraction, readGuardedInteraction } from '../../../oidc/login-capture.js';
import { passkeyResumePath } from './passkey-resume.js';

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

/**
 * The login page's link to the passkey page, and the script for autofill (conditional UI) with
 * the ceremony's first options: a passwordless challenge sealed now (bound to this interaction,
 * expiring with the ceremony's timeout, spent when an assertion is accepted; nothing written), so the
 * autofill goes from the login page straight to the assertion, one request fewer than the
 * options call it replaces. The login page is shown only for a login prompt that is not a
 * step-up (the step-up page has its own), so these are always passwordless options.
 */
export const passkeyLoginMethod = async (uid: string, passkeys: Pick<PasskeyService, 'authenticationOptions'>): Promise<LoginMethodLink> => ({
  id: 'passkey',
  href: `/interaction/${uid}/passkey`,
  label: { vi: t('vi', 'passkey.method'), en: t('en', 'passkey.method') },
  script: PASSKEY_SCRIPT,
  options: await passkeys.authenticationOptions(`interaction:${uid}`),
  verify: passkeyResumePath(uid),
});

/** The JSON body (already parsed, within the body limit, by the bodyLimits middleware). */
export function readJson(ctx: AppContext): unknown {
  if (!ctx.request.is('application/json')) throw new AppError('unsupportedMediaType', 'expected application/json');
  return ctx.request.body ?? {};
}

/** The account a step-up must prove again, or undefined for a passwordless login. */
const stepUpAccount = (d: InteractionDetails) => (isStepUp(d.prompt.reasons) && d.session?.accountId ? d.session.accountId : undefined);

/** The passkey page: passwordless login, or the step-up prompt for the signed-in account. */
const showPasskeyPage = (deps: PasskeyRouterDeps, guard: FormGuard) =>
  async function showPasskeyPage(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, deps.provider, { loginOnly: true });
    if (!d) return;
    const lang = pickLanguage(ctx, d.params.ui_locales);
    const client = await deps.provider().Client.find(String(d.params.client_id));
    const stepUp = stepUpAccount(d);
    const base = `/interaction/${d.uid}/passkey`;
    const stepUpDetails = d.prompt.details as { scopes?: string[] };
    // The ceremony's options come with the page (its challenge sealed now, bound to this
    // interaction as the options call binds it, single use): the script needs no call of its own
    // before the authenticator, and asks the options call only to try again. None for a step-up
    // account without a passkey: the page says so.
    const options = await deps.passkeys.authenticationOptionsIfAny(`interaction:${d.uid}`, stepUp);
    sendPage(
      ctx,
      200,
      passkeyPage({
        lang,
        selfHref: base,
        clientName: client?.clientName ?? String(d.params.client_id),
        csrf: guard.token(d.uid),
        optionsUrl: `${base}/options`,
        options: options ?? undefined,
        verifyUrl: passkeyResumePath(d.uid),
        backHref: stepUp ? undefined : `/interaction/${d.uid}`,
        abortHref: `/interaction/${d.uid}/abort`,
        stepUpScopes: stepUp ? (stepUpDetails.scopes ?? []) : undefined,
        hasPasskey: stepUp ? options !== null : undefined,
        methods: stepUp ? deps.strongMethods(d.uid) : [],
      }),
    );
  };

/** WebAuthn authentication options for this interaction (the ceremony's first call). */
const authenticationOptions = (deps: PasskeyRouterDeps, guard: FormGuard) =>
  async function authenticationOptions(ctx: AppContext) {
    guard.checkScriptCall(ctx, ctx.params.uid);
    const d = await interactionForCall(ctx, deps.provider, { loginOnly: true });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await deps.passkeys.authenticationOptions(`interaction:${d.uid}`, stepUpAccount(d));
  };

/** The assertion: the login (or the step-up) completes, and the script follows `location`. */
const verifyAssertion = (deps: PasskeyRouterDeps, guard: FormGuard) =>
  async function verifyAssertion(ctx: AppContext) {
    guard.checkScriptCall(ctx, ctx.params.uid);
    // With a guard, as the assertion under the resume's address (passkey-resume.ts): the result is
    // stored only on the interaction as read here, so both routes lock it before the passkey.
    const { value: d, guard: read } = await readGuardedInteraction(() => interactionForCall(ctx, deps.provider, { loginOnly: true }));
    const body = readJson(ctx);
    const stepUp = stepUpAccount(d);
    // The interaction's result is made once the assertion verified and stored by the statement
    // that accepts it (its challenge's marker, the counter, the audit event), only if it does: one
    // round trip (docs/performance.md, "Logins, seventh pass").
    let location: string | undefined;
    await deps.passkeys.authenticate(`interaction:${d.uid}`, body, {
      ip: ctx.ip,
      clientId: String(d.params.client_id),
      expectAccountId: stepUp,
      storeWithLogin: async (login) => {
        // A step-up adds the passkey to the factors of this session's earlier login (RFC 8176 `mfa`).
        const earlier = stepUp ? ((d.session as { amr?: string[] } | undefined)?.amr ?? []) : [];
        const amr = [...new Set([...earlier, ...login.amr, ...(earlier.length ? ['mfa'] : [])])];
        const result = await capturingInteraction(() =>
          deps.provider().interactionResult(ctx.req, ctx.res, { login: { accountId: login.accountId, acr: ACR.high, amr, remember: true } }, { mergeWithLastSubmission: false }), read,
        );
        location = result.value;
        return result.rows;
      },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { location };
  };

/**
 * Passkey login inside an OIDC interaction: passwordless (any discoverable credential of this
 * RP, user verification required) or, when the interaction asks for step-up, a second factor
 * limited to the signed-in account's passkeys. Serves the ceremony script too. The page's token
 * is the interaction's (the login page's forms carry the same one).
 */
export function passkeyRouter(deps: PasskeyRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const guard = formGuard({ publicOrigin: deps.publicOrigin, secret: deps.csrfSecret, purpose: 'interaction' });
  router.get(PASSKEY_SCRIPT, serveStatic(new URL('../static/passkeys.js', import.meta.url), 'text/javascript; charset=utf-8'));
  router.get('/interaction/:uid/passkey', showPasskeyPage(deps, guard));
  router.post('/interaction/:uid/passkey/options', authenticationOptions(deps, guard));
  router.post('/interaction/:uid/passkey/verify', verifyAssertion(deps, guard));
  return router;
}
