import { html } from '../../views/html.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { auditTable, confirmBox, csrfField, fmt, input, layout, type AuditRow, type Frame } from './admin-layout.js';
import { pendingChanges, type ChangeRow } from './account-change-pages.js';

/** The officials' accounts: the list with the creation form, and one account (roles, status, passkeys, history). */

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

export function accountsPage(f: Frame, p: { rows: AccountRow[]; search?: string; roles: readonly string[]; values: AccountFormValues; pending: ChangeRow[] }): string {
  const { lang } = f;
  const v = p.values;
  const body = html`
${pendingChanges(f, p.pending)}
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
<form method="post" action="${base}/enrolment-code">
${csrfField(f)}
<button type="submit" class="secondary">${at(lang, 'code.enrolment')}</button>
</form>
<div class="actions-grid" data-account-actions>
${(['reset-password', 'unlock', 'end-sessions'] as const).map((action) => html`<form method="post" action="${base}/${action}">
${csrfField(f)}
${confirmBox(f, `${action}-confirm`)}
<button type="submit" class="secondary">${at(lang, action === 'reset-password' ? 'acct.resetPassword' : action === 'unlock' ? 'acct.unlock' : 'acct.endSessions')}</button>
</form>`)}
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
