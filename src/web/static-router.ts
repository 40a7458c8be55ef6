import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import type { AppState } from './context.js';

/** The few static assets of the server-rendered pages, served from memory with an ETag. */
export function staticRouter(): Router<AppState> {
  const css = readFileSync(new URL('./static/tinnhiem.css', import.meta.url));
  const etag = `"${createHash('sha256').update(css).digest('base64url').slice(0, 22)}"`;
  const router = new Router<AppState>();
  router.get('/static/tinnhiem.css', (ctx) => {
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'public, max-age=3600');
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = 'text/css; charset=utf-8';
    ctx.body = css;
  });
  return router;
}
