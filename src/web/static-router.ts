import Router from '@koa/router';
import type { AppState } from './context.js';
import { serveStatic } from './middleware/koa-serve-static.js';

/** The stylesheet of every server-rendered page (the console's and the passkey script are served by their routers). */
export function staticRouter(): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/static/tinnhiem.css', serveStatic(new URL('./static/tinnhiem.css', import.meta.url), 'text/css; charset=utf-8'));
  return router;
}
