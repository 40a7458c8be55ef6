import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import { refuseUnsafeText } from '../api/parse-input.js';
import { AppError } from '../../errors/app-error.js';
import type { AppState } from '../context.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

declare module '../context.js' {
  interface AppState {
    /** The body cap of this request's route (BODY_LIMIT_BYTES unless a prefix has its own). */
    bodyLimitBytes?: number;
  }
}

/**
 * Enforces the body size limit on every request (a declared Content-Length over it is refused
 * before anything is read) and parses JSON bodies for the service's own routes. Routes with other
 * bodies (OCSP's DER, multipart) read them with `readBody` under the same limit. Paths handled by
 * a mounted application that parses its own bodies (oidc-provider) are skipped.
 */
export function bodyLimits(options: { limitBytes: number; skipJsonPrefixes?: string[]; prefixLimits?: ReadonlyArray<{ prefix: string; limitBytes: number }> }): Middleware<AppState> {
  const skip = options.skipJsonPrefixes ?? [];
  return async function bodyLimitsMiddleware(ctx, next) {
    // A route family may have its own cap (the validation endpoints take PDFs).
    const limitBytes = options.prefixLimits?.find((p) => ctx.path === p.prefix || ctx.path.startsWith(`${p.prefix}/`))?.limitBytes ?? options.limitBytes;
    ctx.state.bodyLimitBytes = limitBytes;
    const declared = ctx.request.length;
    if (declared !== undefined && declared > limitBytes) {
      throw new AppError('payloadTooLarge', `request body of ${declared} bytes exceeds the limit of ${limitBytes} bytes`, {
        limitBytes,
      });
    }
    // Every query string, the mounted provider's included: no NUL or lone surrogate (parse-input.ts).
    refuseUnsafeText(ctx.query, 'query');
    if (ctx.request.is(JSON_TYPES) && !skip.some((p) => ctx.path === p || ctx.path.startsWith(`${p}/`))) {
      const parsed = await readJsonBody(ctx, limitBytes);
      if (parsed !== undefined) ctx.request.body = parsed;
    }
    await next();
  };
}

/**
 * A JSON body read under the limit and parsed (undefined when empty), with the checks every JSON
 * body of ours gets; for a route of ours under a skipped prefix (src/web/login/passkey-resume.ts).
 */
export async function readJsonBody(ctx: { req: IncomingMessage; request: { length?: number } }, limitBytes: number): Promise<unknown> {
  const raw = await readBody(ctx, limitBytes);
  if (raw.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new AppError('malformedJson', `request body is not valid JSON: ${(err as Error).message}`);
  }
  // JSON's \u0000 and \ud800 escapes reach here; raw bytes cannot (invalid UTF-8 decodes to U+FFFD).
  refuseUnsafeText(parsed, 'body');
  return parsed;
}

/** Reads the raw body with the limit; a chunked body that grows past it gets 413. */
export async function readBody(ctx: { req: IncomingMessage; request: { length?: number } }, limitBytes: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit: limitBytes, length: ctx.request.length });
  } catch (err) {
    const e = err as { type?: string; message?: string };
    if (e.type === 'entity.too.large') throw new AppError('payloadTooLarge', `request body exceeds the limit of ${limitBytes} bytes`, { limitBytes });
    if (e.type === 'request.size.invalid') throw new AppError('badRequest', 'request body length does not match Content-Length');
    if (e.type === 'request.aborted') throw new AppError('badRequest', 'the client aborted the request body');
    throw err;
  }
}

/** Route guard: 415 unless the request body has one of `types`. */
export function requireContentType(...types: string[]): Middleware<AppState> {
  return async function requireContentTypeMiddleware(ctx, next) {
    if (!ctx.request.is(types)) {
      throw new AppError('unsupportedMediaType', `expected Content-Type ${types.join(' or ')}, got ${ctx.get('content-type') || 'none'}`);
    }
    await next();
  };
}
