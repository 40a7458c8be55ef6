import type { ProviderPages } from '../../../oidc/ports.js';
import { pickLanguage } from '../locales/messages.js';
import { PAGE_CSP } from './html.js';
import { errorPage, loggedOutPage, logoutPage } from './pages.js';

/**
 * The pages oidc-provider shows itself: its error page (a failed authorization request that
 * cannot go back to the portal) and RP-initiated logout's confirmation and "logged out" pages.
 * The provider renders none (oidc/ports.ts); the composition root hands it these. oidc-provider
 * answers with its own status and cache headers: these add the page CSP and the body.
 */
export const providerPages: ProviderPages = {
  async renderError(ctx, out) {
    const lang = pickLanguage(ctx);
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    const details: Array<[string, string]> = Object.entries(out).map(([k, v]) => [k, String(v)]);
    ctx.body = errorPage({ lang, details, requestId: (ctx.state as { requestId?: string }).requestId });
  },
  async logoutSource(ctx, form) {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    ctx.body = logoutPage({ lang: pickLanguage(ctx), form });
  },
  async postLogoutSuccessSource(ctx) {
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.type = 'html';
    ctx.body = loggedOutPage({ lang: pickLanguage(ctx), clientName: ctx.oidc.client?.clientName });
  },
};
