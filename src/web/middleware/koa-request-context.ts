import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../logging/logger.js';
import type { HttpMetrics } from '../metrics.js';
import type { AppContext, AppState } from '../context.js';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A proxy's X-Request-Id when it is safe to log, else a new one. */
export const requestIdFrom = (incoming: string | undefined): string => (incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID());

/**
 * Outermost middleware: request id (kept from a proxy's X-Request-Id when it is safe to log),
 * a child logger, the access log line and the latency histogram. It sees the final status,
 * including errors rendered by koa-problem.ts. Query strings are never logged: OAuth codes and
 * tokens travel there.
 */
export function requestContext(log: Logger, metrics: HttpMetrics): Middleware<AppState> {
  const steps = requestContextSteps(log, metrics);
  return async function requestContextMiddleware(ctx, next) {
    const started = steps.begin(ctx);
    try {
      await next();
    } finally {
      steps.end(ctx, started);
    }
  };
}

/** What requestContext does before and after the rest of a request (also run by the single front middleware, src/web/app.ts). */
export interface RequestContextSteps {
  /** Request id, lazy child logger, `X-Request-Id`; returns the start time. */
  begin(ctx: AppContext): bigint;
  /** The latency histogram and the access line, with the final status. */
  end(ctx: AppContext, started: bigint): void;
}

export function requestContextSteps(log: Logger, metrics: HttpMetrics): RequestContextSteps {
  // One accessor for every request (docs/performance.md, "Token endpoint, fourth pass"): the
  // child logger is made when first used (most requests log one line, or none below info), from
  // the request's own id; no closure is made per request. The accessor lives on the prototype of
  // the request's state, where `Object.defineProperty` on every request's own state cost about
  // six times as much as making the state from that prototype (docs/performance.md, "Token
  // endpoint (client credentials), eighth pass").
  const stateWithLazyLog = Object.create(Object.prototype, {
    log: {
      configurable: true,
      enumerable: true,
      get(this: LazyLogState) {
        return (this[CHILD] ??= log.child({ requestId: this.requestId }));
      },
      set(this: LazyLogState, value: Logger) {
        this[CHILD] = value;
      },
    },
  }) as object;
  return {
    begin(ctx) {
      const requestId = requestIdFrom(ctx.get('x-request-id'));
      // What was set on the state before this step (the lean token path's route label) is kept.
      const state = Object.assign(Object.create(stateWithLazyLog) as AppState, ctx.state);
      state.requestId = requestId;
      ctx.state = state;
      // As ctx.set without Koa's checks and conversions: one string, safe by requestIdFrom.
      if (!ctx.headerSent) ctx.res.setHeader('X-Request-Id', requestId);
      return process.hrtime.bigint();
    },
    end(ctx, started) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeLabel(ctx);
      metrics.observe(ctx.method, route, ctx.status, seconds);
      if (ctx.status >= 500) ctx.state.log.error(accessLine(ctx, route, seconds), 'request');
      else if (log.isLevelEnabled('info')) ctx.state.log.info(accessLine(ctx, route, seconds), 'request');
    },
  };
}

/** The child logger of one request, kept on its state under a key nothing else names. */
const CHILD = Symbol('request logger');
interface LazyLogState {
  requestId: string;
  [CHILD]?: Logger;
}

/** The access line (built only when it is written). */
function accessLine(ctx: Parameters<Middleware<AppState>>[0], route: string, seconds: number) {
  return {
    req: { method: ctx.method, path: ctx.path, ip: ctx.ip },
    res: { status: ctx.status },
    route,
    durationMs: Math.round(seconds * 1e4) / 10,
  };
}

/** Bounded label set: the router's template, a mounted prefix, or "unmatched". */
function routeLabel(ctx: { _matchedRoute?: string | RegExp; state: AppState }): string {
  if (ctx.state.routeLabel) return ctx.state.routeLabel;
  if (typeof ctx._matchedRoute === 'string') return ctx._matchedRoute;
  return 'unmatched';
}
