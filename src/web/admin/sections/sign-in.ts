import type Router from '@koa/router';
import type { AppContext, AppState } from '../../context.js';
import { pickLanguage } from '../../locales/messages.js';
import { sendPage } from '../../views/html.js';
import { at } from '../admin-messages.js';
import { messagePage } from '../views/admin-layout.js';
import { redirect, RETURN_PATH, type AdminConsole } from '../admin-console.js';

/** Back from the provider: on to the console page the login or step-up started from. */
const signInCallback = (c: AdminConsole) =>
  async function signInCallback(ctx: AppContext) {
    if (typeof ctx.query.error === 'string') {
      // The person cancelled the login or the step-up: back to the console's first page (or the
      // login again), with the provider's error named.
      const lang = pickLanguage(ctx);
      const frame = { lang, officer: '', high: false, csrf: '', nav: [], current: 'dashboard' as const, selfHref: '/admin', logoutHref: c.logoutHref() };
      sendPage(ctx, 400, messagePage(frame, at(lang, 'error.title'), `${ctx.query.error}: ${String(ctx.query.error_description ?? '')}`));
      return;
    }
    const state = typeof ctx.query.state === 'string' ? Buffer.from(ctx.query.state, 'base64url').toString('utf8') : '';
    redirect(ctx, RETURN_PATH.test(state) && !state.startsWith('//') ? state : '/admin');
  };

/** Step-up: the provider's login again, asking for the administration scopes (a passkey or a certificate). */
const stepUp = (c: AdminConsole) =>
  async function stepUp(ctx: AppContext) {
    const returnTo = typeof ctx.query.return === 'string' && RETURN_PATH.test(ctx.query.return) ? ctx.query.return : '/admin';
    redirect(ctx, c.authUrl(returnTo, true));
  };

/** Sign-in and step-up through our own provider (the console is its first-party client). */
export function signInSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/callback', signInCallback(c));
  router.get('/admin/step-up', stepUp(c));
}
