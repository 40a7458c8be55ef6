import Router from '@koa/router';
import type { Provider } from 'oidc-provider';
import { AppError, asAppError } from '../../errors/app-error.js';
import type { AppContext, AppState } from '../context.js';
import type { Account } from '../../../oidc/account.js';
import { ACR } from '../../../oidc/scopes.js';
import { pickLanguage, type Language } from '../locales/messages.js';
import { th } from '../locales/home-messages.js';
import { html } from '../views/html.js';
import { sendPage } from '../views/html.js';
import { layout } from '../views/pages.js';
import { formGuard, readUrlEncoded, requireUrlEncoded } from '../middleware/koa-form-guard.js';
import { interactionOrExpired } from './interaction-session.js';
import { Sealer } from './federation-sealer.js';

export interface SetPasswordDeps {
  provider(): Provider;
  publicOrigin: string;
  csrfSecret: Buffer;
  required(account: Account): boolean;
  setPassword(accountId: string, password: string): Promise<void>;
  now(): Date;
}

const TTL_MS = 10 * 60_000;
const FORM_LIMIT = 4 * 1024;

function page(lang: Language, uid: string, csrf: string, proof: string, error?: string): string {
  const body = html`
<h1>${th(lang, 'setPassword.title')}</h1>
<p>${th(lang, 'setPassword.intro')}</p>
${error ? html`<p class="error" role="alert" id="set-password-error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/set-password">
  <input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="proof" value="${proof}">
  <label for="new-password">${th(lang, 'password.new')}</label>
  <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="10" maxlength="256" required autofocus>
  <label for="confirm-password">${th(lang, 'password.confirm')}</label>
  <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" minlength="10" maxlength="256" required>
  <button type="submit">${th(lang, 'password.submit')}</button>
</form>`;
  return layout(lang, th(lang, 'setPassword.title'), body);
}

/**
 * The required action "set your password": an account whose password an administrator generated
 * (the console's reset) does not finish a login with it. After the password is verified, the
 * login page hands over to this page instead of resuming the authorization, so no code or session
 * exists until the holder has set their own. What proves the password was verified is a sealed
 * value naming the interaction and the account (AES-GCM under the installation's secret, 10
 * minutes), never the interaction's result, which the provider would act on by itself.
 */
export function setPasswordStep(deps: SetPasswordDeps) {
  const guard = formGuard({ publicOrigin: deps.publicOrigin, secret: deps.csrfSecret, purpose: 'interaction' });
  const sealer = new Sealer(deps.csrfSecret, 'set-password');
  const render = (ctx: AppContext, lang: Language, uid: string, accountId: string, status = 200, error?: string) =>
    sendPage(ctx, status, page(lang, uid, guard.token(uid), sealer.seal({ uid, accountId, exp: deps.now().getTime() + TTL_MS }), error));

  const router = new Router<AppState>({ prefix: '/interaction' });
  router.post('/:uid/set-password', async function setPassword(ctx: AppContext) {
    const d = await interactionOrExpired(ctx, deps.provider, { loginOnly: true });
    if (!d) return;
    requireUrlEncoded(ctx);
    guard.checkOrigin(ctx);
    const form = await readUrlEncoded(ctx, FORM_LIMIT);
    if (!guard.accepts(d.uid, form.get('csrf'))) throw new AppError('forbidden', 'the form expired: reload the page');
    const proof = sealer.open<{ uid: string; accountId: string; exp: number }>(form.get('proof') ?? undefined, deps.now());
    if (!proof || proof.uid !== d.uid) throw new AppError('forbidden', 'log in again: the password check of this login is missing or expired');
    const lang = pickLanguage(ctx);
    const password = form.get('password') ?? '';
    try {
      if (password !== (form.get('confirm') ?? '')) throw new AppError('validationFailed', th(lang, 'password.mismatch'));
      await deps.setPassword(proof.accountId, password);
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status === 400) return render(ctx, lang, d.uid, proof.accountId, 400, refused.detail);
      throw err;
    }
    const redirectTo = await deps.provider().interactionResult(ctx.req, ctx.res, { login: { accountId: proof.accountId, acr: ACR.low, amr: ['pwd'], remember: true } }, { mergeWithLastSubmission: false });
    ctx.redirect(redirectTo);
    ctx.status = 303;
  });
  return {
    router,
    /** After a verified password: true when the page was sent instead of finishing the login. */
    interceptLogin(ctx: AppContext, lang: Language, uid: string, account: Account): boolean {
      if (!deps.required(account)) return false;
      render(ctx, lang, uid, account.id);
      return true;
    },
  };
}
