import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { openDatabase, type Database, type DatabaseTarget } from '../../src/storage/db.js';

/**
 * One isolated database per test file, of the kind the run asks for: PostgreSQL when
 * DATABASE_URL is set (a fresh database on that server, dropped afterwards), else the embedded
 * PGlite in a temporary data directory copied from the migrated template that global-setup.ts
 * made (opening a copy takes ~1 s; a fresh initdb ~5 s).
 */
export interface TestDatabase {
  db: Database;
  target: DatabaseTarget;
  /** Environment that points a child process (CLI, server) at this database. */
  env: Record<string, string>;
  /** DATA_DIR of services on this database (key files); shared by several nodes. */
  keyDir?: string;
  /** Releases the connection (and the embedded lock) so a child process can open the database. */
  close(): Promise<void>;
  /** Opens it again after close(). */
  reopen(): Promise<Database>;
  /** Closes and deletes everything. */
  destroy(): Promise<void>;
}

export const usingPostgres = (): boolean => !!process.env.DATABASE_URL;

export async function createTestDatabase(): Promise<TestDatabase> {
  return usingPostgres() ? createPostgres(process.env.DATABASE_URL!) : createEmbedded();
}

async function createEmbedded(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tinnhiem-test-'));
  const template = process.env.TINNHIEM_TEST_PGLITE_TEMPLATE;
  if (template) cpSync(template, join(dataDir, 'db'), { recursive: true });
  const target: DatabaseTarget = { kind: 'embedded', dir: join(dataDir, 'db') };
  return wrap(target, { DATA_DIR: dataDir }, async () => {
    rmSync(dataDir, { recursive: true, force: true });
  });
}

/**
 * A fresh database on the PostgreSQL server of `adminUrl` (the fault tests' private cluster), with
 * extra target settings such as the acquire and query bounds a production node takes from config.
 */
export function createPostgresDatabase(adminUrl: string, extra: { acquireTimeoutMs?: number; queryTimeoutMs?: number } = {}): Promise<TestDatabase> {
  return createPostgres(adminUrl, extra);
}

async function createPostgres(adminUrl: string, extra: { acquireTimeoutMs?: number; queryTimeoutMs?: number } = {}): Promise<TestDatabase> {
  const name = `tinnhiem_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const target: DatabaseTarget = { kind: 'postgres', url: url.toString(), poolMax: 10, ...extra };
  return wrap(target, { DATABASE_URL: url.toString() }, async () => {
    const again = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
    try {
      await again.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await again.destroy();
    }
  });
}

async function wrap(target: DatabaseTarget, env: Record<string, string>, remove: () => Promise<void>): Promise<TestDatabase> {
  let current: Database | null = await openDatabase(target, { purpose: 'test' });
  await current.migrateLatest();
  const handle: TestDatabase = {
    db: current,
    target,
    env,
    async close() {
      await current?.close();
      current = null;
    },
    async reopen() {
      current = await openDatabase(target, { purpose: 'test' });
      handle.db = current;
      return current;
    },
    async destroy() {
      await handle.close();
      await remove();
    },
  };
  return handle;
}
