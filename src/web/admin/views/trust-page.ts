import { html } from '../../views/html.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { confirmBox, csrfField, fmt, input, layout, select, type Frame } from './admin-layout.js';

/** The trust store of the signature validation: anchors and intermediates, added or removed. */

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
