import type { Middleware } from 'koa';
import { AppError, asAppError, kindForStatus, toProblem } from '../../errors/app-error.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../../errors/dependency-unavailable.js';
import type { AppContext, AppState } from '../context.js';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
  headers?: Record<string, string>;
}

/** Turns domain errors (ca/) and library errors (koa's ctx.throw, raw-body, @koa/router's 405) into AppErrors. */
function toAppError(err: unknown): AppError {
  const known = asAppError(err);
  if (known) return known;
  // A database that is restarting or unreachable is not our fault and passes: 503, retry soon.
  if (isDatabaseUnavailable(err)) return new AppError('unavailable', 'the database is unavailable', { retryAfter: DATABASE_RETRY_AFTER_SECONDS }, { cause: err });
  const e = (err ?? {}) as HttpLikeError;
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.too.large') return new AppError('payloadTooLarge', e.message ?? 'request body too large');
  if (e.type === 'request.aborted') return new AppError('badRequest', 'the client aborted the request body');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(kindForStatus(status), e.expose !== false && e.message ? e.message : 'bad request');
  }
  return new AppError('internal', 'internal error', {}, { cause: err });
}

/**
 * Renders every error as RFC 7807 `application/problem+json`, unmatched routes included. No
 * stack trace and no detail of a 5xx reaches the client; the log has them with the request id.
 */
export function problemResponses(): Middleware<AppState> {
  return async function problemMiddleware(ctx, next) {
    try {
      await next();
      checkAnswer(ctx);
    } catch (err) {
      renderProblem(ctx, err);
    }
  };
}

/**
 * After the rest of a request answered without throwing: a 503 gets Retry-After; an error status
 * without a body throws the AppError its problem document renders (renderProblem).
 */
export function checkAnswer(ctx: AppContext): void {
  // Any 503 (oidc-provider's temporarily_unavailable from the token endpoint included) tells
  // the client when to come back (RFC 9110 §10.2.3).
  if (ctx.status === 503 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  // Responses that ended in an error status without a body (unmatched route, @koa/router's
  // 405/501 with its Allow header) get a problem document too.
  if (ctx.status >= 400 && ctx.body == null) {
    if (ctx.status === 404) throw new AppError('notFound', `no resource at ${ctx.method} ${ctx.path}`);
    if (ctx.status === 405) throw new AppError('methodNotAllowed', `${ctx.method} is not allowed on ${ctx.path} (allowed: ${ctx.response.get('Allow')})`);
    if (ctx.status === 501) throw new AppError('notImplemented', `method ${ctx.method} is not supported`);
    throw new AppError(kindForStatus(ctx.status), `request failed with status ${ctx.status}`);
  }
}

/** The answer to an error thrown by the rest of a request: its problem document (5xx logged, no detail shown). */
export function renderProblem(ctx: AppContext, err: unknown): void {
  const appError = toAppError(err);
  if (appError.status >= 500) {
    ctx.state.log?.error({ err: appError.cause ?? appError }, 'request failed');
  }
  if (appError.kind === 'unavailable') ctx.set('Retry-After', String(appError.extensions.retryAfter ?? DATABASE_RETRY_AFTER_SECONDS));
  const extra = (err as HttpLikeError)?.headers;
  if (extra) for (const [name, value] of Object.entries(extra)) ctx.set(name, value);
  ctx.status = appError.status;
  ctx.body = { ...toProblem(appError, ctx.path), requestId: ctx.state.requestId };
  ctx.type = 'application/problem+json';
}
