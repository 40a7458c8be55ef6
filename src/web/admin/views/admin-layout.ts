import { html, type Raw } from '../../views/html.js';
import { t, type Language } from '../../locales/messages.js';
import { at, type AdminMessageKey } from '../admin-messages.js';

/**
 * The frame of every page of the administration console (banner, session bar, navigation, notices)
 * and the pieces the sections' pages share. Server-rendered: no script, forms only
 * (POST-redirect-GET).
 */

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

export const fmt = (lang: Language, d: Date | null | undefined) =>
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

export const csrfField = (f: Frame) => html`<input type="hidden" name="csrf" value="${f.csrf}">`;
export const badge = (lang: Language, status: string) => html`<span class="badge badge-${status}">${at(lang, `status.${status}` as AdminMessageKey)}</span>`;
export const reqBadge = (lang: Language, status: string) => html`<span class="badge badge-req-${status}">${at(lang, `req.status.${status}` as AdminMessageKey)}</span>`;
export const confirmBox = (f: Frame, id: string) => html`<div class="check"><input type="checkbox" id="${id}" name="confirm" value="yes" required><label for="${id}">${at(f.lang, 'common.confirm')}</label></div>`;

export function select(id: string, name: string, label: string, options: Array<[string, string]>, selected?: string): Raw {
  return html`<label for="${id}">${label}</label><select id="${id}" name="${name}">${options.map(([v, text]) => html`<option value="${v}" ${v === (selected ?? '') ? html`selected` : ''}>${text}</option>`)}</select>`;
}
export function input(id: string, name: string, label: string, value = '', extra: Raw | string = ''): Raw {
  return html`<label for="${id}">${label}</label><input id="${id}" name="${name}" type="text" value="${value}" ${extra}>`;
}

export interface AuditRow {
  seq: number;
  occurredAt: Date;
  actor: string;
  action: string;
  target: string | null;
  details: string;
}
export function auditTable(f: Frame, rows: AuditRow[], caption: string): Raw {
  const { lang } = f;
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">${at(lang, 'audit.seq')}</th><th scope="col">${at(lang, 'audit.time')}</th><th scope="col">${at(lang, 'audit.actor')}</th><th scope="col">${at(lang, 'audit.action')}</th><th scope="col">${at(lang, 'audit.target')}</th><th scope="col">${at(lang, 'audit.details')}</th></tr></thead>
<tbody>${rows.map((e) => html`<tr><td>${e.seq}</td><td>${fmt(lang, e.occurredAt)}</td><td>${e.actor}</td><td><code>${e.action}</code></td><td>${e.target ?? ''}</td><td class="details-cell">${e.details}</td></tr>`)}</tbody></table>`;
}

// ── Refusals ─────────────────────────────────────────────────────────────────
/** A page for a refused or failed request (no navigation when the person may not use the console). */
export function messagePage(f: Frame, title: string, message: string): string {
  return layout(f, title, html`<p>${message}</p>`);
}
