import type { AppContext } from '../context.js';
import { pickLanguage, t, type Language, type MessageKey } from '../locales/messages.js';
import { sendPage } from './html.js';
import { errorPage } from './pages.js';

export interface ErrorPageContent {
  /** The language when the caller already chose it (choosing it again would set the cookie twice). */
  lang?: Language;
  /** A text of the pages, or one composed in the page's language; the generic one when absent. */
  message?: MessageKey | ((lang: Language) => string);
  details?: Array<[string, string]>;
}

/** The login pages' error page (HTML, never cached), with the request id to quote to the help desk. */
export function sendErrorPage(ctx: AppContext, status: number, content: ErrorPageContent = {}): void {
  const lang = content.lang ?? pickLanguage(ctx);
  const message = typeof content.message === 'function' ? content.message(lang) : content.message && t(lang, content.message);
  sendPage(ctx, status, errorPage({ lang, message, details: content.details ?? [], requestId: ctx.state.requestId, switchHref: sameGetPage(ctx) }));
}

/** A GET page's own URL without `lang`, for the language switch (a POST's page cannot be loaded again). */
function sameGetPage(ctx: AppContext): string | undefined {
  if (ctx.method !== 'GET') return undefined;
  const url = new URL(ctx.originalUrl, 'http://page.invalid');
  url.searchParams.delete('lang');
  return url.pathname + url.search;
}

/** The sign-in session is gone (no or an expired interaction cookie, or another browser's link). */
export function sendSessionExpired(ctx: AppContext, lang?: Language): void {
  sendErrorPage(ctx, 400, { lang, message: 'error.session' });
}
