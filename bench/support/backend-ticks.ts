/**
 * A database's share of a measured pass: the CPU time (clock ticks of /proc/<pid>/stat) of the
 * PostgreSQL backends serving one database, so that moving work into the server cannot pass for
 * a faster client (bench/validate.ts and its development harness).
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per backend of the database `url` names; null when a backend is not on this machine. */
export async function databaseBackendTicks(url: string): Promise<Map<number, number> | null> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
  await c.end();
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      return null; // another machine's server: not measurable here
    }
  }
  return ticks;
}

/** CPU seconds the backends used between two readings (a backend new since the first counts whole; one gone since is not seen). */
export const backendSeconds = (before: Map<number, number> | null, after: Map<number, number> | null): number | null =>
  before && after ? [...after].reduce((sum, [pid, t]) => sum + t - (before.get(pid) ?? 0), 0) / 100 : null;
