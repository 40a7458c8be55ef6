import Router from '@koa/router';
import type { AppContext, AppState } from '../context.js';
import { pickLanguage } from '../locales/messages.js';
import { sendPage } from '../views/html.js';
import { homePage, type DevelopmentView, type HomeIssuerView } from '../views/home-pages.js';

export interface HomeRouterDeps {
  publicUrl: string;
  /** The CAs whose certificate and CRL the public repository serves (active roots and issuing CAs). */
  issuers(): Promise<HomeIssuerView[]>;
  /** Only in a development start: the demo credentials, shown on the page. */
  development?: DevelopmentView;
}

/**
 * The home page `/`: what this service is and where its parts are (account, console, discovery,
 * the API document, the CA's public repository); in development, the demo credentials and the
 * demo portal. A page, so the page CSP and no inline script or style (src/web/views/html.ts).
 */
export function homeRouter(deps: HomeRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/', async function showHome(ctx: AppContext) {
    const lang = pickLanguage(ctx);
    const issuers = await deps.issuers();
    sendPage(ctx, 200, homePage({ lang, publicUrl: deps.publicUrl, issuers, development: deps.development }));
  });
  return router;
}
