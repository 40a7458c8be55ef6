import type Router from '@koa/router';
import type { AppContext, AppState } from '../../context.js';
import { sendPage } from '../../views/html.js';
import { dashboardPage } from '../views/dashboard-page.js';
import { REGISTRY_COUNT_LIMIT } from '../../../certificates/certificate-service.js';
import { can, endEntityProfiles, type AdminConsole, type Officer } from '../admin-console.js';


const showDashboard = (c: AdminConsole) =>
  async function showDashboard(ctx: AppContext, o: Officer) {
    const svc = c.deps.certificates;
    const nameOf = c.names();
    const byStatus = await svc.countByStatus();
    const byProfile = new Map<string | null, Record<string, number>>(endEntityProfiles(c).map((p) => [p, {}]));
    for (const row of await svc.countByProfileAndStatus()) {
      const counts = byProfile.get(row.profileId) ?? {};
      counts[row.status] = (counts[row.status] ?? 0) + row.count;
      byProfile.set(row.profileId, counts);
    }
    // Counted as the search page counts (exact up to REGISTRY_COUNT_LIMIT): an exact count of a
    // million-row registry's 90 days reads a hundred thousand index entries at every visit.
    const expiring = await Promise.all([30, 60, 90].map(async (days) => {
      const page = await svc.search({ status: 'good', expiresWithinDays: days, limit: 1, countLimit: REGISTRY_COUNT_LIMIT });
      return { days, count: page.total, exact: page.totalExact };
    }));
    const pending = await svc.ra.list('pending', 10);
    const { subjectOf, shown } = c.requestSubjects(pending, o);
    const recent = can(o, 'audit') ? await c.deps.audit.list({ limit: 10 }) : await c.deps.audit.list({ actor: o.actor, limit: 10 });
    sendPage(
      ctx,
      200,
      dashboardPage(c.frame(ctx, o, 'dashboard'), {
        byStatus,
        byProfile: [...byProfile].map(([profile, counts]) => ({ profile, counts })),
        expiring,
        pending: await Promise.all(pending.map(async (r) => ({ id: r.id, subject: subjectOf(r), profile: r.profileId, requestedBy: await nameOf(r.requestedBy), createdAt: r.createdAt, approvals: r.approvals.length, required: r.approvalsRequired }))),
        recent: await c.auditRows(recent, nameOf, o, { requests: shown }),
        canApprove: can(o, 'approve'),
      }),
    );
  };

/** The console's first page: the registry at a glance. */
export function dashboardSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin', c.page('read', 'dashboard', showDashboard(c)));
}
