import type { Middleware, ParameterizedContext } from 'koa';

/** The CSP of every response that is not an HTML page: nothing may load, nothing may frame it. */
export const DENY_ALL_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Headers every response carries (the OCSP fast path sets the same ones without Koa). */
export function baseSecurityHeaders(options: { hsts: boolean }): Record<string, string> {
  return {
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    ...(options.hsts ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/**
 * Defaults for every response; pages that render HTML set their own CSP with a nonce. JSON
 * responses get a CSP that forbids everything, so a mis-sniffed body can never run script.
 */
export function securityHeaders(options: { hsts: boolean }): Middleware {
  const steps = securityHeaderSteps(options);
  return async function securityHeadersMiddleware(ctx, next) {
    steps.before(ctx);
    try {
      await next();
    } catch (err) {
      steps.failed(ctx);
      throw err;
    }
    steps.after(ctx);
  };
}

/** What securityHeaders does around the rest of a request (also run by the single front middleware, src/web/app.ts). */
export interface SecurityHeaderSteps {
  /** The base headers, before the rest runs. */
  before(ctx: ParameterizedContext): void;
  /** The rest threw: its problem document is JSON, so the deny-all CSP unless one is set. */
  failed(ctx: ParameterizedContext): void;
  /** The rest answered: the deny-all CSP for anything that is not HTML and has no CSP of its own. */
  after(ctx: ParameterizedContext): void;
}

export function securityHeaderSteps(options: { hsts: boolean }): SecurityHeaderSteps {
  const base = Object.entries(baseSecurityHeaders(options));
  return {
    before(ctx) {
      // As ctx.set(base) without Koa's per-call arrays (docs/performance.md, "Token endpoint, fourth pass").
      if (!ctx.headerSent) for (const [name, value] of base) ctx.res.setHeader(name, value);
    },
    failed(ctx) {
      // The error becomes a problem document (koa-problem.ts, outside this one): JSON, so the
      // deny-all CSP, as for any JSON answer (a thrown 413 or 500 had none before 2026-12-05).
      if (!ctx.headerSent && !ctx.res.getHeader('content-security-policy')) ctx.res.setHeader('Content-Security-Policy', DENY_ALL_CSP);
    },
    after(ctx) {
      // Node's getHeader, not Koa's response.get: that copies every header of the answer into a new
      // object (res.getHeaders()) at each call (docs/performance.md, "Token endpoint, fifth pass").
      if (!ctx.res.getHeader('content-security-policy') && !isHtml(ctx.res, ctx.response)) {
        if (!ctx.headerSent) ctx.res.setHeader('Content-Security-Policy', DENY_ALL_CSP);
      }
    },
  };
}

/** The JSON types the service answers with most: never HTML, known without parsing (type-is's answer for them is false). */
const NOT_HTML = new Set(['application/json; charset=utf-8', 'application/problem+json; charset=utf-8', 'application/json']);

/** Koa's `response.is('html')` (type-is), answered at once for NOT_HTML. */
function isHtml(res: { getHeader(name: string): string | number | string[] | undefined }, response: { is(type: string): string | false | null }): boolean {
  const type = res.getHeader('content-type');
  if (typeof type === 'string' && NOT_HTML.has(type)) return false;
  return Boolean(response.is('html'));
}
