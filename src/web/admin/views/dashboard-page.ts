import { html } from '../../views/html.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { auditTable, badge, layout, type AuditRow, type Frame } from './admin-layout.js';
import { requestTable } from './request-pages.js';
import { approvalCodeForm } from './account-change-pages.js';

/** The dashboard: certificates by status and profile, expiries ahead, pending requests, recent events. */

export interface DashboardData {
  byStatus: Record<string, number>;
  /** Profile (null: imported certificates of other CAs) × status. */
  byProfile: Array<{ profile: string | null; counts: Record<string, number> }>;
  /** Exact up to the registry's count limit, else "more than" it (docs/ca.md, "Registry search"). */
  expiring: Array<{ days: number; count: number; exact: boolean }>;
  pending: Array<{ id: string; subject: string; profile: string; requestedBy: string; createdAt: Date; approvals: number; required: number }>;
  recent: AuditRow[];
  /** Officers who approve get the form for a CLI approval code (docs/cli.md). */
  canApprove?: boolean;
}

export function dashboardPage(f: Frame, d: DashboardData): string {
  const { lang } = f;
  const statuses = ['good', 'hold', 'revoked', 'expired'];
  const body = html`
<div class="grid">
<section aria-labelledby="by-status"><h2 id="by-status">${at(lang, 'dash.byStatus')}</h2>
<table><thead><tr><th scope="col">${at(lang, 'dash.status')}</th><th scope="col" class="num">${at(lang, 'dash.count')}</th></tr></thead>
<tbody>${statuses.map((s) => html`<tr><td><a href="/admin/certificates?status=${s}">${badge(lang, s)}</a></td><td class="num">${d.byStatus[s] ?? 0}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="expiring"><h2 id="expiring">${at(lang, 'dash.expiring')}</h2>
<table><thead><tr><th scope="col">${at(lang, 'dash.period')}</th><th scope="col" class="num">${at(lang, 'dash.count')}</th></tr></thead>
<tbody>${d.expiring.map((e) => html`<tr><td><a href="/admin/certificates?status=good&amp;expiresWithinDays=${e.days}">${at(lang, 'dash.within', { days: e.days })}</a></td><td class="num">${e.exact ? e.count : at(lang, 'dash.moreThan', { count: e.count })}</td></tr>`)}</tbody></table></section>
</div>
<section aria-labelledby="by-profile"><h2 id="by-profile">${at(lang, 'dash.byProfile')}</h2>
<table><thead><tr><th scope="col">${at(lang, 'dash.profile')}</th>${statuses.map((st) => html`<th scope="col" class="num">${at(lang, `status.${st}` as AdminMessageKey)}</th>`)}<th scope="col" class="num">${at(lang, 'dash.total')}</th></tr></thead>
<tbody>${d.byProfile.map((p) => html`<tr><th scope="row">${p.profile ? html`<a href="/admin/certificates?profile=${p.profile}">${p.profile}</a>` : at(lang, 'dash.imported')}</th>${statuses.map((st) => html`<td class="num">${p.counts[st] ?? 0}</td>`)}<td class="num">${Object.values(p.counts).reduce((a, b) => a + b, 0)}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="pending"><h2 id="pending">${at(lang, 'dash.pending')}</h2>
${d.pending.length ? requestTable(f, d.pending.map((r) => ({ ...r, status: 'pending' })), at(lang, 'dash.pending')) : html`<p>${at(lang, 'common.none')}</p>`}
${d.canApprove ? approvalCodeForm(f) : ''}
</section>
<section aria-labelledby="recent"><h2 id="recent">${at(lang, 'dash.recent')}</h2>
${auditTable(f, d.recent, at(lang, 'dash.recent'))}
<p><a href="/admin/audit">${at(lang, 'nav.audit')}</a></p>
</section>`;
  return layout(f, at(lang, 'dash.title'), body);
}
