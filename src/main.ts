import type Koa from 'koa';
import type Router from '@koa/router';
import type { Config } from './config/schema.js';
import type { Logger } from './logging/logger.js';
import type { AppState } from './http/context.js';
import { createApp } from './app.js';
import { createHttpMetrics } from './http/metrics.js';
import { databaseTarget, openDatabase, type Database, type DatabaseTarget } from './storage/db.js';
import { databaseReadiness } from './storage/database-readiness.js';
import { AuditRepository } from './storage/audit-repository.js';
import { systemClock, type Clock } from './lifecycle/clock.js';

/** Everything one running tinnhiem node is made of. */
export interface Service {
  readonly config: Config;
  readonly log: Logger;
  readonly app: Koa<AppState>;
  readonly db: Database;
  readonly audit: AuditRepository;
  readonly clock: Clock;
  /** Readiness turns 503 and responses say `Connection: close`. */
  beginShutdown(): void;
  isShuttingDown(): boolean;
  close(): Promise<void>;
}

export interface CreateServiceOptions {
  log: Logger;
  clock?: Clock;
  /** Who holds the embedded database (shown to a refused second process). */
  purpose?: string;
  /** Overrides the database chosen by the config (tests). */
  database?: DatabaseTarget;
  /** Extra routers (tests add a slow route to exercise graceful shutdown). */
  extraRouters?: readonly Router<AppState>[];
}

/**
 * Composition root: config → database → repositories → services → Koa. The only place that
 * knows every concrete class.
 */
export async function createService(config: Config, options: CreateServiceOptions): Promise<Service> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const db = await openDatabase(options.database ?? databaseTarget(config), { log, purpose: options.purpose ?? 'serve' });
  try {
    const applied = await db.migrateLatest();
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
  } catch (err) {
    await db.close();
    throw err;
  }
  const audit = new AuditRepository(db.knex, clock);
  let shuttingDown = false;
  const isShuttingDown = () => shuttingDown;

  const app = createApp({
    config,
    log,
    metrics: createHttpMetrics(),
    readiness: databaseReadiness(db),
    isShuttingDown,
    routers: [...(options.extraRouters ?? [])],
  });

  return {
    config,
    log,
    app,
    db,
    audit,
    clock,
    beginShutdown: () => {
      shuttingDown = true;
    },
    isShuttingDown,
    close: () => db.close(),
  };
}
