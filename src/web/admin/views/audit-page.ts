import { html } from '../../views/html.js';
import { at } from '../admin-messages.js';
import { auditTable, input, layout, type AuditRow, type Frame } from './admin-layout.js';

/** The audit log: the hash chain's verification, filters, and the events newest first. */

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
