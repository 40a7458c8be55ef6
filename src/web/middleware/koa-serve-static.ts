import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Middleware } from 'koa';
import type { AppState } from '../context.js';

/**
 * One static file of the server-rendered pages (a stylesheet, the passkey script), read once and
 * served from memory with a strong ETag (RFC 9110 §8.8.3): a revalidation that names it gets a
 * bodiless 304 (RFC 9110 §15.4.5). Browsers may keep a file for an hour; a deployment that
 * changes it changes its ETag.
 */
export function serveStatic(file: URL, contentType: string): Middleware<AppState> {
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return function serveStaticMiddleware(ctx) {
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'public, max-age=3600');
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = contentType;
    ctx.body = body;
  };
}
