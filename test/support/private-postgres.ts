import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe } from '@jest/globals';
import knexFactory from 'knex';

/**
 * A PostgreSQL cluster of the test's own, on a free loopback port, that the test may stop and
 * start (the fault tests restart "the database" under load). The shared cluster on 5432 is never
 * touched: other test files run on it at the same time.
 *
 * initdb refuses to run as root, so when the test runs as root the cluster belongs to the
 * `postgres` user and every pg_ctl call goes through `runuser -u postgres`.
 */
/** The server binaries: TINNHIEM_PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin (15 here). */
export const PG_BIN = process.env.TINNHIEM_PG_BIN ?? debianBin();
const BIN = PG_BIN;

function debianBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return join(root, versions[0] ?? '15', 'bin');
}
const run = promisify(execFile);

export interface PrivatePostgres {
  /** Superuser URL of the `postgres` database; `createDatabase` makes one for a service. */
  adminUrl: string;
  port: number;
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast`: connections are cut, new ones refused, until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Server log (for a failing test's message). */
  log(): string;
  destroy(): Promise<void>;
}

/** What is missing to run a private cluster here, or null when everything is. */
export function privatePostgresMissing(): string | null {
  for (const program of ['initdb', 'pg_ctl', 'postgres', 'pg_dump', 'pg_restore']) {
    if (!existsSync(join(BIN, program))) return `${join(BIN, program)} (apt-get install postgresql)`;
  }
  if (userInfo().uid === 0) {
    if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'runuser (apt-get install util-linux)';
    try {
      userInfoOf('postgres');
    } catch {
      return 'a `postgres` user to own the cluster (initdb refuses root)';
    }
  }
  return null;
}

function userInfoOf(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const warned = new Set<string>();

/**
 * `describe` when a private cluster can run here; else a skipped block with ONE printed line
 * naming what is missing, or, in CI (CI=true), a failure: .ci/run installs PostgreSQL 15.
 */
export function describeWithPrivatePostgres(): typeof describe {
  const missing = privatePostgresMissing();
  if (!missing) return describe;
  if (process.env.CI) throw new Error(`a private PostgreSQL cluster is required in CI, missing: ${missing}`);
  if (!warned.has(missing)) {
    warned.add(missing);
    process.stderr.write(`skipping tests that start their own PostgreSQL: missing ${missing}\n`);
  }
  // Reason: the PostgreSQL binaries are missing on this machine; CI has them and never skips.
  return describe.skip as unknown as typeof describe;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(join(tmpdir(), 'tinnhiem-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const owner = userInfoOf('postgres');
    chownSync(root, owner.uid, owner.gid);
  }
  const as = (program: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, program), ...args], { cwd: root }) : run(join(BIN, program), args, { cwd: root });
  await as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C.UTF-8']);
  const port = await freePort();
  // Durability is not what these tests exercise: fsync off keeps a restart fast on a busy machine.
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const start = async () => {
    await as('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await as('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await start();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    port,
    async createDatabase(name) {
      const admin = knexFactory({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      try {
        await admin.raw(`CREATE DATABASE ${name}`);
      } finally {
        await admin.destroy();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
    start,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
