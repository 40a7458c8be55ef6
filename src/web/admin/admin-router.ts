import Router from '@koa/router';
import type { AppState } from '../context.js';
import { serveStatic } from '../middleware/koa-serve-static.js';
import { adminConsole, type AdminRouterDeps } from './admin-console.js';
import { signInSection } from './sections/sign-in.js';
import { dashboardSection } from './sections/dashboard.js';
import { certificatesSection } from './sections/certificates.js';
import { requestsSection } from './sections/requests.js';
import { portalsSection } from './sections/portals.js';
import { accountsSection } from './sections/accounts.js';
import { accountActionsSection } from './sections/account-actions.js';
import { accountChangesSection } from './sections/account-changes.js';
import { auditSection } from './sections/audit.js';
import { trustSection } from './sections/trust.js';

export { pageOfAction } from './admin-console.js';
export type { AdminRouterDeps };

/**
 * The administration console (/admin): server-rendered pages over the same services as the REST
 * API. An official signs in through our provider as its own first-party client; every page
 * checks the session's account and roles; every change needs a form token bound to the session,
 * a same-origin post and a high-assurance login (step-up to a passkey or a certificate). The
 * services audit every change with the officer (`user:<account id>`) as the actor.
 *
 * The plumbing (session → officer, permissions, forms, step-up) is admin-console.ts and
 * admin-forms.ts; each section of the console registers its own routes (sections/).
 */
export function adminRouter(deps: AdminRouterDeps): Router<AppState> {
  const router = new Router<AppState>();
  const c = adminConsole(deps);
  router.get('/static/admin.css', serveStatic(new URL('../static/admin.css', import.meta.url), 'text/css; charset=utf-8'));
  for (const section of [signInSection, dashboardSection, certificatesSection, requestsSection, portalsSection, accountsSection, accountActionsSection, accountChangesSection, auditSection, trustSection]) section(router, c);
  return router;
}
