import Router from '@koa/router';
import { AppError, toProblem } from '../errors/app-error.js';
import { runReadiness, type ReadinessCheck } from '../lifecycle/readiness.js';
import type { AppState } from './context.js';
import type { HttpMetrics } from './metrics.js';

export interface HealthRouterDeps {
  readiness: readonly ReadinessCheck[];
  metrics: HttpMetrics;
  isShuttingDown(): boolean;
}

/** Liveness, readiness (for load balancers and orchestrators) and Prometheus metrics. */
export function healthRouter(deps: HealthRouterDeps): Router<AppState> {
  const router = new Router<AppState>();

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const report = await runReadiness(deps.readiness, deps.isShuttingDown());
    if (!report.ready) {
      // Details (hosts, error texts) go to the log only; the response names the failing checks.
      const failing = Object.entries(report.checks).filter(([, r]) => !r.ok);
      ctx.state.log.warn({ checks: report.checks }, 'not ready');
      const problem = toProblem(new AppError('unavailable', 'not ready'), ctx.path);
      ctx.status = 503;
      ctx.type = 'application/problem+json';
      ctx.body = { ...problem, failing: failing.map(([name]) => name), requestId: ctx.state.requestId };
      return;
    }
    ctx.body = { status: 'ready', checks: Object.fromEntries(Object.entries(report.checks).map(([n, r]) => [n, r.ok ? 'ok' : 'failing'])) };
  });

  router.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  return router;
}
