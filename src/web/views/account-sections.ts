import { html, type Raw } from './html.js';
import type { Language } from '../locales/messages.js';
import { th } from '../locales/home-messages.js';

export interface AccountSessionsView {
  sessions: Array<{ uid: string; loginAt: Date | null; acr: string | null; amr: string[]; clients: string[]; current: boolean }>;
  consents: Array<{ id: string; clientId: string; scopes: string[]; grantedAt: Date | null }>;
  /** Identities at upstream providers (DVCQG) linked to the account. */
  links: Array<{ upstream: string; subject: string; createdAt: Date; lastLoginAt: Date | null }>;
}

// As the page's other dates (src/web/views/pages.ts): day and minute, the province's time zone.
const when = (lang: Language, d: Date | null) => (d ? d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'medium', timeStyle: 'short' }) : '-');

/** Sessions on other devices (end one), consents given to portals (withdraw one), linked DVCQG identities. */
export function sessionSections(lang: Language, csrf: string, v: AccountSessionsView): Raw {
  const sessions = v.sessions.map(
    (s) => html`<li data-session="${s.uid}">${th(lang, 'sessions.item', { at: when(lang, s.loginAt), acr: s.acr ?? '-', amr: s.amr.join(', ') || '-' })}${s.clients.length ? html` · ${s.clients.join(', ')}` : ''}
${s.current ? html` · <strong>${th(lang, 'sessions.current')}</strong>` : html`<form method="post" action="/account/sessions/${s.uid}/end"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary" aria-label="${th(lang, 'sessions.end')}: ${when(lang, s.loginAt)}">${th(lang, 'sessions.end')}</button></form>`}</li>`,
  );
  const consents = v.consents.map(
    (c) => html`<li data-consent="${c.clientId}">${th(lang, 'consents.item', { client: c.clientId, scopes: c.scopes.join(' ') || '-', at: when(lang, c.grantedAt) })}
<form method="post" action="/account/consents/${c.id}/withdraw"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="secondary" aria-label="${th(lang, 'consents.withdraw')}: ${c.clientId}">${th(lang, 'consents.withdraw')}</button></form></li>`,
  );
  const links = v.links.map((l) => html`<li data-link="${l.upstream}">${th(lang, 'links.item', { upstream: l.upstream, subject: l.subject, at: when(lang, l.lastLoginAt ?? l.createdAt) })}</li>`);
  return html`<section aria-labelledby="sessions-title" data-sessions>
<h2 id="sessions-title">${th(lang, 'sessions.title')}</h2>
<ul class="links">${sessions}</ul>
</section>
<section aria-labelledby="consents-title" data-consents>
<h2 id="consents-title">${th(lang, 'consents.title')}</h2>
${consents.length ? html`<ul class="links">${consents}</ul>` : html`<p>${th(lang, 'consents.none')}</p>`}
</section>
<section aria-labelledby="links-title" data-links>
<h2 id="links-title">${th(lang, 'links.title')}</h2>
${links.length ? html`<ul class="links">${links}</ul>` : html`<p>${th(lang, 'links.none')}</p>`}
</section>`;
}

/** The account page's password form: a session below the step-up sees why, and the enrolment-code field. */
export function passwordSection(lang: Language, csrf: string, strong: boolean): Raw {
  return html`<section aria-labelledby="password-title" data-password>
<h2 id="password-title">${th(lang, 'password.title')}</h2>
${strong ? '' : html`<p id="password-step-up">${th(lang, 'password.stepUp')}</p>`}
<form method="post" action="/account/password">
  <input type="hidden" name="csrf" value="${csrf}">
  <label for="new-password">${th(lang, 'password.new')}</label>
  <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="10" maxlength="256" required>
  <label for="confirm-password">${th(lang, 'password.confirm')}</label>
  <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" minlength="10" maxlength="256" required>
  ${strong ? '' : html`<label for="password-code">${th(lang, 'password.code')}</label>
  <input id="password-code" name="enrolmentCode" type="text" autocomplete="one-time-code" spellcheck="false" aria-describedby="password-step-up">`}
  <p>${th(lang, 'password.after')}</p>
  <button type="submit">${th(lang, 'password.submit')}</button>
</form>
</section>`;
}
