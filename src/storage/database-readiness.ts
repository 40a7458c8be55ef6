import type { ReadinessCheck } from '../lifecycle/readiness.js';
import type { Database } from './db.js';

/**
 * Ready means: the database answers, and every migration this code knows is applied. The
 * migration list is read at every check (one small query): a database dropped and recreated
 * empty, or restored from a backup older than this code, must take the node out of the load
 * balancer, not leave it "ready" on the strength of an answer cached at start-up.
 */
export function databaseReadiness(db: Database): ReadinessCheck[] {
  return [
    {
      name: 'database',
      async check() {
        await db.ping(2_000);
        return { ok: true, detail: db.description };
      },
    },
    {
      name: 'migrations',
      async check() {
        const status = await db.migrationStatus();
        if (status.pending.length) return { ok: false, detail: `${status.pending.length} pending: ${status.pending.join(', ')}` };
        return { ok: true, detail: 'current' };
      },
    },
  ];
}
