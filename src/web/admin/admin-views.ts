import { html, type Raw } from '../views/html.js';
import { t, type Language } from '../locales/messages.js';
import { at, type AdminMessageKey } from './admin-messages.js';

/** Server-rendered pages of the administration console: no script, forms only (POST-redirect-GET). */

export type NavItem = 'dashboard' | 'certificates' | 'requests' | 'portals' | 'accounts' | 'audit' | 'trust';
const NAV: Array<{ id: NavItem; href: string; key: AdminMessageKey }> = [
  { id: 'dashboard', href: '/admin', key: 'nav.dashboard' },
  { id: 'certificates', href: '/admin/certificates', key: 'nav.certificates' },
  { id: 'requests', href: '/admin/requests', key: 'nav.requests' },
  { id: 'portals', href: '/admin/portals', key: 'nav.portals' },
  { id: 'accounts', href: '/admin/accounts', key: 'nav.accounts' },
  { id: 'audit', href: '/admin/audit', key: 'nav.audit' },
  { id: 'trust', href: '/admin/trust', key: 'nav.trust' },
];

export interface Frame {
  lang: Language;
  officer: string;
  /** The session's login is high assurance (passkey or certificate). */
  high: boolean;
  csrf: string;
  nav: readonly NavItem[];
  current: NavItem;
  /** This page's path and query, for the language switch and the step-up return. */
  selfHref: string;
  logoutHref: string;
  notice?: string;
  error?: string;
  /** The page offers changes: say so when a step-up will be needed first. */
  changes?: boolean;
}

const fmt = (lang: Language, d: Date | null | undefined) =>
  d ? new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Asia/Ho_Chi_Minh' }).format(d) : '—';
export const formatDate = fmt;

function withLang(href: string, lang: Language): string {
  const u = new URL(href, 'http://x');
  u.searchParams.set('lang', lang);
  return `${u.pathname}${u.search}`;
}

export function layout(f: Frame, title: string, body: Raw): string {
  const { lang } = f;
  const other = lang === 'vi' ? 'en' : 'vi';
  const stepUp = `/admin/step-up?return=${encodeURIComponent(f.selfHref)}`;
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${title} · ${at(lang, 'title')} · ${t(lang, 'app.name')}</title>
<link rel="stylesheet" href="/static/tinnhiem.css">
<link rel="stylesheet" href="/static/admin.css">
</head>
<body class="admin">
<a class="skip" href="#main">${at(lang, 'skip')}</a>
<header class="banner">
  <p class="org">${t(lang, 'app.org')}</p>
  <p class="app">${t(lang, 'app.name')} · ${at(lang, 'title')}</p>
  <a class="lang" href="${withLang(f.selfHref, other)}" lang="${other}">${t(lang, 'lang.switch')}</a>
</header>
<section class="userbar" aria-label="${at(lang, 'user.session')}">
  <span>${at(lang, 'user.signedIn', { name: f.officer })}</span>
  <span class="level ${f.high ? 'level-high' : 'level-low'}">${at(lang, f.high ? 'user.level.high' : 'user.level.low')}</span>
  ${f.high ? '' : html`<a href="${stepUp}">${at(lang, 'stepup.link')}</a>`}
  <a href="${f.logoutHref}">${at(lang, 'user.logout')}</a>
</section>
<nav class="adminnav" aria-label="${at(lang, 'nav.label')}">
<ul>${NAV.filter((n) => f.nav.includes(n.id)).map((n) => html`<li><a href="${n.href}" ${n.id === f.current ? html`aria-current="page"` : ''}>${at(lang, n.key)}</a></li>`)}</ul>
</nav>
<main id="main" class="wide" tabindex="-1">
<h1>${title}</h1>
${f.notice ? html`<p class="notice" role="status">${f.notice}</p>` : ''}
${f.error ? html`<p class="error" role="alert" id="page-error">${f.error}</p>` : ''}
${f.changes && !f.high ? html`<p class="stepup">${at(lang, 'stepup.notice')} <a href="${stepUp}">${at(lang, 'stepup.link')}</a></p>` : ''}
${body}
</main>
</body>
</html>`.value;
}

const csrfField = (f: Frame) => html`<input type="hidden" name="csrf" value="${f.csrf}">`;
const badge = (lang: Language, status: string) => html`<span class="badge badge-${status}">${at(lang, `status.${status}` as AdminMessageKey)}</span>`;
const reqBadge = (lang: Language, status: string) => html`<span class="badge badge-req-${status}">${at(lang, `req.status.${status}` as AdminMessageKey)}</span>`;
const confirmBox = (f: Frame, id: string) => html`<div class="check"><input type="checkbox" id="${id}" name="confirm" value="yes" required><label for="${id}">${at(f.lang, 'common.confirm')}</label></div>`;

function select(id: string, name: string, label: string, options: Array<[string, string]>, selected?: string): Raw {
  return html`<label for="${id}">${label}</label><select id="${id}" name="${name}">${options.map(([v, text]) => html`<option value="${v}" ${v === (selected ?? '') ? html`selected` : ''}>${text}</option>`)}</select>`;
}
function input(id: string, name: string, label: string, value = '', extra: Raw | string = ''): Raw {
  return html`<label for="${id}">${label}</label><input id="${id}" name="${name}" type="text" value="${value}" ${extra}>`;
}

// ── Dashboard ────────────────────────────────────────────────────────────────
export interface DashboardData {
  byStatus: Record<string, number>;
  /** Profile (null: imported certificates of other CAs) × status. */
  byProfile: Array<{ profile: string | null; counts: Record<string, number> }>;
  expiring: Array<{ days: number; count: number }>;
  pending: Array<{ id: string; subject: string; profile: string; requestedBy: string; createdAt: Date; approvals: number; required: number }>;
  recent: AuditRow[];
}

export interface AuditRow {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  target: string | null;
  details: string;
}

function auditTable(f: Frame, rows: AuditRow[], caption: string): Raw {
  const { lang } = f;
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">${at(lang, 'audit.seq')}</th><th scope="col">${at(lang, 'audit.time')}</th><th scope="col">${at(lang, 'audit.actor')}</th><th scope="col">${at(lang, 'audit.action')}</th><th scope="col">${at(lang, 'audit.target')}</th><th scope="col">${at(lang, 'audit.details')}</th></tr></thead>
<tbody>${rows.map((e) => html`<tr><td>${e.seq}</td><td>${fmt(lang, e.occurredAt)}</td><td>${e.actor}</td><td><code>${e.action}</code></td><td>${e.target ?? ''}</td><td class="details-cell">${e.details}</td></tr>`)}</tbody></table>`;
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
<tbody>${d.expiring.map((e) => html`<tr><td><a href="/admin/certificates?status=good&amp;expiresWithinDays=${e.days}">${at(lang, 'dash.within', { days: e.days })}</a></td><td class="num">${e.count}</td></tr>`)}</tbody></table></section>
</div>
<section aria-labelledby="by-profile"><h2 id="by-profile">${at(lang, 'dash.byProfile')}</h2>
<table><thead><tr><th scope="col">${at(lang, 'dash.profile')}</th>${statuses.map((st) => html`<th scope="col" class="num">${at(lang, `status.${st}` as AdminMessageKey)}</th>`)}<th scope="col" class="num">${at(lang, 'dash.total')}</th></tr></thead>
<tbody>${d.byProfile.map((p) => html`<tr><th scope="row">${p.profile ? html`<a href="/admin/certificates?profile=${p.profile}">${p.profile}</a>` : at(lang, 'dash.imported')}</th>${statuses.map((st) => html`<td class="num">${p.counts[st] ?? 0}</td>`)}<td class="num">${Object.values(p.counts).reduce((a, b) => a + b, 0)}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="pending"><h2 id="pending">${at(lang, 'dash.pending')}</h2>
${d.pending.length ? requestTable(f, d.pending.map((r) => ({ ...r, status: 'pending' })), at(lang, 'dash.pending')) : html`<p>${at(lang, 'common.none')}</p>`}
</section>
<section aria-labelledby="recent"><h2 id="recent">${at(lang, 'dash.recent')}</h2>
${auditTable(f, d.recent, at(lang, 'dash.recent'))}
<p><a href="/admin/audit">${at(lang, 'nav.audit')}</a></p>
</section>`;
  return layout(f, at(lang, 'dash.title'), body);
}

// ── Certificates ─────────────────────────────────────────────────────────────
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

export function certificatesPage(f: Frame, p: { filters: CertFilters; profiles: string[]; rows: CertRow[]; total: number; offset: number; limit: number }): string {
  const { lang } = f;
  const v = p.filters;
  const page = (offset: number) => {
    const q = new URLSearchParams(Object.entries(v).filter(([, x]) => x) as Array<[string, string]>);
    q.set('offset', String(offset));
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
<table><caption>${at(lang, 'cert.results')} · ${at(lang, 'common.results', { count: p.total })}</caption>
<thead><tr><th scope="col">${at(lang, 'cert.serial')}</th><th scope="col">${at(lang, 'cert.holder')}</th><th scope="col">${at(lang, 'cert.agency')}</th><th scope="col">${at(lang, 'cert.profile')}</th><th scope="col">${at(lang, 'cert.status')}</th><th scope="col">${at(lang, 'cert.notAfter')}</th></tr></thead>
<tbody>${p.rows.map((c) => html`<tr><td><a href="/admin/certificates/${c.serial}" class="mono">${c.serial}</a></td><td>${c.holderName ?? c.subject ?? ''}</td><td>${c.agency ?? ''}</td><td>${c.profile ?? ''}</td><td>${badge(lang, c.status)}</td><td>${fmt(lang, c.notAfter)}</td></tr>`)}</tbody></table>
<p class="pager">${p.offset > 0 ? html`<a href="${page(Math.max(0, p.offset - p.limit))}">${at(lang, 'common.prev')}</a>` : ''} ${p.offset + p.limit < p.total ? html`<a href="${page(p.offset + p.limit)}">${at(lang, 'common.next')}</a>` : ''}</p>`;
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

// ── Requests ─────────────────────────────────────────────────────────────────
export interface RequestRow {
  id: string;
  subject: string;
  profile: string;
  requestedBy: string;
  createdAt: Date;
  approvals: number;
  required: number;
  status: string;
}

function requestTable(f: Frame, rows: RequestRow[], caption: string): Raw {
  const { lang } = f;
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">${at(lang, 'req.subject')}</th><th scope="col">${at(lang, 'req.profile')}</th><th scope="col">${at(lang, 'req.requestedBy')}</th><th scope="col">${at(lang, 'req.createdAt')}</th><th scope="col">${at(lang, 'req.approvals')}</th><th scope="col">${at(lang, 'req.status')}</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><td><a href="/admin/requests/${r.id}">${r.subject}</a></td><td>${r.profile}</td><td>${r.requestedBy}</td><td>${fmt(lang, r.createdAt)}</td><td>${r.approvals}/${r.required}</td><td>${reqBadge(lang, r.status)}</td></tr>`)}</tbody></table>`;
}

export interface RequestFormValues {
  profile?: string;
  csrPem?: string;
  cn?: string;
  uidType?: string;
  uidValue?: string;
  o?: string;
  ou?: string;
  l?: string;
  email?: string;
}

export function requestsPage(f: Frame, p: { rows: RequestRow[]; status?: string; profiles: string[]; canRequest: boolean; values: RequestFormValues }): string {
  const { lang } = f;
  const v = p.values;
  const invalid = f.error ? html`aria-describedby="page-error"` : '';
  const body = html`
${p.canRequest ? html`<section aria-labelledby="new-request"><h2 id="new-request">${at(lang, 'req.new')}</h2>
<form method="post" action="/admin/requests" enctype="multipart/form-data" class="stacked">
${csrfField(f)}
${select('r-profile', 'profile', at(lang, 'req.profile'), p.profiles.map((x) => [x, x] as [string, string]), v.profile)}
<label for="r-file">${at(lang, 'req.csrFile')}</label><input id="r-file" name="csrFile" type="file" accept=".csr,.pem,.der,.req,application/pkcs10" ${invalid}>
<label for="r-pem">${at(lang, 'req.csrPem')}</label><textarea id="r-pem" name="csrPem" rows="6" spellcheck="false" ${invalid}>${v.csrPem ?? ''}</textarea>
<fieldset><legend>${at(lang, 'req.holder')}</legend>
${input('r-cn', 'cn', at(lang, 'req.cn'), v.cn, html`autocomplete="off"`)}
${select('r-uidtype', 'uidType', at(lang, 'req.uidType'), [['CCCD', 'CCCD'], ['CMND', 'CMND'], ['HC', 'HC'], ['MST', 'MST'], ['MNS', 'MNS']], v.uidType ?? 'CCCD')}
${input('r-uid', 'uidValue', at(lang, 'req.uidValue'), v.uidValue, html`autocomplete="off"`)}
${input('r-o', 'o', at(lang, 'req.o'), v.o)}
${input('r-ou', 'ou', at(lang, 'req.ou'), v.ou)}
${input('r-l', 'l', at(lang, 'req.l'), v.l)}
${input('r-email', 'email', at(lang, 'req.email'), v.email, html`inputmode="email"`)}
</fieldset>
<button type="submit">${at(lang, 'req.submit')}</button>
</form></section>` : ''}
<section aria-labelledby="list"><h2 id="list">${at(lang, 'req.list')}</h2>
<form method="get" action="/admin/requests" class="filters">
${select('rq-status', 'status', at(lang, 'req.status'), [['', at(lang, 'common.all')], ...['pending', 'approved', 'issued', 'rejected'].map((s) => [s, at(lang, `req.status.${s}` as AdminMessageKey)] as [string, string])], p.status)}
<button type="submit">${at(lang, 'common.filter')}</button>
</form>
${requestTable(f, p.rows, at(lang, 'req.list'))}</section>`;
  return layout({ ...f, changes: p.canRequest }, at(lang, 'req.title'), body);
}

export interface RequestDetail {
  id: string;
  subject: string;
  profile: string;
  status: string;
  requestedBy: string;
  createdAt: Date;
  required: number;
  approvals: Array<{ name: string; at: Date }>;
  rejectReason: string | null;
  certificateSerial: string | null;
  ownRequest: boolean;
  approvedByMe: boolean;
  history: AuditRow[];
}

export function requestPage(f: Frame, r: RequestDetail, p: { canApprove: boolean }): string {
  const { lang } = f;
  const open = r.status === 'pending';
  const body = html`
<dl class="facts">
<dt>${at(lang, 'req.status')}</dt><dd>${reqBadge(lang, r.status)}</dd>
<dt>${at(lang, 'req.subject')}</dt><dd>${r.subject}</dd>
<dt>${at(lang, 'req.profile')}</dt><dd>${r.profile}</dd>
<dt>${at(lang, 'req.requestedBy')}</dt><dd>${r.requestedBy}</dd>
<dt>${at(lang, 'req.createdAt')}</dt><dd>${fmt(lang, r.createdAt)}</dd>
<dt>${at(lang, 'req.approvals')}</dt><dd>${r.approvals.length ? html`<ul>${r.approvals.map((a) => html`<li>${at(lang, 'req.approvedBy', { name: a.name, at: fmt(lang, a.at) })}</li>`)}</ul>` : '—'}</dd>
${r.rejectReason ? html`<dt>${at(lang, 'req.rejectReason')}</dt><dd>${r.rejectReason}</dd>` : ''}
${r.certificateSerial ? html`<dt>${at(lang, 'req.certificate')}</dt><dd><a class="mono" href="/admin/certificates/${r.certificateSerial}">${r.certificateSerial}</a></dd>` : ''}
</dl>
<p class="dual">${at(lang, 'req.dual', { required: r.required, count: r.approvals.length })}</p>
${open && p.canApprove ? html`<section aria-labelledby="decide"><h2 id="decide">${at(lang, 'req.approve')} / ${at(lang, 'req.reject')}</h2>
${r.ownRequest ? html`<p class="own" id="own-request">${at(lang, 'req.ownRequest')}</p>` : r.approvedByMe ? html`<p class="own">${at(lang, 'req.alreadyApproved')}</p>` : html`<form method="post" action="/admin/requests/${r.id}/approve">
${csrfField(f)}
${confirmBox(f, 'approve-confirm')}
<button type="submit">${at(lang, 'req.approve')}</button>
</form>`}
<form method="post" action="/admin/requests/${r.id}/reject" class="danger">
${csrfField(f)}
${input('reject-reason', 'reason', at(lang, 'req.rejectReason'), '', html`required maxlength="1000"`)}
<button type="submit" class="danger">${at(lang, 'req.reject')}</button>
</form></section>` : ''}
<section aria-labelledby="history"><h2 id="history">${at(lang, 'cert.history')}</h2>
${auditTable(f, r.history, at(lang, 'cert.history'))}</section>`;
  return layout({ ...f, current: 'requests', changes: open && p.canApprove }, at(lang, 'req.detail', { id: r.id }), body);
}

// ── Portals ──────────────────────────────────────────────────────────────────
export interface PortalRow {
  clientId: string;
  name: string;
  redirectUris: string[];
  authMethod: string;
  firstParty: boolean;
  hasSecret: boolean;
  scopes: string;
}
export interface PortalFormValues {
  clientId?: string;
  name?: string;
  redirectUris?: string;
  postLogoutRedirectUris?: string;
  scopes?: string;
  authMethod?: string;
  firstParty?: boolean;
}

export function portalsPage(f: Frame, p: { rows: PortalRow[]; values: PortalFormValues; secret?: { clientId: string; secret: string } }): string {
  const { lang } = f;
  const v = p.values;
  const body = html`
${p.secret ? html`<div class="secret" role="status"><p>${at(lang, 'portal.secretOnce', { client: p.secret.clientId })}</p><p><code class="mono" id="client-secret">${p.secret.secret}</code></p></div>` : ''}
<section aria-labelledby="list"><h2 id="list">${at(lang, 'portal.list')}</h2>
<table><caption>${at(lang, 'portal.list')}</caption><thead><tr><th scope="col">${at(lang, 'portal.clientId')}</th><th scope="col">${at(lang, 'portal.name')}</th><th scope="col">${at(lang, 'portal.redirects')}</th><th scope="col">${at(lang, 'portal.scopes')}</th><th scope="col">${at(lang, 'portal.authMethod')}</th><th scope="col">${at(lang, 'common.actions')}</th></tr></thead>
<tbody>${p.rows.map((c) => html`<tr><td class="mono">${c.clientId}</td><td>${c.name}${c.firstParty ? html` <span class="tag">${at(lang, 'portal.firstParty')}</span>` : ''}</td><td>${c.redirectUris.map((u) => html`<div class="mono">${u}</div>`)}</td><td>${c.scopes}</td><td>${c.authMethod}</td><td>
${c.hasSecret ? html`<form method="post" action="/admin/portals/${c.clientId}/rotate">${csrfField(f)}${confirmBox(f, `rotate-${c.clientId}`)}<button type="submit" class="small">${at(lang, 'portal.rotate')}</button></form>` : ''}
<form method="post" action="/admin/portals/${c.clientId}/remove">${csrfField(f)}${confirmBox(f, `remove-${c.clientId}`)}<button type="submit" class="small danger">${at(lang, 'portal.remove')}</button></form>
</td></tr>`)}</tbody></table></section>
<section aria-labelledby="new-portal"><h2 id="new-portal">${at(lang, 'portal.new')}</h2>
<form method="post" action="/admin/portals" class="stacked">
${csrfField(f)}
${input('p-id', 'clientId', at(lang, 'portal.clientId'), v.clientId, html`required autocomplete="off"`)}
${input('p-name', 'name', at(lang, 'portal.name'), v.name, html`required`)}
<label for="p-redirects">${at(lang, 'portal.redirects')}</label><textarea id="p-redirects" name="redirectUris" rows="3" spellcheck="false">${v.redirectUris ?? ''}</textarea>
<label for="p-logout">${at(lang, 'portal.logoutRedirects')}</label><textarea id="p-logout" name="postLogoutRedirectUris" rows="2" spellcheck="false">${v.postLogoutRedirectUris ?? ''}</textarea>
${input('p-scopes', 'scopes', at(lang, 'portal.scopes'), v.scopes ?? 'openid profile email')}
${select('p-auth', 'authMethod', at(lang, 'portal.authMethod'), [['client_secret_basic', 'client_secret_basic'], ['client_secret_post', 'client_secret_post'], ['none', 'none (PKCE)'], ['private_key_jwt', 'private_key_jwt']], v.authMethod ?? 'client_secret_basic')}
<div class="check"><input type="checkbox" id="p-first" name="firstParty" value="yes" ${v.firstParty ? html`checked` : ''}><label for="p-first">${at(lang, 'portal.firstParty')}</label></div>
<button type="submit">${at(lang, 'portal.register')}</button>
</form></section>`;
  return layout({ ...f, changes: true }, at(lang, 'portal.title'), body);
}

// ── Accounts ─────────────────────────────────────────────────────────────────
export interface AccountRow {
  id: string;
  username: string | null;
  fullName: string;
  nationalId: string | null;
  agency: string | null;
  roles: string[];
  status: 'active' | 'disabled';
  passkeys: number;
}
export interface AccountFormValues {
  username?: string;
  nationalId?: string;
  fullName?: string;
  email?: string;
  agency?: string;
  unit?: string;
  position?: string;
  roles?: string[];
}

const roleBoxes = (f: Frame, prefix: string, roles: readonly string[], checked: readonly string[]) =>
  html`<fieldset><legend>${at(f.lang, 'acct.roles')}</legend>${roles.map((r) => html`<div class="check"><input type="checkbox" id="${prefix}-${r}" name="roles" value="${r}" ${checked.includes(r) ? html`checked` : ''}><label for="${prefix}-${r}">${at(f.lang, `role.${r}` as AdminMessageKey)}</label></div>`)}</fieldset>`;

export function accountsPage(f: Frame, p: { rows: AccountRow[]; search?: string; roles: readonly string[]; values: AccountFormValues }): string {
  const { lang } = f;
  const v = p.values;
  const body = html`
<section aria-labelledby="list"><h2 id="list">${at(lang, 'acct.list')}</h2>
<form method="get" action="/admin/accounts" class="filters" role="search" aria-label="${at(lang, 'common.search')}">
${input('a-search', 'search', at(lang, 'acct.search'), p.search)}
<button type="submit">${at(lang, 'common.search')}</button>
</form>
<table><caption>${at(lang, 'acct.list')}</caption><thead><tr><th scope="col">${at(lang, 'acct.fullName')}</th><th scope="col">${at(lang, 'acct.username')}</th><th scope="col">${at(lang, 'acct.agency')}</th><th scope="col">${at(lang, 'acct.roles')}</th><th scope="col">${at(lang, 'acct.passkeys')}</th><th scope="col">${at(lang, 'acct.status')}</th></tr></thead>
<tbody>${p.rows.map((a) => html`<tr><td><a href="/admin/accounts/${a.id}">${a.fullName}</a></td><td class="mono">${a.username ?? ''}</td><td>${a.agency ?? ''}</td><td>${a.roles.map((r) => at(lang, `role.${r}` as AdminMessageKey)).join(', ')}</td><td>${at(lang, 'acct.passkeyCount', { count: a.passkeys })}</td><td>${at(lang, a.status === 'active' ? 'acct.active' : 'acct.disabled')}</td></tr>`)}</tbody></table></section>
<section aria-labelledby="new-account"><h2 id="new-account">${at(lang, 'acct.new')}</h2>
<form method="post" action="/admin/accounts" class="stacked">
${csrfField(f)}
${input('n-username', 'username', at(lang, 'acct.username'), v.username, html`required autocomplete="off"`)}
${input('n-nid', 'nationalId', at(lang, 'acct.nationalId'), v.nationalId, html`required inputmode="numeric" autocomplete="off"`)}
${input('n-name', 'fullName', at(lang, 'acct.fullName'), v.fullName, html`required autocomplete="off"`)}
${input('n-email', 'email', at(lang, 'acct.email'), v.email, html`autocomplete="off"`)}
${input('n-agency', 'agency', at(lang, 'acct.agency'), v.agency)}
${input('n-unit', 'unit', at(lang, 'acct.unit'), v.unit)}
${input('n-position', 'position', at(lang, 'acct.position'), v.position)}
<label for="n-password">${at(lang, 'acct.password')}</label><input id="n-password" name="password" type="password" autocomplete="new-password" required>
${roleBoxes(f, 'n-role', p.roles, v.roles ?? ['official'])}
<button type="submit">${at(lang, 'acct.create')}</button>
</form></section>`;
  return layout({ ...f, changes: true }, at(lang, 'acct.title'), body);
}

export function accountPage(f: Frame, a: AccountRow & { email: string | null; unit: string | null; position: string | null }, p: { roles: readonly string[]; passkeys: Array<{ id: string; name: string; createdAt: Date; lastUsedAt: Date | null }>; history: AuditRow[] }): string {
  const { lang } = f;
  const base = `/admin/accounts/${a.id}`;
  const body = html`
<dl class="facts">
<dt>${at(lang, 'acct.username')}</dt><dd class="mono">${a.username ?? '—'}</dd>
<dt>${at(lang, 'acct.nationalId')}</dt><dd>${a.nationalId ?? '—'}</dd>
<dt>${at(lang, 'acct.email')}</dt><dd>${a.email ?? '—'}</dd>
<dt>${at(lang, 'acct.agency')}</dt><dd>${a.agency ?? '—'}</dd>
<dt>${at(lang, 'acct.unit')}</dt><dd>${a.unit ?? '—'}</dd>
<dt>${at(lang, 'acct.position')}</dt><dd>${a.position ?? '—'}</dd>
<dt>${at(lang, 'acct.status')}</dt><dd>${at(lang, a.status === 'active' ? 'acct.active' : 'acct.disabled')}</dd>
</dl>
<div class="actions-grid">
<form method="post" action="${base}/roles">
${csrfField(f)}
${roleBoxes(f, 'e-role', p.roles, a.roles)}
<button type="submit">${at(lang, 'acct.saveRoles')}</button>
</form>
<form method="post" action="${base}/${a.status === 'active' ? 'disable' : 'enable'}" class="${a.status === 'active' ? 'danger' : ''}">
${csrfField(f)}
<h2>${at(lang, 'acct.status')}</h2>
${confirmBox(f, 'status-confirm')}
<button type="submit" class="${a.status === 'active' ? 'danger' : ''}">${at(lang, a.status === 'active' ? 'acct.disable' : 'acct.enable')}</button>
</form>
</div>
<section aria-labelledby="passkeys"><h2 id="passkeys">${at(lang, 'acct.passkeys')}</h2>
${p.passkeys.length
    ? html`<table><caption>${at(lang, 'acct.passkeys')}</caption><thead><tr><th scope="col">${at(lang, 'trust.label')}</th><th scope="col">${at(lang, 'req.createdAt')}</th><th scope="col">${at(lang, 'acct.lastUsed')}</th><th scope="col">${at(lang, 'common.actions')}</th></tr></thead>
<tbody>${p.passkeys.map((k) => html`<tr><td>${k.name}</td><td>${fmt(lang, k.createdAt)}</td><td>${k.lastUsedAt ? fmt(lang, k.lastUsedAt) : at(lang, 'acct.never')}</td><td><form method="post" action="${base}/passkeys/${k.id}/delete">${csrfField(f)}${confirmBox(f, `pk-${k.id}`)}<button type="submit" class="small danger">${at(lang, 'acct.passkeyDelete')}</button></form></td></tr>`)}</tbody></table>`
    : html`<p>${at(lang, 'common.none')}</p>`}
</section>
<section aria-labelledby="history"><h2 id="history">${at(lang, 'cert.history')}</h2>
${auditTable(f, p.history, at(lang, 'cert.history'))}</section>`;
  return layout({ ...f, current: 'accounts', changes: true }, a.fullName, body);
}

// ── Audit log ────────────────────────────────────────────────────────────────
export function auditPage(f: Frame, p: { filters: { action?: string; actor?: string; target?: string }; rows: AuditRow[]; next?: string; verification: { ok: boolean; checked: number; head: string | null; badSeq?: number; reason?: string } }): string {
  const { lang } = f;
  const v = p.verification;
  const body = html`
<section aria-labelledby="chain"><h2 id="chain">${at(lang, 'audit.chain')}</h2>
${v.ok
    ? html`<p class="notice" id="chain-result">${at(lang, 'audit.chainOk', { count: v.checked, head: v.head ?? '—' })}</p>`
    : html`<p class="error" id="chain-result" role="alert">${at(lang, 'audit.chainBroken', { seq: v.badSeq ?? '?', reason: v.reason ?? '' })}</p>`}
</section>
<form method="get" action="/admin/audit" class="filters" role="search" aria-label="${at(lang, 'common.filter')}">
${input('au-action', 'action', at(lang, 'audit.action'), p.filters.action)}
${input('au-actor', 'actor', at(lang, 'audit.actor'), p.filters.actor)}
${input('au-target', 'target', at(lang, 'audit.target'), p.filters.target)}
<button type="submit">${at(lang, 'common.filter')}</button>
</form>
${auditTable(f, p.rows, at(lang, 'audit.title'))}
${p.next ? html`<p class="pager"><a href="${p.next}">${at(lang, 'common.next')}</a></p>` : ''}`;
  return layout(f, at(lang, 'audit.title'), body);
}

// ── Trust store ──────────────────────────────────────────────────────────────
export interface TrustRow {
  sha256: string;
  kind: string;
  source: string;
  subject: string;
  notAfter: string;
  label: string | null;
}

export function trustPage(f: Frame, p: { rows: TrustRow[]; values: { pem?: string; kind?: string; label?: string } }): string {
  const { lang } = f;
  const body = html`
<table><caption>${at(lang, 'trust.title')}</caption><thead><tr><th scope="col">${at(lang, 'trust.subject')}</th><th scope="col">${at(lang, 'trust.kind')}</th><th scope="col">${at(lang, 'trust.source')}</th><th scope="col">${at(lang, 'trust.label')}</th><th scope="col">${at(lang, 'trust.notAfter')}</th><th scope="col">${at(lang, 'trust.fingerprint')}</th><th scope="col">${at(lang, 'common.actions')}</th></tr></thead>
<tbody>${p.rows.map((r) => html`<tr><td>${r.subject}</td><td>${at(lang, r.kind === 'anchor' ? 'trust.anchor' : 'trust.intermediate')}</td><td>${at(lang, `trust.source.${r.source}` as AdminMessageKey)}</td><td>${r.label ?? ''}</td><td>${fmt(lang, new Date(r.notAfter))}</td><td class="mono fp">${r.sha256}</td><td>${r.source === 'trust-store' ? html`<form method="post" action="/admin/trust/${r.sha256}/remove">${csrfField(f)}${confirmBox(f, `tr-${r.sha256.slice(0, 16)}`)}<button type="submit" class="small danger">${at(lang, 'trust.remove')}</button></form>` : ''}</td></tr>`)}</tbody></table>
<section aria-labelledby="add"><h2 id="add">${at(lang, 'trust.add')}</h2>
<form method="post" action="/admin/trust" enctype="multipart/form-data" class="stacked">
${csrfField(f)}
<label for="t-file">${at(lang, 'trust.file')}</label><input id="t-file" name="file" type="file" accept=".pem,.crt,.cer,.der">
<label for="t-pem">${at(lang, 'trust.pem')}</label><textarea id="t-pem" name="pem" rows="6" spellcheck="false">${p.values.pem ?? ''}</textarea>
${select('t-kind', 'kind', at(lang, 'trust.kind'), [['anchor', at(lang, 'trust.anchor')], ['intermediate', at(lang, 'trust.intermediate')]], p.values.kind ?? 'anchor')}
${input('t-label', 'label', at(lang, 'trust.label'), p.values.label, html`maxlength="200"`)}
<button type="submit">${at(lang, 'trust.add')}</button>
</form></section>`;
  return layout({ ...f, changes: true }, at(lang, 'trust.title'), body);
}

// ── Refusals ─────────────────────────────────────────────────────────────────
/** A page for a refused or failed request (no navigation when the person may not use the console). */
export function messagePage(f: Frame, title: string, message: string): string {
  return layout(f, title, html`<p>${message}</p>`);
}
