import { html } from '../../views/html.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { csrfField, fmt, input, layout, type Frame } from './admin-layout.js';

/** Account changes awaiting a second administrator, and the pages that show a one-time code once. */

export interface ChangeRow {
  id: string;
  kind: string;
  label: string;
  requestedBy: string;
  createdAt: Date;
  /** The viewer asked for it: they cannot approve it. */
  own: boolean;
}

/** The pending changes, each with approve and reject (the initiator sees why they cannot). */
export function pendingChanges(f: Frame, rows: ChangeRow[]) {
  const { lang } = f;
  if (!rows.length) return '';
  return html`<section aria-labelledby="pending-changes" data-pending-changes><h2 id="pending-changes">${at(lang, 'chg.title')}</h2>
<table><caption>${at(lang, 'chg.title')}</caption><thead><tr><th scope="col">${at(lang, 'chg.kind')}</th><th scope="col">${at(lang, 'chg.account')}</th><th scope="col">${at(lang, 'chg.requestedBy')}</th><th scope="col">${at(lang, 'chg.createdAt')}</th><th scope="col">${at(lang, 'common.actions')}</th></tr></thead>
<tbody>${rows.map(
    (c) => html`<tr data-change="${c.id}"><td>${at(lang, `chg.kind.${c.kind}` as AdminMessageKey)}</td><td class="mono">${c.label}</td><td>${c.requestedBy}</td><td>${fmt(lang, c.createdAt)}</td><td>${
      c.own
        ? html`<p>${at(lang, 'chg.own')}</p>`
        : html`<form method="post" action="/admin/account-changes/${c.id}/approve">${csrfField(f)}<button type="submit" class="small">${at(lang, 'chg.approve')}</button></form>
<form method="post" action="/admin/account-changes/${c.id}/reject">${csrfField(f)}${input(`r-${c.id}`, 'reason', at(lang, 'chg.reason'), '', html`required`)}<button type="submit" class="small danger">${at(lang, 'chg.reject')}</button></form>`
    }</td></tr>`,
  )}</tbody></table></section>`;
}

/** A code, shown once on the response itself (no redirect, no-store). */
export function codePage(f: Frame, title: string, message: string, code: string, note?: string): string {
  return layout(f, title, html`<p>${message}</p><p class="mono secret" data-one-time-code>${code}</p>${note ? html`<p role="status">${note}</p>` : ''}`);
}

/** The form that creates the officer's own approval code for the command line. */
export const approvalCodeForm = (f: Frame) =>
  html`<form method="post" action="/admin/approval-code">${csrfField(f)}<button type="submit" class="secondary">${at(f.lang, 'code.approvalCreate')}</button></form>`;
