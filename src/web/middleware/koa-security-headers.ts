import type { Middleware } from 'koa';

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
  const base = baseSecurityHeaders(options);
  return async function securityHeadersMiddleware(ctx, next) {
    ctx.set(base);
    await next();
    if (!ctx.response.get('Content-Security-Policy') && !ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', DENY_ALL_CSP);
    }
  };
}
