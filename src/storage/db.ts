import { resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import { migrationSource } from '../../migrations/index.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

export type Transaction = Knex.Transaction;

export type DatabaseTarget =
  | {
      kind: 'postgres';
      url: string;
      poolMax?: number;
      /** Longest wait for a pooled connection or a new one (default 10 s). */
      acquireTimeoutMs?: number;
      /** Client-side bound on one query (0 or unset: none); see DATABASE_QUERY_TIMEOUT_MS. */
      queryTimeoutMs?: number;
    }
  /** `dir: null` is an in-memory database (unit tests). */
  | { kind: 'embedded'; dir: string | null };

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

export interface Database {
  readonly kind: DatabaseTarget['kind'];
  /** Human description without secrets: `postgres://host:5432/db` or the data directory. */
  readonly description: string;
  /** Only src/storage uses this (eslint zone); everything else gets repositories. */
  readonly knex: Knex;
  /**
   * Runs `work` in one transaction. Pass `trx` down to every repository call: the embedded
   * database has ONE connection, so using the root knex inside deadlocks there (and on
   * PostgreSQL silently escapes the transaction).
   */
  withTransaction<T>(work: (trx: Transaction) => Promise<T>): Promise<T>;
  migrateLatest(): Promise<string[]>;
  migrationStatus(): Promise<MigrationStatus>;
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function databaseTarget(config: Config): DatabaseTarget {
  if (config.database.url) {
    const { url, poolMax, acquireTimeoutMs, queryTimeoutMs } = config.database;
    return { kind: 'postgres', url, poolMax, acquireTimeoutMs, queryTimeoutMs };
  }
  return { kind: 'embedded', dir: embeddedDir(config.dataDir) };
}

export function embeddedDir(dataDir: string): string {
  return resolve(dataDir, 'db');
}

function describe(target: DatabaseTarget): string {
  if (target.kind === 'embedded') return target.dir ? `embedded database in ${target.dir}` : 'in-memory embedded database';
  const url = new URL(target.url);
  return `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`;
}

const migrationConfig: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

export interface OpenDatabaseOptions {
  log?: Logger;
  /** What holds the embedded database's lock, shown to a process that is refused. */
  purpose?: string;
}

export async function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<Database> {
  let lock: DataDirLock | null = null;
  let knex: Knex;
  if (target.kind === 'embedded') {
    if (target.dir) lock = acquireDataDirLock(`${target.dir}.lock`, options.purpose ?? 'process');
    try {
      knex = await embeddedKnex(target.dir);
    } catch (err) {
      lock?.release();
      throw err;
    }
  } else {
    const acquireMs = target.acquireTimeoutMs ?? 10_000;
    knex = knexFactory({
      client: 'pg',
      connection: {
        connectionString: target.url,
        // A server that does not answer a connect (a failover, a partition) fails the request
        // within the acquire bound instead of hanging it; a stopped one refuses at once.
        connectionTimeoutMillis: Math.min(5_000, acquireMs),
        // A connection whose server vanished mid-query is given up after this, not after TCP's
        // own timeouts (minutes); the pool then discards it.
        ...(target.queryTimeoutMs ? { query_timeout: target.queryTimeoutMs } : {}),
        keepAlive: true,
      },
      pool: { min: 0, max: target.poolMax ?? 10, afterCreate: schemaGuard(describe(target)) },
      acquireConnectionTimeout: acquireMs,
      // knex prints its warnings (one per failed connect while the server restarts) with
      // console.log, i.e. on stdout beside the JSON log: they go to the log instead.
      ...(options.log ? { log: knexLog(options.log) } : {}),
    });
  }

  const db: Database = {
    kind: target.kind,
    description: describe(target),
    knex,
    withTransaction: (work) => knex.transaction(work),
    async migrateLatest() {
      const [, applied] = (await knex.migrate.latest(migrationConfig)) as [number, string[]];
      return applied;
    },
    migrationStatus: () => migrationStatusOf(knex),
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([knex.raw('select 1'), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      try {
        await knex.destroy();
      } finally {
        lock?.release();
      }
    },
  };

  try {
    await db.ping(target.kind === 'embedded' ? 60_000 : 10_000);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw new DatabaseUnavailableError(db.description, err);
  }
  options.log?.debug({ database: db.description }, 'database opened');
  return db;
}

/**
 * One query, where knex.migrate.list makes four (it checks, and creates when missing, its tables
 * and the lock's): every CLI command on PostgreSQL and every readiness probe asks, and neither
 * should write. The same answer: the applied names in their order, and this code's migrations not
 * among them (all of them when the table is missing).
 */
async function migrationStatusOf(knex: Knex): Promise<MigrationStatus> {
  let applied: string[];
  try {
    applied = ((await knex('knex_migrations').select('name').orderBy('id')) as Array<{ name: string }>).map((m) => m.name);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table
    applied = [];
  }
  const done = new Set(applied);
  return { applied, pending: (await migrationSource.getMigrations([])).map((m) => m.name).filter((name) => !done.has(name)) };
}

/**
 * Every new connection checks that the database still has our schema once this process has seen
 * it: a database dropped and recreated empty (a restore gone wrong, a failover to a blank replica)
 * is then "unavailable" (503, retry) rather than a stream of 500s about missing tables. A fresh
 * database that never had the schema is accepted (`tinnhiem migrate` creates it). Costs one query
 * per new connection, not per request.
 */
function schemaGuard(description: string) {
  let schemaSeen = false;
  type PgConnection = { query(sql: string, done: (err: Error | null, result?: { rows: Array<{ present: boolean }> }) => void): void; end(): void };
  return (connection: PgConnection, done: (err: Error | null, connection: PgConnection) => void) => {
    connection.query(`select to_regclass('knex_migrations') is not null as present`, (err, result) => {
      const present = !err && !!result?.rows[0]?.present;
      if (present) schemaSeen = true;
      const failure = err ?? (schemaSeen && !present ? new DatabaseUnavailableError(description, new Error('the schema is missing (the database was dropped or replaced); restore it, or run `tinnhiem migrate`')) : null);
      if (failure) connection.end();
      done(failure, connection);
    });
  };
}

async function embeddedKnex(dir: string | null): Promise<Knex> {
  // Imported here, not at the top: a process on PostgreSQL (a CLI command, a node of the fleet)
  // never loads the embedded database's code (docs/cli.md, "Start-up time").
  const [{ default: ClientPgLite }, { PGlite }, { pg_trgm }] = await Promise.all([import('knex-pglite'), import('@electric-sql/pglite'), import('@electric-sql/pglite/contrib/pg_trgm')]);
  // pg_trgm, bundled with the embedded database, indexes the registry's substring search as on
  // PostgreSQL (migrations/20261204060000_add_certificate_folded_text.ts).
  const pglite = new PGlite(dir ?? undefined, { extensions: { pg_trgm } });
  return knexFactory({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: { pglite },
    useNullAsDefault: false,
  } as Knex.Config);
}

function knexLog(log: Logger): Knex.Config['log'] {
  const text = (m: unknown) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m));
  return {
    warn: (m: unknown) => log.warn({ knex: text(m) }, 'database driver warning'),
    error: (m: unknown) => log.error({ knex: text(m) }, 'database driver error'),
    deprecate: (m: unknown) => log.warn({ knex: text(m) }, 'database driver deprecation'),
    debug: (m: unknown) => log.debug({ knex: text(m) }, 'database driver debug'),
  };
}

export class DatabaseUnavailableError extends Error {
  constructor(description: string, cause: unknown) {
    super(`Cannot reach the ${description}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** Driver differences, normalised here so domain types never see them. */
export const normalise = {
  /** PGlite returns bytea as Uint8Array, pg as Buffer. */
  bytes(value: Uint8Array | Buffer | null): Buffer | null {
    if (value == null) return null;
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
  /** int8: pg returns a string, PGlite a bigint (or number). Values here stay below 2^53. */
  int(value: string | number | bigint): number {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new Error(`integer out of range: ${String(value)}`);
    return n;
  },
  date(value: Date | string): Date {
    return value instanceof Date ? value : new Date(value);
  },
};
