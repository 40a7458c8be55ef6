import { html, type Raw } from '../views/html.js';
import { layout } from '../views/pages.js';
import type { Language } from '../locales/messages.js';
import { maskIdentifier } from '../../certificates/personal-data.js';
import type { DocumentReport, SignatureReport, SignatureValidationReport } from '../../validation/report.js';
import { INDICATION_TEXTS, verdictText } from './verdict-texts.js';
import { pt } from './verify-messages.js';

/** `2026-12-03 16:05:09 UTC`: one unambiguous spelling in both languages. */
export const utc = (iso: string | null | undefined): string => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '—');

/** The common name of a DN as ca/asn1/names.ts formats it (`CN=…, O=…`), else the whole DN. */
export const commonName = (dn: string): string => /(?:^|,\s*)CN=([^,]+)/.exec(dn)?.[1] ?? dn;

export type VerifyOutcome =
  | { kind: 'report'; report: SignatureValidationReport; fileName: string }
  | { kind: 'error'; message: string; fileName: string | null };

function uploadForm(lang: Language): Raw {
  return html`<form method="post" action="/verify?lang=${lang}" enctype="multipart/form-data" id="verify-form" data-progress="${pt(lang, 'verify.progress')}">
  <label for="file">${pt(lang, 'verify.file')}</label>
  <input id="file" name="file" type="file" required accept=".pdf,.xml,.p7s,.p7m,.der,application/pdf,application/xml,text/xml,application/pkcs7-signature">
  <label for="document">${pt(lang, 'verify.document')}</label>
  <input id="document" name="document" type="file">
  <div class="actions">
    <button type="submit" name="format" value="html">${pt(lang, 'verify.submit')}</button>
    <button type="submit" name="format" value="json" class="secondary">${pt(lang, 'verify.downloadJson')}</button>
    <button type="submit" name="format" value="pdf" class="secondary">${pt(lang, 'verify.downloadPdf')}</button>
  </div>
  <p id="verify-progress" class="progress" role="status" aria-live="polite" hidden><progress max="100" value="0" aria-label="${pt(lang, 'verify.progress')}"></progress> <span>${pt(lang, 'verify.progress')}</span></p>
</form>`;
}

function signingTime(lang: Language, s: SignatureReport): Raw {
  if (s.poe) return html`${utc(s.poe.time)} <span class="source">(${pt(lang, 'verify.timeSource.timestamp', { tsa: s.poe.tsa ? commonName(s.poe.tsa) : '—' })})</span>`;
  const claimed = s.signingTime.claimed ?? s.claimedTimes.pdfSigningTime;
  if (claimed) return html`${utc(claimed)} <span class="source">(${pt(lang, 'verify.timeSource.claim')})</span>`;
  return html`${pt(lang, 'verify.timeSource.none')}`;
}

function changesAfter(lang: Language, s: SignatureReport, document: DocumentReport | null): Raw {
  if (!document || !s.pdf) return html``;
  const changes = document.changes.filter((c) => c.afterSignatures.includes(s.id));
  return html`<h4>${pt(lang, 'verify.changes')}</h4>
${changes.length
  ? html`<ul class="changes">${changes.map((c) => html`<li>${pt(lang, `verify.change.${c.kind}`)} (${pt(lang, 'verify.revisionOf', { revision: c.revision })}): ${c.allowed ? pt(lang, 'verify.changes.allowed') : pt(lang, 'verify.changes.notAllowed')}${c.reason ? html` — ${c.reason}` : ''}</li>`)}</ul>`
  : html`<p>${pt(lang, 'verify.changes.none')}</p>`}`;
}

function signatureCard(lang: Language, s: SignatureReport, document: DocumentReport | null): Raw {
  const verdict = verdictText(lang, s.indication, s.subIndication);
  const signer = s.signer;
  const organisation = signer ? [signer.organization, ...signer.organizationalUnits].filter(Boolean).join(', ') : '';
  const personalId = signer?.personalId ? `${signer.personalId.kind}: ${maskIdentifier(signer.personalId.value)}` : null;
  const issuing = s.chain[1] ?? null;
  const cls = s.indication === 'TOTAL_PASSED' ? 'passed' : s.indication === 'TOTAL_FAILED' ? 'failed' : 'indeterminate';
  return html`<article class="signature-card ${cls}" aria-labelledby="sig-${s.id}" data-indication="${s.indication}" data-sub-indication="${s.subIndication ?? ''}">
<h3 id="sig-${s.id}">${pt(lang, 'verify.signature', { id: s.id })}: ${verdict.title}</h3>
<p class="verdict">${verdict.explanation}</p>
<dl class="details">
  <dt>${pt(lang, 'verify.signer')}</dt><dd>${signer?.name ?? '—'}</dd>
  ${organisation ? html`<dt>${pt(lang, 'verify.organisation')}</dt><dd>${organisation}</dd>` : ''}
  ${personalId ? html`<dt>${pt(lang, 'verify.personalId')}</dt><dd>${personalId}</dd>` : ''}
  <dt>${pt(lang, 'verify.signingTime')}</dt><dd>${signingTime(lang, s)}</dd>
  <dt>${pt(lang, 'verify.indication')}</dt><dd><code>${s.indication}${s.subIndication ? ` / ${s.subIndication}` : ''}</code></dd>
  <dt>${pt(lang, 'verify.issuingCa')}</dt><dd>${issuing ? commonName(issuing.subject) : (signer ? commonName(signer.issuer) : '—')}</dd>
</dl>
<h4>${pt(lang, 'verify.chain')}</h4>
${s.chain.length ? html`<ol class="chain">${s.chain.map((c) => html`<li>${commonName(c.subject)}${c.trustAnchor ? html` <span class="source">(${pt(lang, 'verify.trustAnchor')})</span>` : ''}</li>`)}</ol>` : html`<p>${pt(lang, 'verify.noChain')}</p>`}
<h4>${pt(lang, 'verify.revocation')}</h4>
${s.revocation.length
  ? html`<ul class="revocation">${s.revocation.map((r) => html`<li>${pt(lang, 'verify.revocation.line', { subject: commonName(r.subject), status: pt(lang, `verify.status.${r.status}`), source: r.source, at: r.revokedAt ? pt(lang, 'verify.revokedAt', { time: utc(r.revokedAt), reason: r.reason ?? '—' }) : '' })}</li>`)}</ul>`
  : html`<p>${pt(lang, 'verify.noRevocation')}</p>`}
${changesAfter(lang, s, document)}
${s.errors.length || s.warnings.length ? html`<details><summary>${pt(lang, 'verify.details')}</summary><ul>${[...s.errors, ...s.warnings].map((e) => html`<li>${e}</li>`)}</ul></details>` : ''}
</article>`;
}

function outcomeSection(lang: Language, outcome: VerifyOutcome): Raw {
  if (outcome.kind === 'error') return html`<section aria-labelledby="result"><h2 id="result">${pt(lang, 'verify.error')}</h2><p class="error" role="alert">${outcome.message}</p></section>`;
  const { report } = outcome;
  const overall = INDICATION_TEXTS[lang][report.indication];
  const doc = report.document && report.document.indication !== 'TOTAL_PASSED' ? verdictText(lang, report.document.indication, report.document.subIndication) : null;
  return html`<section aria-labelledby="result"><h2 id="result">${pt(lang, 'verify.result')}</h2>
<p class="overall" data-indication="${report.indication}">${pt(lang, 'verify.overall', { verdict: overall })}</p>
${doc ? html`<p class="document-verdict">${pt(lang, 'verify.document.verdict', { explanation: report.document?.changes.some((c) => !c.allowed) ? pt(lang, 'verify.document.changed') : doc.explanation })}</p>` : ''}
${report.signatures.length ? report.signatures.map((s) => signatureCard(lang, s, report.document)) : html`<p>${pt(lang, 'verify.noSignature')}</p>`}
</section>`;
}

/** The /verify page: the upload form, and the result of an upload when there is one. */
export function verifyPage(lang: Language, outcome?: VerifyOutcome): string {
  const body = html`<h1>${pt(lang, 'verify.title')}</h1>
<p>${pt(lang, 'verify.intro')}</p>
<p class="who">${pt(lang, 'verify.privacy')}</p>
${outcome ? outcomeSection(lang, outcome) : ''}
${outcome ? html`<h2>${pt(lang, 'verify.checkAnother')}</h2>` : ''}
${uploadForm(lang)}
<link rel="stylesheet" href="/static/verify.css">
<script src="/static/verify.js" defer></script>`;
  return layout(lang, pt(lang, 'verify.title'), body, '/verify');
}
