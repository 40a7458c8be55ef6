import Koa from 'koa';
import type Router from '@koa/router';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { AppContext, AppState } from './context.js';
import type { HttpMetrics } from './metrics.js';
import type { ReadinessCheck } from '../lifecycle/readiness.js';
import { requestContextSteps } from './middleware/koa-request-context.js';
import { checkAnswer, renderProblem } from './middleware/koa-problem.js';
import { securityHeaderSteps } from './middleware/koa-security-headers.js';
import { bodyLimits } from './middleware/koa-body-limits.js';
import { healthRouter } from './health-router.js';
import { withHeldWrites, withRequestMemo } from '../../oidc/request-memo.js';

export interface AppDeps {
  config: Config;
  log: Logger;
  metrics: HttpMetrics;
  readiness: readonly ReadinessCheck[];
  isShuttingDown(): boolean;
  /** Feature routers, in order, after the health routes. */
  routers?: readonly Router<AppState>[];
  /** Mounted applications (oidc-provider under /oidc), before the routers. */
  mounts?: readonly Koa.Middleware<AppState>[];
  /** Path prefixes served by mounted applications that parse their own bodies (oidc-provider). */
  selfParsingPrefixes?: string[];
  /** Route prefixes with their own body cap (the validation endpoints take PDFs). */
  bodyPrefixLimits?: ReadonlyArray<{ prefix: string; limitBytes: number }>;
  /**
   * Reverse proxies in front of this application (default TRUST_PROXY). The mutual-TLS listener
   * terminates TLS itself, so no proxy can stand before it: 0 there, whatever TRUST_PROXY says.
   */
  trustProxyHops?: number;
}

/**
 * What every request goes through before its body is read or a route is matched: request id,
 * access line and metrics, the request memo, the shutdown's `Connection: close`, problem
 * documents, security headers. The token endpoint's lean path (src/web/token-fast-path.ts) runs
 * the same one.
 *
 * One async function for the five steps, in the order they had as five middlewares (each one
 * awaited the next: a promise, an await and a frame per step, with AsyncLocalStorage's hooks on
 * each promise; docs/performance.md, "Token endpoint, sixth pass"). From the outside in: the
 * request context (its access line sees the final status, problem documents included), the
 * request memo's scope, the shutdown's `Connection: close`, the problem documents, the security
 * headers (their deny-all CSP on a thrown error, which then becomes a problem document).
 */
export function frontMiddlewares(deps: Pick<AppDeps, 'config' | 'log' | 'metrics' | 'isShuttingDown'>, options: { securityHeadersLast?: boolean } = {}): Koa.Middleware<AppState>[] {
  const context = requestContextSteps(deps.log, deps.metrics);
  const security = securityHeaderSteps({ hsts: deps.config.server.publicUrl.startsWith('https:') });
  const { isShuttingDown } = deps;
  // `securityHeadersLast` (the token endpoint's lean path, whose answer is JSON written by Koa
  // after this function returns, never streamed before): the base headers are set when the rest
  // has answered or thrown rather than before it, with the same values, so that oidc-provider's
  // CORS step, which copies and scans every header already set, sees fewer (docs/performance.md,
  // "Token endpoint (client credentials), eighth pass").
  const early = !options.securityHeadersLast;
  async function front(ctx: AppContext, next: Koa.Next): Promise<void> {
    const started = context.begin(ctx);
    try {
      try {
        try {
          if (early) security.before(ctx);
          try {
            await next();
          } catch (err) {
            if (!early) security.before(ctx);
            security.failed(ctx);
            throw err;
          }
          if (!early) security.before(ctx);
          security.after(ctx);
          checkAnswer(ctx);
        } catch (err) {
          renderProblem(ctx, err);
        }
      } finally {
        // Let keep-alive clients go during a graceful shutdown, including requests already running.
        if (isShuttingDown()) ctx.set('Connection', 'close');
      }
    } finally {
      context.end(ctx, started);
    }
  }
  return [
    // One request's repeated reads of the same interaction, session, grant and account rows are
    // answered once (oidc/request-memo.ts): the whole request runs in the memo's scope, kept on
    // its Koa context, which oidc-provider's own AsyncLocalStorage carries (no second store).
    function frontMiddleware(ctx, next) {
      return withRequestMemo(() => front(ctx, next), ctx);
    },
  ];
}

/** Pure Koa assembly: no I/O, no listening. main.ts and the tests both build the app here. */
export function createApp(deps: AppDeps): Koa<AppState> {
  // TRUST_PROXY hops: X-Forwarded-For is read from the right, as many entries as there are
  // trusted proxies (each appends the address it saw); anything further left a client wrote.
  const hops = deps.trustProxyHops ?? deps.config.server.trustProxy;
  const app = new Koa<AppState>({ proxy: hops > 0, maxIpsCount: hops });
  // Errors are rendered and logged by problemResponses; Koa's own stderr printing stays quiet.
  app.silent = true;

  for (const middleware of frontMiddlewares(deps)) app.use(middleware);
  // The OIDC adapter's upserts of one request written together before the answer (a login's
  // resume stores its session, grant and code in one statement): inside problemResponses, so a
  // failed write is answered as any error (oidc/request-memo.ts, withHeldWrites).
  // A refused write takes back the redirect already prepared (a resume whose interaction another
  // request ended first: its code was not stored, and its Location must not leave).
  app.use(function heldWrites(ctx, next) {
    return withHeldWrites(next, () => ctx.remove('Location'));
  });
  app.use(bodyLimits({ limitBytes: deps.config.server.bodyLimitBytes, skipJsonPrefixes: deps.selfParsingPrefixes, prefixLimits: deps.bodyPrefixLimits }));

  for (const mounted of deps.mounts ?? []) app.use(mounted);

  const routers = [healthRouter({ readiness: deps.readiness, metrics: deps.metrics, isShuttingDown: deps.isShuttingDown }), ...(deps.routers ?? [])];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
