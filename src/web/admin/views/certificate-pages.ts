import { html } from '../../views/html.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { auditTable, badge, confirmBox, csrfField, fmt, input, layout, select, type AuditRow, type Frame } from './admin-layout.js';

/** The registry: search, and one certificate (facts, downloads, chain, status changes, history). */

export interface CertRow {
  serial: string;
  holderName: string | null;
  subject: string | null;
  agency: string | null;
  profile: string | null;
  status: string;
  notAfter: Date;
}
export interface CertFilters {
  q?: string;
  nationalId?: string;
  taxCode?: string;
  agency?: string;
  status?: string;
  profile?: string;
  expiresWithinDays?: string;
}

/** A page of results: `total` exact, or "more than total"; `cursor` the keyset of this page, `nextCursor` of the next. */
export interface CertPage {
  filters: CertFilters;
  profiles: string[];
  rows: CertRow[];
  total: number;
  totalExact: boolean;
  cursor?: string;
  nextCursor: string | null;
}

export function certificatesPage(f: Frame, p: CertPage): string {
  const { lang } = f;
  const v = p.filters;
  const page = (cursor?: string) => {
    const q = new URLSearchParams(Object.entries(v).filter(([, x]) => x) as Array<[string, string]>);
    if (cursor) q.set('cursor', cursor);
    return `/admin/certificates?${q}`;
  };
  const body = html`
<form method="get" action="/admin/certificates" class="filters" role="search" aria-label="${at(lang, 'common.search')}">
${input('f-q', 'q', at(lang, 'cert.q'), v.q)}
${input('f-nid', 'nationalId', at(lang, 'cert.nationalId'), v.nationalId, html`inputmode="numeric"`)}
${input('f-tax', 'taxCode', at(lang, 'cert.taxCode'), v.taxCode)}
${input('f-agency', 'agency', at(lang, 'cert.agency'), v.agency)}
${select('f-status', 'status', at(lang, 'cert.status'), [['', at(lang, 'common.all')], ...['good', 'hold', 'revoked', 'expired'].map((s) => [s, at(lang, `status.${s}` as AdminMessageKey)] as [string, string])], v.status)}
${select('f-profile', 'profile', at(lang, 'cert.profile'), [['', at(lang, 'common.all')], ...p.profiles.map((x) => [x, x] as [string, string])], v.profile)}
${input('f-exp', 'expiresWithinDays', at(lang, 'cert.expiresWithin'), v.expiresWithinDays, html`inputmode="numeric"`)}
<button type="submit">${at(lang, 'common.search')}</button>
</form>
<table><caption>${at(lang, 'cert.results')} · ${at(lang, p.totalExact ? 'common.results' : 'common.resultsMore', { count: p.total })}</caption>
<thead><tr><th scope="col">${at(lang, 'cert.serial')}</th><th scope="col">${at(lang, 'cert.holder')}</th><th scope="col">${at(lang, 'cert.agency')}</th><th scope="col">${at(lang, 'cert.profile')}</th><th scope="col">${at(lang, 'cert.status')}</th><th scope="col">${at(lang, 'cert.notAfter')}</th></tr></thead>
<tbody>${p.rows.map((c) => html`<tr><td><a href="/admin/certificates/${c.serial}" class="mono">${c.serial}</a></td><td>${c.holderName ?? c.subject ?? ''}</td><td>${c.agency ?? ''}</td><td>${c.profile ?? ''}</td><td>${badge(lang, c.status)}</td><td>${fmt(lang, c.notAfter)}</td></tr>`)}</tbody></table>
<p class="pager">${p.cursor ? html`<a href="${page()}">${at(lang, 'common.first')}</a>` : ''} ${p.nextCursor ? html`<a href="${page(p.nextCursor)}" rel="next">${at(lang, 'common.next')}</a>` : ''}</p>`;
  return layout(f, at(lang, 'cert.title'), body);
}

export interface CertDetail {
  serial: string;
  status: string;
  statusRaw: 'good' | 'revoked' | 'hold';
  expired: boolean;
  source: string;
  subject: string | null;
  holderName: string | null;
  nationalId: string | null;
  taxCode: string | null;
  agency: string | null;
  email: string | null;
  profile: string | null;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  revokedAt: Date | null;
  reason: string | null;
  chain: Array<{ id: string; subject: string | null; role: string }>;
  history: AuditRow[];
  requestId: string | null;
}

export function certificatePage(f: Frame, c: CertDetail, p: { canChange: boolean; reasons: string[] }): string {
  const { lang } = f;
  const row = (k: AdminMessageKey, v: unknown) => html`<dt>${at(lang, k)}</dt><dd>${v ?? '—'}</dd>`;
  const base = `/admin/certificates/${c.serial}`;
  const changeable = c.source === 'issued' && c.statusRaw !== 'revoked' && !c.expired;
  const body = html`
<dl class="facts">
${row('cert.status', badge(lang, c.status))}
${row('cert.holder', c.holderName)}
${row('cert.subject', c.subject)}
${row('cert.nationalId', c.nationalId)}
${row('cert.taxCode', c.taxCode)}
${row('cert.agency', c.agency)}
${row('cert.email', c.email)}
${row('cert.profile', c.profile)}
${row('cert.issuer', c.issuer)}
${row('cert.notBefore', fmt(lang, c.notBefore))}
${row('cert.notAfter', fmt(lang, c.notAfter))}
${c.revokedAt ? row('cert.revokedAt', fmt(lang, c.revokedAt)) : ''}
${c.reason ? row('cert.reason', at(lang, `reason.${c.reason}` as AdminMessageKey)) : ''}
${row('cert.source', c.source)}
${c.requestId ? html`<dt>${at(lang, 'nav.requests')}</dt><dd><a href="/admin/requests/${c.requestId}">${c.requestId}</a></dd>` : ''}
</dl>
<section aria-labelledby="downloads"><h2 id="downloads">${at(lang, 'cert.downloads')}</h2>
<ul class="inline">
<li><a href="${base}/pem" download>${at(lang, 'cert.download.pem')}</a></li>
<li><a href="${base}/der" download>${at(lang, 'cert.download.der')}</a></li>
<li><a href="${base}/chain" download>${at(lang, 'cert.download.chain')}</a></li>
</ul></section>
<section aria-labelledby="chain"><h2 id="chain">${at(lang, 'cert.chain')}</h2>
<ol class="chain"><li><span class="mono">${c.serial}</span> — ${c.subject ?? ''}</li>${c.chain.map((i) => html`<li>${i.id} (${i.role}) — ${i.subject ?? ''}</li>`)}</ol></section>
${p.canChange ? html`<section aria-labelledby="actions"><h2 id="actions">${at(lang, 'cert.actions')}</h2>
${changeable
    ? html`<div class="actions-grid">
<form method="post" action="${base}/revoke" class="danger">
${csrfField(f)}
<h3>${at(lang, 'cert.revoke')}</h3>
${select('revoke-reason', 'reason', at(lang, 'cert.revokeReason'), p.reasons.map((r) => [r, at(lang, `reason.${r}` as AdminMessageKey)] as [string, string]), 'unspecified')}
${input('revoke-comment', 'comment', at(lang, 'cert.comment'), '', html`maxlength="1000"`)}
${confirmBox(f, 'revoke-confirm')}
<button type="submit" class="danger">${at(lang, 'cert.revoke')}</button>
</form>
${c.statusRaw === 'good' ? html`<form method="post" action="${base}/hold">
${csrfField(f)}
<h3>${at(lang, 'cert.hold')}</h3>
${input('hold-comment', 'comment', at(lang, 'cert.comment'), '', html`maxlength="1000"`)}
${confirmBox(f, 'hold-confirm')}
<button type="submit">${at(lang, 'cert.hold')}</button>
</form>` : ''}
${c.statusRaw === 'hold' ? html`<form method="post" action="${base}/release">
${csrfField(f)}
<h3>${at(lang, 'cert.release')}</h3>
${input('release-comment', 'comment', at(lang, 'cert.comment'), '', html`maxlength="1000"`)}
${confirmBox(f, 'release-confirm')}
<button type="submit">${at(lang, 'cert.release')}</button>
</form>` : ''}
</div>`
    : html`<p>${at(lang, 'cert.noActions')}</p>`}
</section>` : ''}
<section aria-labelledby="history"><h2 id="history">${at(lang, 'cert.history')}</h2>
${auditTable(f, c.history, at(lang, 'cert.history'))}</section>`;
  return layout({ ...f, changes: p.canChange && changeable }, at(lang, 'cert.detail', { serial: c.serial }), body);
}
