import type { ReadinessCheck } from '../lifecycle/readiness.js';
import type { Database } from './db.js';

/**
 * Ready means: the database answers, and every migration this code knows is applied. Once the
 * schema is current it stays current for this process (migrations only move forward), so the
 * migration list is read until the first success and never again.
 */
export function databaseReadiness(db: Database): ReadinessCheck[] {
  let schemaCurrent = false;
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
        if (schemaCurrent) return { ok: true, detail: 'current' };
        const status = await db.migrationStatus();
        if (status.pending.length) return { ok: false, detail: `${status.pending.length} pending: ${status.pending.join(', ')}` };
        schemaCurrent = true;
        return { ok: true, detail: 'current' };
      },
    },
  ];
}
