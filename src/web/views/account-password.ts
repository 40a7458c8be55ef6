import { html, type Raw } from './html.js';
import type { Language } from '../locales/messages.js';
import { th } from '../locales/home-messages.js';

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
