import type { Middleware } from 'koa';

/**
 * Defaults for every response; pages that render HTML set their own CSP with a nonce. JSON
 * responses get a CSP that forbids everything, so a mis-sniffed body can never run script.
 */
export function securityHeaders(options: { hsts: boolean }): Middleware {
  return async function securityHeadersMiddleware(ctx, next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
    if (!ctx.response.get('Content-Security-Policy') && !ctx.response.is('html')) {
      ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    }
  };
}
