import { html, type Raw } from '../../views/html.js';
import { NAME_CONTROL_METHODS } from '../../../../ca/records.js';
import { at, type AdminMessageKey } from '../admin-messages.js';
import { auditTable, confirmBox, csrfField, fmt, input, layout, reqBadge, select, type AuditRow, type Frame } from './admin-layout.js';

/** Certificate requests: the CSR upload form and the list, and one request (dual control). */

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

export function requestTable(f: Frame, rows: RequestRow[], caption: string): Raw {
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
  /** DNS names whose control the approving officer must record (docs/ca.md, "Name policy"). */
  dnsNames: string[];
  history: AuditRow[];
}

/** One method and one piece of evidence per DNS name of the request. */
function nameControlFields(f: Frame, names: string[]): Raw | string {
  if (!names.length) return '';
  const methods = NAME_CONTROL_METHODS.map((m) => [m, m] as [string, string]);
  return html`<fieldset><legend>${at(f.lang, 'req.nameControl')}</legend>${names.map(
    (name, i) => html`<p class="mono">${name}</p><input type="hidden" name="ncName${i}" value="${name}">
${select(`nc-method-${i}`, `ncMethod${i}`, at(f.lang, 'req.nameControl.method'), methods)}
${input(`nc-evidence-${i}`, `ncEvidence${i}`, at(f.lang, 'req.nameControl.evidence'), '', html`required minlength="8" maxlength="2000"`)}`,
  )}</fieldset>`;
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
${csrfField(f)}${nameControlFields(f, r.dnsNames)}
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
