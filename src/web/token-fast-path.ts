import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export interface TokenFastPathDeps {
  /** BODY_LIMIT_BYTES: a longer declared body goes to the host application, which refuses it (413). */
  limitBytes: number;
  /** The token endpoint on the provider's own context, behind the host's front middlewares (OidcProvider.tokenListener). */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/**
 * `POST /oidc/token` ahead of the host Koa application (docs/performance.md, "Token endpoint"):
 * a client-credentials grant spent about a third of its CPU in a second Koa context, the body
 * limits, the routers' matching and koa-mount in front of oidc-provider's own Koa application.
 * Here the request runs the same front middlewares (request id, access line and metrics, request
 * memo, shutdown, problem documents, security headers), the same client authentication throttle
 * (one instance for both ways, its leases per process) and the provider's token endpoint as
 * `OidcProvider.middleware()` runs it, on the provider's context.
 *
 * Only the plain request takes it: that exact path without a query string, a declared
 * Content-Length within the body limit, no Transfer-Encoding. Anything else (a chunked or
 * oversized body, a query, another method) goes to the host application as before, which renders
 * its errors (413 and the rest) as it always has.
 */
export function tokenFastPath(deps: TokenFastPathDeps, fallback: RequestListener): RequestListener {
  return function tokenFastPathListener(req, res) {
    if (req.method === 'POST' && req.url === '/oidc/token' && req.headers['transfer-encoding'] === undefined) {
      const declared = req.headers['content-length'];
      if (declared !== undefined && /^\d{1,12}$/.test(declared) && Number(declared) <= deps.limitBytes) {
        void deps.serve(req, res);
        return;
      }
    }
    fallback(req, res);
  };
}
