import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../../logging/logger.js';
import type { HttpMetrics } from '../metrics.js';
import { requestIdFrom } from '../middleware/koa-request-context.js';
import { baseSecurityHeaders, DENY_ALL_CSP } from '../middleware/koa-security-headers.js';
import { OCSP_MAX_REQUEST_BYTES, type OcspAnswering } from './ocsp-router.js';
import type { OcspHttpAnswer } from '../../ocsp/ocsp-responder.js';

export interface OcspFastPathDeps {
  responder: OcspAnswering;
  log: Logger;
  metrics: HttpMetrics;
  hsts: boolean;
  isShuttingDown(): boolean;
}

const isOcspRequestType = (value: string | undefined): boolean => {
  if (!value) return false;
  const semi = value.indexOf(';');
  return (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase() === 'application/ocsp-request';
};

/**
 * OCSP ahead of the Koa pipeline. A responder answers mostly the same few hundred bytes again and
 * again, and Koa's per-request work (context objects, a child logger, the info access line, the
 * router) cost more than the answer itself: measured at 0.39× a bare node:http server returning
 * the same bytes (bench/results). So well-formed OCSP requests (POST `/ocsp` with
 * `application/ocsp-request` and a Content-Length within 64 KiB, GET `/ocsp/{request}` without a
 * query string) are answered here with the same headers and metrics as the pipeline would
 * give (a proxy's X-Request-Id is echoed; none is generated, as no info line would carry it); the
 * access line goes to the debug level. Everything else, including every HTTP
 * error (413, 415, chunked bodies, other methods), falls through to Koa and `ocsp-router.ts`,
 * which render them as before: one place renders errors.
 */
export function ocspFastPath(deps: OcspFastPathDeps, fallback: RequestListener): RequestListener {
  const security = { ...baseSecurityHeaders({ hsts: deps.hsts }), 'Content-Security-Policy': DENY_ALL_CSP };

  // The constant headers once, as node:http's raw [name, value, …] list: writeHead then copies
  // them without validating or lower-casing each one on every response.
  const constant = Object.entries(security).flat();

  function finish(req: IncomingMessage, res: ServerResponse, route: string, started: bigint, answer: OcspHttpAnswer): void {
    // A proxy's request id is echoed; none is made up here, since no info line would carry it.
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && incoming ? requestIdFrom(incoming) : undefined;
    const headers = constant.slice();
    if (requestId) headers.push('X-Request-Id', requestId);
    for (const name in answer.headers) headers.push(name, answer.headers[name]);
    headers.push('X-OCSP-Outcome', answer.outcome);
    if (deps.isShuttingDown()) headers.push('Connection', 'close');
    if (req.method === 'GET' && answer.etag && req.headers['if-none-match'] === answer.etag) {
      res.writeHead(304, headers);
      res.end();
    } else {
      headers.push('Content-Type', 'application/ocsp-response', 'Content-Length', String(answer.body.length));
      res.writeHead(200, headers);
      res.end(answer.body);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.observe(req.method!, route, res.statusCode, seconds);
    if (deps.log.isLevelEnabled('debug')) {
      deps.log.debug({ requestId, req: { method: req.method, path: route }, res: { status: res.statusCode }, route, durationMs: Math.round(seconds * 1e4) / 10 }, 'request');
    }
  }

  function failed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    // The responder turns its own failures into `internalError` answers; reaching here is a bug.
    deps.log.error({ err }, 'OCSP fast path failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('Content-Type', 'application/problem+json');
    res.end(JSON.stringify({ type: 'urn:tinnhiem:problem:internal', title: 'Internal Server Error', status: 500, instance: req.url?.split('?')[0] }));
  }

  return function ocspFastPathListener(req, res) {
    const url = req.url ?? '';
    const started = process.hrtime.bigint();
    if (req.method === 'POST' && (url === '/ocsp' || url === '/ocsp/') && isOcspRequestType(req.headers['content-type']) && !req.headers['transfer-encoding']) {
      const length = Number(req.headers['content-length']);
      if (Number.isSafeInteger(length) && length >= 0 && length <= OCSP_MAX_REQUEST_BYTES) {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('error', () => res.destroy());
        req.on('end', () => {
          const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          const remembered = deps.responder.answerPostFromMemory(body);
          if (remembered) return finish(req, res, '/ocsp', started, remembered);
          deps.responder.answerPost(body).then(
            (answer) => finish(req, res, '/ocsp', started, answer),
            (err) => failed(req, res, err),
          );
        });
        return;
      }
    } else if (req.method === 'GET' && url.length > 6 && url.startsWith('/ocsp/') && !url.includes('?')) {
      req.resume();
      const path = url.slice(6);
      const remembered = deps.responder.answerGetFromMemory(path);
      if (remembered) {
        finish(req, res, '/ocsp/*request', started, remembered);
        return;
      }
      deps.responder.answerGet(path).then(
        (answer) => finish(req, res, '/ocsp/*request', started, answer),
        (err) => failed(req, res, err),
      );
      return;
    }
    fallback(req, res);
  };
}
