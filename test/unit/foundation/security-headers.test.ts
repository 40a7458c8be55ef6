import { describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { DENY_ALL_CSP, securityHeaders } from '../../../src/web/middleware/koa-security-headers.js';

/**
 * koa-security-headers.ts answers "is this HTML?" at once for the service's usual JSON types and
 * asks type-is otherwise: for every content type, the deny-all CSP must be set exactly when
 * type-is says the response is not HTML (and no CSP was set by the route).
 */
async function answer(type: string | undefined, ownCsp?: string, fail = false): Promise<{ headers: Record<string, unknown>; html: boolean }> {
  let html = false;
  const app = new Koa();
  // As koa-problem.ts, outside: a thrown error becomes a JSON problem document.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch {
      ctx.status = 413;
      ctx.body = { title: 'too large' };
    }
  });
  app.use(securityHeaders({ hsts: true }));
  app.use((ctx) => {
    if (fail) throw new Error('too large');
    ctx.body = 'x';
    if (type !== undefined) ctx.set('Content-Type', type);
    else ctx.remove('Content-Type');
    if (ownCsp) ctx.set('Content-Security-Policy', ownCsp);
    // The general answer (Koa's response.is, type-is), asked of the same response.
    html = Boolean(ctx.response.is('html'));
  });
  const headers: Record<string, unknown> = {};
  const res = {
    statusCode: 404,
    headersSent: false,
    setHeader: (k: string, v: unknown) => void (headers[k.toLowerCase()] = v),
    getHeader: (k: string) => headers[k.toLowerCase()],
    removeHeader: (k: string) => void delete headers[k.toLowerCase()],
    hasHeader: (k: string) => k.toLowerCase() in headers,
    getHeaders: () => headers,
    getHeaderNames: () => Object.keys(headers),
  };
  const ctx = app.createContext({ headers: {}, method: 'GET', url: '/', socket: {} } as never, res as never);
  await (app as unknown as { middleware: Koa.Middleware[] }).middleware.reduceRight<() => Promise<void>>((next, mw) => () => Promise.resolve(mw(ctx, next)), () => Promise.resolve())();
  return { headers, html };
}

const TYPES = [
  'application/json; charset=utf-8',
  'application/problem+json; charset=utf-8',
  'application/json',
  'APPLICATION/JSON; charset=utf-8',
  'text/html; charset=utf-8',
  'text/html',
  'TEXT/HTML; charset=utf-8',
  'text/html ; charset=utf-8',
  'application/xhtml+xml',
  'text/plain; charset=utf-8',
  'application/ocsp-response',
  'text/html garbage',
  'application/json; charset=utf-8; html',
];

describe('security headers: the deny-all CSP decision (koa-security-headers.ts)', () => {
  it.each(TYPES)('%s: CSP exactly when type-is says not HTML', async (type) => {
    const { headers, html } = await answer(type);
    expect(headers['content-security-policy']).toBe(html ? undefined : DENY_ALL_CSP);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('an error thrown inside, rendered as a problem document outside, gets the deny-all CSP', async () => {
    const { headers } = await answer(undefined, undefined, true);
    expect(headers['content-security-policy']).toBe(DENY_ALL_CSP);
    expect(headers['x-content-type-options']).toBe('nosniff');
  });

  it("a route's own CSP is kept", async () => {
    expect((await answer('text/html; charset=utf-8', "default-src 'self'")).headers['content-security-policy']).toBe("default-src 'self'");
    expect((await answer('application/json; charset=utf-8', "default-src 'self'")).headers['content-security-policy']).toBe("default-src 'self'");
  });
});

it('the types list has HTML and non-HTML answers (the comparison can fail either way)', async () => {
  const verdicts = await Promise.all(TYPES.map(async (t) => (await answer(t)).html));
  expect(verdicts.filter(Boolean).length).toBeGreaterThanOrEqual(4);
  expect(verdicts.filter((v) => !v).length).toBeGreaterThanOrEqual(4);
});
