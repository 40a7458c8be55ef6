import type Router from '@koa/router';
import type { AppContext, AppState } from '../../context.js';
import { sendPage } from '../../views/html.js';
import { auditPage } from '../views/audit-page.js';
import type { AdminConsole, Officer } from '../admin-console.js';

const PAGE_SIZE = 50;

const showAuditLog = (c: AdminConsole) =>
  async function showAuditLog(ctx: AppContext, o: Officer) {
    const q = (n: string) => (typeof ctx.query[n] === 'string' ? (ctx.query[n] as string).trim().slice(0, 200) : '');
    const filters = { action: q('action'), actor: q('actor'), target: q('target') };
    const before = /^\d{1,15}$/.test(q('before')) ? Number(q('before')) : undefined;
    const limit = PAGE_SIZE;
    const events = await c.deps.audit.list({ action: filters.action || undefined, actor: filters.actor || undefined, target: filters.target || undefined, beforeSeq: before, limit });
    const verification = await c.deps.audit.verify();
    const next = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    if (events.length === limit) next.set('before', String(events[events.length - 1].seq));
    sendPage(
      ctx,
      200,
      auditPage(c.frame(ctx, o, 'audit'), {
        filters,
        rows: await c.auditRows(events, c.names(), o),
        next: events.length === limit ? `/admin/audit?${next}` : undefined,
        verification: { ok: verification.ok, checked: verification.checked, head: verification.head?.hash ?? null, badSeq: verification.firstBad?.seq, reason: verification.firstBad?.message },
      }),
    );
  };

/** The audit log, newest first, with the verification of its hash chain. */
export function auditSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/audit', c.page('audit', 'audit', showAuditLog(c)));
}
