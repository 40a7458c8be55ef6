import { html } from '../views/html.js';
import { layout } from '../views/pages.js';
import type { Language } from '../locales/messages.js';
import type { Comparison, RegisteredDocument } from '../../documents/document-registry.js';
import { utc } from './verify-views.js';
import { pt } from './verify-messages.js';

/** `/verify/{id}`: what was registered, and a form to compare a file with it. */
export function documentPage(lang: Language, id: string, doc: RegisteredDocument | null, comparison?: Comparison): string {
  if (!doc) {
    const body = html`<h1>${pt(lang, 'doc.title')}</h1>
<p class="error" role="alert" data-outcome="not-registered">${pt(lang, 'doc.notRegistered')}</p>
<p><a href="/verify">${pt(lang, 'doc.checkSignatures')}</a></p>`;
    return layout(lang, pt(lang, 'doc.title'), body, `/verify/${id}`);
  }
  const outcome = comparison === 'unchanged' ? pt(lang, 'doc.unchanged') : comparison === 'mismatch' ? pt(lang, 'doc.mismatch') : null;
  const body = html`<h1>${pt(lang, 'doc.title')}</h1>
<p>${pt(lang, 'doc.intro')}</p>
<dl class="details">
  <dt>${pt(lang, 'doc.docTitle')}</dt><dd>${doc.title}</dd>
  <dt>${pt(lang, 'doc.issuer')}</dt><dd>${doc.issuer}</dd>
  ${doc.documentDate ? html`<dt>${pt(lang, 'doc.date')}</dt><dd>${doc.documentDate}</dd>` : ''}
  <dt>${pt(lang, 'doc.registeredAt')}</dt><dd>${utc(doc.registeredAt.toISOString())}</dd>
  <dt>SHA-256</dt><dd><code class="hash">${doc.sha256}</code></dd>
</dl>
${outcome ? html`<section aria-labelledby="result"><h2 id="result">${pt(lang, 'verify.result')}</h2><p class="${comparison === 'unchanged' ? 'verdict' : 'error'}" role="status" data-outcome="${comparison}">${outcome}</p></section>` : ''}
<form method="post" action="/verify/${doc.id}?lang=${lang}" enctype="multipart/form-data">
  <label for="file">${pt(lang, 'doc.file')}</label>
  <input id="file" name="file" type="file" required>
  <button type="submit">${pt(lang, 'doc.compare')}</button>
</form>
<p><img src="/verify/${doc.id}/qr.svg" alt="${pt(lang, 'doc.qrAlt')}" width="160" height="160"></p>
<p class="who">${pt(lang, 'verify.privacy')}</p>
<link rel="stylesheet" href="/static/verify.css">`;
  return layout(lang, pt(lang, 'doc.title'), body, `/verify/${doc.id}`);
}
