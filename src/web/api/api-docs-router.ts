import Router from '@koa/router';
import type { AppState } from '../context.js';
import { openApiDocument } from './openapi-registry.js';

/** The OpenAPI 3.1 document of /api/v1, generated from the routers' zod schemas. */
export function apiDocsRouter(deps: { publicUrl: string }): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/api/v1/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = openApiDocument(deps.publicUrl);
  });
  return router;
}
