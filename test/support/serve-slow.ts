/**
 * `tinnhiem serve` with one extra route, `GET /slow?ms=N`, to show that SIGTERM lets an in-flight
 * request finish. Everything else is the production path: config, createService, serve,
 * stopOnSignals.
 */
import Router from '@koa/router';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { serve, serviceUrls, stopOnSignals } from '../../src/service/serve.js';
import type { AppState } from '../../src/web/context.js';

const slow = new Router<AppState>();
slow.get('/slow', async (ctx) => {
  const ms = Math.min(Number(ctx.query.ms ?? 1000), 10_000);
  await new Promise((r) => setTimeout(r, ms));
  ctx.body = { sleptMs: ms };
});

const config = loadConfig();
const log = createLogger({ level: config.log.level });
const running = await serve(config, { log, extraRouters: [slow], masterPassphrase: 'test-master-passphrase', initialise: true, devCa: true });
stopOnSignals(running, log);
log.info({ urls: serviceUrls(config, running.listenUrl) }, 'tinnhiem ready');
