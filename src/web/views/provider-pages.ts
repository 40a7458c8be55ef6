import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ProviderPages } from '../../../oidc/ports.js';
import { pickLanguage } from '../locales/messages.js';
import { PAGE_CSP } from './html.js';
import { errorPage, loggedOutPage, logoutPage } from './pages.js';

/** The language of a provider page: the person's choice, then the portal's `ui_locales` (RP-Initiated Logout §2 too). */
const languageOf = (ctx: KoaContextWithOIDC) => pickLanguage(ctx, ctx.oidc?.params?.ui_locales);

/** The same page in the other language: a GET again with `lang` (a POST's page has no switch). */
function switchHrefOf(ctx: KoaContextWithOIDC): string | undefined {
  if (ctx.method !== 'GET') return undefined;
  const url = new URL(ctx.originalUrl, 'http://page.invalid');
  url.searchParams.delete('lang');
  return url.pathname + url.search;
}

/**
 * The pages oidc-provider shows itself: its error page (a failed authorization request that
 * cannot go back to the portal) and RP-initiated logout's confirmation and "logged out" pages.
 * The provider renders none (oidc/ports.ts); the composition root hands it these. oidc-provider
 * answers with its own status and cache headers: these add the page CSP and the body.
 */
export const providerPages: ProviderPages = {
  async renderError(ctx, out) {
    const lang = languageOf(ctx);
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    const details: Array<[string, string]> = Object.entries(out).map(([k, v]) => [k, String(v)]);
    ctx.body = errorPage({ lang, details, requestId: (ctx.state as { requestId?: string }).requestId, switchHref: switchHrefOf(ctx) });
  },
  async logoutSource(ctx, form) {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    ctx.body = logoutPage({ lang: languageOf(ctx), form, clientName: ctx.oidc.client?.clientName, signedIn: !!ctx.oidc.session?.accountId, switchHref: switchHrefOf(ctx) });
  },
  async postLogoutSuccessSource(ctx) {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    ctx.body = loggedOutPage({ lang: languageOf(ctx), clientName: ctx.oidc.client?.clientName, switchHref: switchHrefOf(ctx) });
  },
};
