import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { AppError } from '../../../src/errors/app-error.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { AppState } from '../../../src/web/context.js';
import { frontMiddlewares } from '../../../src/web/app.js';
import type { HttpMetrics } from '../../../src/web/metrics.js';
import { requestContext } from '../../../src/web/middleware/koa-request-context.js';
import { problemResponses } from '../../../src/web/middleware/koa-problem.js';
import { securityHeaders } from '../../../src/web/middleware/koa-security-headers.js';
import { currentScope, withRequestMemo } from '../../../oidc/request-memo.js';
import type { Config } from '../../../src/config/schema.js';

/**
 * src/web/app.ts runs the five front steps (request context, request memo, shutdown's
 * `Connection: close`, problem documents, security headers) as one function since 2026-12-06
 * (docs/performance.md, "Token endpoint, sixth pass"). Every answer, header, log line and metric
 * must be what the five middlewares, in their order, gave: both stacks answer the same routes
 * here, and what differs is only the request id.
 */

type Route = (ctx: Koa.ParameterizedContext<AppState>) => void | Promise<void>;
const ROUTES: Record<string, Route> = {
  '/json': (ctx) => {
    ctx.body = { ok: true, memo: currentScope()?.memo instanceof Map };
  },
  '/html': (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = '<p>page</p>';
  },
  '/own-csp': (ctx) => {
    ctx.set('Content-Security-Policy', "default-src 'self'");
    ctx.type = 'text/html';
    ctx.body = '<p>page</p>';
  },
  '/app-error': () => {
    throw new AppError('badRequest', 'that is not right');
  },
  '/crash': () => {
    throw new Error('secret detail of a crash');
  },
  '/koa-throw': (ctx) => {
    ctx.throw(403, 'not yours', { headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' } });
  },
  '/unavailable': (ctx) => {
    // oidc-provider's temporarily_unavailable: a 503 with a body, no Retry-After of its own.
    ctx.status = 503;
    ctx.body = { error: 'temporarily_unavailable' };
  },
  '/no-body-405': (ctx) => {
    ctx.status = 405;
    ctx.set('Allow', 'GET');
  },
  '/no-body-418': (ctx) => {
    ctx.status = 418;
  },
  '/async-crash': async () => {
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error('later');
  },
  '/memo-later': async (ctx) => {
    await new Promise((resolve) => setImmediate(resolve));
    ctx.body = { memo: currentScope()?.memo instanceof Map };
  },
};

interface Observed {
  metrics: Array<[string, string, number]>;
  logs: Array<Record<string, unknown>>;
}

function stack(kind: 'one' | 'five', shuttingDown: { value: boolean }): { app: Koa<AppState>; observed: Observed } {
  const observed: Observed = { metrics: [], logs: [] };
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      observed.logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ level: 'info', destination });
  const metrics = { observe: (method: string, route: string, status: number) => observed.metrics.push([method, route, status]) } as unknown as HttpMetrics;
  const config = { server: { publicUrl: 'https://id.example.gov.vn' } } as Config;
  const app = new Koa<AppState>();
  app.silent = true;
  if (kind === 'one') {
    for (const m of frontMiddlewares({ config, log, metrics, isShuttingDown: () => shuttingDown.value })) app.use(m);
  } else {
    // The five middlewares as src/web/app.ts had them before 2026-12-06.
    app.use(requestContext(log, metrics));
    app.use((_ctx, next) => withRequestMemo(next));
    app.use(async (ctx, next) => {
      try {
        await next();
      } finally {
        if (shuttingDown.value) ctx.set('Connection', 'close');
      }
    });
    app.use(problemResponses());
    app.use(securityHeaders({ hsts: true }));
  }
  app.use(async (ctx, next) => {
    const route = ROUTES[ctx.path];
    if (!route) return next();
    ctx.state.routeLabel = ctx.path;
    await route(ctx);
  });
  return { app, observed };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

async function ask(server: Server, path: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { 'x-request-id': 'fixed-id-1' } });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'date' && name !== 'keep-alive') headers[name] = value;
  });
  const text = await res.text();
  return { status: res.status, headers, body: headers['content-type']?.includes('json') ? JSON.parse(text) : text };
}

const withoutTime = (line: Record<string, unknown>) => {
  const { time, durationMs, pid, hostname, ...rest } = line;
  void time;
  void pid;
  void hostname;
  // An error's stack names the middleware frames it passed, which are what changed.
  const err = rest.err as { stack?: string } | undefined;
  return { ...rest, durationMs: typeof durationMs, ...(err ? { err: { ...err, stack: typeof err.stack } } : {}) };
};

describe('the single front middleware answers as the five did (src/web/app.ts)', () => {
  const shuttingDown = { value: false };
  const one = stack('one', shuttingDown);
  const five = stack('five', shuttingDown);
  let servers: Server[] = [];
  beforeAll(async () => {
    servers = [createServer(one.app.callback()), createServer(five.app.callback())];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const paths = [...Object.keys(ROUTES), '/nowhere'];
  it.each(paths)('%s: the same status, headers, body, metric and log lines', async (path) => {
    for (const down of [false, true]) {
      shuttingDown.value = down;
      one.observed.metrics.length = five.observed.metrics.length = 0;
      one.observed.logs.length = five.observed.logs.length = 0;
      const [a, b] = [await ask(servers[0], path), await ask(servers[1], path)];
      expect(a).toEqual(b);
      expect(a.headers['x-request-id']).toBe('fixed-id-1');
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['strict-transport-security']).toBe('max-age=31536000');
      expect(a.headers.connection === 'close').toBe(down);
      expect(one.observed.metrics).toEqual(five.observed.metrics);
      expect(one.observed.metrics).toHaveLength(1);
      expect(one.observed.logs.map(withoutTime)).toEqual(five.observed.logs.map(withoutTime));
    }
    shuttingDown.value = false;
  });

  it('what the answers are (not only that they agree)', async () => {
    const json = await ask(servers[0], '/json');
    expect(json.body).toEqual({ ok: true, memo: true });
    expect(json.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((await ask(servers[0], '/memo-later')).body).toEqual({ memo: true });
    expect((await ask(servers[0], '/html')).headers['content-security-policy']).toBeUndefined();
    expect((await ask(servers[0], '/own-csp')).headers['content-security-policy']).toBe("default-src 'self'");
    const crash = await ask(servers[0], '/crash');
    expect(crash.status).toBe(500);
    expect(JSON.stringify(crash.body)).not.toContain('secret detail');
    expect(crash.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(crash.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((crash.body as { requestId: string }).requestId).toBe('fixed-id-1');
    const forbidden = await ask(servers[0], '/koa-throw');
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
    expect((await ask(servers[0], '/unavailable')).headers['retry-after']).toBeDefined();
    expect((await ask(servers[0], '/no-body-405')).body).toMatchObject({ status: 405 });
    expect((await ask(servers[0], '/nowhere')).status).toBe(404);
  });

  it('a request id a client made unsafe to log is replaced', async () => {
    const { port } = servers[0].address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/json`, { headers: { 'x-request-id': 'bad id\twith tab' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('requests in parallel each have their own memo', async () => {
    const memos: unknown[] = [];
    const app = new Koa<AppState>();
    const config = { server: { publicUrl: 'http://localhost' } } as Config;
    const log = createLogger({ level: 'silent' });
    for (const m of frontMiddlewares({ config, log, metrics: { observe: () => undefined } as unknown as HttpMetrics, isShuttingDown: () => false })) app.use(m);
    app.use(async (ctx) => {
      const memo = currentScope()?.memo;
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(currentScope()?.memo).toBe(memo);
      memos.push(memo);
      ctx.body = {};
    });
    const server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await Promise.all(Array.from({ length: 8 }, () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text())));
    await new Promise((resolve) => server.close(resolve));
    expect(memos).toHaveLength(8);
    expect(new Set(memos).size).toBe(8);
    expect(currentScope()).toBeUndefined();
  });
});
