import { html, raw, type Raw } from './html.js';
import { t, type Language, type MessageKey } from '../locales/messages.js';

export interface LoginMethodLink {
  id: string;
  href: string;
  label: Record<Language, string>;
  /** A script file of our own origin the login page loads for this method (passkey autofill). */
  script?: string;
  /**
   * The first options of this method's ceremony (WebAuthn JSON, its challenge stored, single use,
   * bound to the interaction), embedded for the script: passkey autofill starts without a call.
   */
  options?: unknown;
  /** Where the script posts the ceremony's answer (the passkey's: under the resume's address). */
  verify?: string;
}

/**
 * The service sends `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` with
 * a form POST, and the interaction router refuses a foreign Origin; `same-origin` here lets our
 * own forms carry their real Origin while nothing leaks to other sites. The empty icon spares a
 * /favicon.ico request (a 404 the service has no route for).
 */
export function layout(lang: Language, title: string, body: Raw, switchHref?: string): string {
  const other = lang === 'vi' ? 'en' : 'vi';
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${title} · ${t(lang, 'app.name')}</title>
<link rel="stylesheet" href="/static/tinnhiem.css">
</head>
<body>
<header class="banner">
  <p class="org">${t(lang, 'app.org')}</p>
  <p class="app">${t(lang, 'app.name')}</p>
  ${switchHref ? html`<a class="lang" href="${switchHref}${switchHref.includes('?') ? '&' : '?'}lang=${other}" lang="${other}">${t(lang, 'lang.switch')}</a>` : ''}
</header>
<main id="main" class="card">
${body}
</main>
</body>
</html>`.value;
}

export function loginPage(p: {
  lang: Language;
  action: string;
  selfHref: string;
  abortHref: string;
  csrf: string;
  clientName: string;
  login?: string;
  error?: string;
  methods: LoginMethodLink[];
}): string {
  const { lang } = p;
  const body = html`
<h1>${t(lang, 'login.title')}</h1>
<p>${t(lang, 'login.intro', { client: p.clientName })}</p>
${p.error ? html`<p class="error" role="alert" id="login-error">${p.error}</p>` : ''}
<form method="post" action="${p.action}" novalidate>
  <input type="hidden" name="csrf" value="${p.csrf}">
  <label for="login">${t(lang, 'login.login')}</label>
  <input id="login" name="login" type="text" autocomplete="username webauthn" autocapitalize="none" spellcheck="false" required value="${p.login ?? ''}" ${p.error ? html`aria-describedby="login-error" aria-invalid="true"` : ''} autofocus>
  <label for="password">${t(lang, 'login.password')}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">${t(lang, 'login.submit')}</button>
</form>
${p.methods.length ? html`<section class="methods" aria-labelledby="other-methods"><h2 id="other-methods">${t(lang, 'login.other')}</h2><ul>${p.methods.map((m) => html`<li><a class="button secondary" href="${m.href}" data-method="${m.id}"${m.options === undefined ? '' : html` data-options-json="${JSON.stringify(m.options)}"`}${m.verify === undefined ? '' : html` data-verify="${m.verify}"`}>${m.label[lang]}</a></li>`)}</ul></section>` : ''}
<p class="cancel"><a href="${p.abortHref}">${t(lang, 'login.cancel')}</a></p>
${[...new Set(p.methods.flatMap((m) => (m.script ? [m.script] : [])))].map((src) => html`<script src="${src}" defer></script>`)}`;
  return layout(lang, t(lang, 'login.title'), body, p.selfHref);
}

export function consentPage(p: {
  lang: Language;
  action: string;
  abortHref: string;
  selfHref: string;
  csrf: string;
  clientName: string;
  accountName: string;
  scopes: string[];
  apiScopes: string[];
}): string {
  const { lang } = p;
  const items = p.scopes.map((s) => html`<li>${t(lang, `scope.${s}` as MessageKey)}</li>`);
  const body = html`
<h1>${t(lang, 'consent.title')}</h1>
<p class="who">${t(lang, 'consent.signedInAs', { name: p.accountName })}</p>
<p>${t(lang, 'consent.intro', { client: p.clientName })}</p>
<ul class="scopes">${items}${p.apiScopes.length ? html`<li>${t(lang, 'scope.api', { scopes: p.apiScopes.join(', ') })}</li>` : ''}</ul>
<form method="post" action="${p.action}">
  <input type="hidden" name="csrf" value="${p.csrf}">
  <button type="submit">${t(lang, 'consent.allow')}</button>
</form>
<p class="cancel"><a href="${p.abortHref}">${t(lang, 'consent.deny')}</a></p>`;
  return layout(lang, t(lang, 'consent.title'), body, p.selfHref);
}

export function errorPage(p: { lang: Language; message?: string; details: Array<[string, string]>; requestId?: string; switchHref?: string }): string {
  const { lang } = p;
  const body = html`
<h1>${t(lang, 'error.title')}</h1>
<p role="alert">${p.message ?? t(lang, 'error.intro')}</p>
<dl class="details">${p.details.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}${p.requestId ? html`<dt>${t(lang, 'error.requestId')}</dt><dd><code>${p.requestId}</code></dd>` : ''}</dl>
<p>${t(lang, 'error.back')}</p>`;
  return layout(lang, t(lang, 'error.title'), body, p.switchHref);
}

/**
 * `form` is oidc-provider's hidden logout form (with its own xsrf token); the buttons submit it.
 * Without a session there is nothing to confirm: one button goes on (back to the portal).
 */
export function logoutPage(p: { lang: Language; form: string; clientName?: string; signedIn: boolean; switchHref?: string }): string {
  const { lang } = p;
  const question = p.clientName ? t(lang, 'logout.question.client', { client: p.clientName }) : t(lang, 'logout.question');
  const actions = p.signedIn
    ? html`<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>${t(lang, 'logout.yes')}</button>
<button type="submit" form="op.logoutForm" class="secondary">${t(lang, 'logout.no')}</button>`
    : html`<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>${p.clientName ? t(lang, 'logout.return', { client: p.clientName }) : t(lang, 'logout.continue')}</button>`;
  const body = html`
<h1>${t(lang, 'logout.title')}</h1>
<p>${p.signedIn ? question : t(lang, 'logout.none')}</p>
${raw(p.form)}
<div class="actions">
${actions}
</div>`;
  return layout(lang, t(lang, 'logout.title'), body, p.switchHref);
}

export function loggedOutPage(p: { lang: Language; clientName?: string; switchHref?: string }): string {
  const { lang } = p;
  const body = html`
<h1>${t(lang, 'logout.done.title')}</h1>
<p role="status">${p.clientName ? t(lang, 'logout.done.client', { client: p.clientName }) : t(lang, 'logout.done')}</p>`;
  return layout(lang, t(lang, 'logout.done.title'), body, p.switchHref);
}

/** A failed brokered login: what happened, and the way back to the portal (which gets the OAuth error). */
export function federationErrorPage(p: { lang: Language; upstream: string; message: string; returnHref?: string; clientName?: string; requestId?: string; switchHref?: string }): string {
  const { lang } = p;
  const body = html`
<h1>${t(lang, 'federation.title', { upstream: p.upstream })}</h1>
<p role="alert">${p.message}</p>
${p.requestId ? html`<dl class="details"><dt>${t(lang, 'error.requestId')}</dt><dd><code>${p.requestId}</code></dd></dl>` : ''}
${p.returnHref ? html`<p><a class="button" href="${p.returnHref}" id="return-to-portal">${t(lang, 'federation.return', { client: p.clientName ?? '' })}</a></p>` : html`<p>${t(lang, 'error.back')}</p>`}`;
  return layout(lang, t(lang, 'federation.title', { upstream: p.upstream }), body, p.switchHref);
}

/** An official's national ID came back from the upstream: the link needs the official's password. */
export function federationLinkPage(p: { lang: Language; action: string; abortHref: string; selfHref: string; csrf: string; upstream: string; username: string; error?: string }): string {
  const { lang } = p;
  const body = html`
<h1>${t(lang, 'federation.link.title')}</h1>
<p>${t(lang, 'federation.link.intro', { username: p.username, upstream: p.upstream })}</p>
${p.error ? html`<p class="error" role="alert" id="link-error">${p.error}</p>` : ''}
<form method="post" action="${p.action}" novalidate>
  <input type="hidden" name="csrf" value="${p.csrf}">
  <label for="login">${t(lang, 'login.login')}</label>
  <input id="login" name="login" type="text" autocomplete="username" readonly value="${p.username}">
  <label for="password">${t(lang, 'login.password')}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required ${p.error ? html`aria-describedby="link-error" aria-invalid="true"` : ''} autofocus>
  <button type="submit">${t(lang, 'federation.link.submit')}</button>
</form>
<p class="cancel"><a href="${p.abortHref}">${t(lang, 'login.cancel')}</a></p>`;
  return layout(lang, t(lang, 'federation.link.title'), body, p.selfHref);
}

function dateText(lang: Language, d: Date): string {
  return d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'medium', timeStyle: 'short' });
}

/** Why the page asks: administration scopes, or a level the portal made essential (no scopes). */
function stepUpIntro(lang: Language, client: string, scopes: string[] | undefined): string {
  if (!scopes) return t(lang, 'passkey.intro', { client });
  return scopes.length ? t(lang, 'stepup.intro', { client, scopes: scopes.join(', ') }) : t(lang, 'stepup.introAcr', { client });
}

/** Passwordless login, or step-up (a second factor for administration scopes). */
export function passkeyPage(p: {
  lang: Language;
  selfHref: string;
  clientName: string;
  csrf: string;
  optionsUrl: string;
  /** The ceremony's first options (WebAuthn JSON), embedded so the script starts without a call. */
  options?: unknown;
  verifyUrl: string;
  backHref?: string;
  abortHref: string;
  stepUpScopes?: string[];
  hasPasskey?: boolean;
  methods: LoginMethodLink[];
}): string {
  const { lang } = p;
  const title = p.stepUpScopes ? t(lang, 'stepup.title') : t(lang, 'passkey.title');
  const body = html`
<h1>${title}</h1>
<p>${stepUpIntro(lang, p.clientName, p.stepUpScopes)}</p>
${p.hasPasskey === false ? html`<p class="error" role="alert">${t(lang, 'stepup.noPasskey')}</p>` : ''}
<p class="error" role="alert" id="passkey-status" hidden></p>
<button type="button" id="passkey-start" data-passkey-login data-options="${p.optionsUrl}" data-options-json="${p.options === undefined ? '' : JSON.stringify(p.options)}" data-verify="${p.verifyUrl}" data-csrf="${p.csrf}" data-status="passkey-status" data-failed="${t(lang, 'passkey.failed')}" data-unsupported="${t(lang, 'passkey.unsupported')}" ${p.hasPasskey === false ? 'disabled' : ''}>${t(lang, 'passkey.start')}</button>
${p.methods.length ? html`<section class="methods" aria-labelledby="other-methods"><h2 id="other-methods">${t(lang, 'login.other')}</h2><ul>${p.methods.map((m) => html`<li><a class="button secondary" href="${m.href}" data-method="${m.id}">${m.label[lang]}</a></li>`)}</ul></section>` : ''}
${p.backHref ? html`<p class="cancel"><a href="${p.backHref}">${t(lang, 'passkey.back')}</a></p>` : ''}
<p class="cancel"><a href="${p.abortHref}">${t(lang, 'login.cancel')}</a></p>
<script src="/static/passkeys.js" defer></script>`;
  return layout(lang, title, body, p.selfHref);
}

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  synced: boolean;
}

/** The account page: the passkeys of the signed-in person (register, rename, delete). */
export interface AccountCertificateView {
  fingerprint: string;
  subjectDn: string;
  serial: string;
  createdAt: Date;
}

export interface CredentialEventView {
  at: Date;
  action: string;
  basis: string | null;
}

/** Without a strong login, each credential change asks for the administrator's enrolment code. */
const enrolmentField = (lang: Language, strong: boolean, id: string) =>
  strong
    ? ''
    : html`<label for="code-${id}">${t(lang, 'account.enrolmentCode')}</label>
  <input id="code-${id}" name="enrolmentCode" type="text" autocomplete="one-time-code" maxlength="40" required>`;

function certificateList(lang: Language, p: { csrf: string; strong: boolean; certificates: AccountCertificateView[] }): Raw | string {
  const items = p.certificates.map(
    (c) => html`<li class="certificate"><p><strong>${c.subjectDn}</strong><br>${t(lang, 'account.created', { date: dateText(lang, c.createdAt) })} · ${c.serial}</p>
  <form method="post" action="/account/certificates/${c.fingerprint}/delete">
    <input type="hidden" name="csrf" value="${p.csrf}">
    ${enrolmentField(lang, p.strong, `del-${c.fingerprint.slice(0, 16)}`)}
    <button type="submit" class="secondary">${t(lang, 'account.delete')}</button>
  </form></li>`,
  );
  return html`<h2>${t(lang, 'account.certificates')}</h2>
${p.certificates.length ? html`<ul class="passkeys">${items}</ul>` : html`<p>${t(lang, 'account.noCertificates')}</p>`}
<form method="post" action="/account/certificates">
  <input type="hidden" name="csrf" value="${p.csrf}">
  <label for="new-certificate">${t(lang, 'account.certificatePem')}</label>
  <textarea id="new-certificate" name="certificate" rows="6" required></textarea>
  ${enrolmentField(lang, p.strong, 'new-cert')}
  <button type="submit">${t(lang, 'account.addCertificate')}</button>
</form>`;
}

function credentialHistory(lang: Language, history: CredentialEventView[]): Raw | string {
  if (!history.length) return '';
  const rows = history.map((e) => html`<li>${dateText(lang, e.at)} · ${e.action}${e.basis ? html` (${e.basis})` : ''}</li>`);
  return html`<h2>${t(lang, 'account.history')}</h2><ul class="history" data-credential-history>${rows}</ul>`;
}

export function accountPage(p: {
  lang: Language;
  accountName: string;
  csrf: string;
  passkeys: PasskeyView[];
  certificates: AccountCertificateView[];
  history: CredentialEventView[];
  strong: boolean;
  logoutHref: string;
  error?: string;
  /** Further sections (the password form, src/web/views/account-password.ts). */
  extra?: Raw;
}): string {
  const { lang } = p;
  const items = p.passkeys.map(
    (k) => html`<li class="passkey" data-passkey-id="${k.id}">
  <p><strong>${k.name}</strong> · ${k.synced ? t(lang, 'account.synced') : t(lang, 'account.deviceBound')}<br>
  ${t(lang, 'account.created', { date: dateText(lang, k.createdAt) })} · ${k.lastUsedAt ? t(lang, 'account.lastUsed', { date: dateText(lang, k.lastUsedAt) }) : t(lang, 'account.neverUsed')}</p>
  <form method="post" action="/account/passkeys/${k.id}/rename">
    <input type="hidden" name="csrf" value="${p.csrf}">
    <label for="name-${k.id}">${t(lang, 'account.name')}</label>
    <input id="name-${k.id}" name="name" type="text" maxlength="64" required value="${k.name}">
    <button type="submit" class="secondary">${t(lang, 'account.rename')}</button>
  </form>
  <form method="post" action="/account/passkeys/${k.id}/delete">
    <input type="hidden" name="csrf" value="${p.csrf}">
    ${enrolmentField(lang, p.strong, `del-${k.id}`)}
    <button type="submit" class="secondary" aria-label="${t(lang, 'account.delete')}: ${k.name}">${t(lang, 'account.delete')}</button>
  </form>
</li>`,
  );
  const body = html`
<h1>${t(lang, 'account.title')}</h1>
<p class="who">${t(lang, 'account.signedInAs', { name: p.accountName })}</p>
${p.error ? html`<p class="error" role="alert">${p.error}</p>` : ''}
${p.strong ? '' : html`<p class="notice" data-enrolment-needed>${t(lang, 'account.enrolmentNeeded')}</p>`}
<h2>${t(lang, 'account.passkeys')}</h2>
${p.passkeys.length ? html`<ul class="passkeys">${items}</ul>` : html`<p>${t(lang, 'account.none')}</p>`}
<form method="post" action="/account/passkeys" data-passkey-register data-options="/account/passkeys/options" data-csrf="${p.csrf}" data-status="register-status" data-failed="${t(lang, 'account.registerFailed')}" data-unsupported="${t(lang, 'passkey.unsupported')}">
  <label for="new-name">${t(lang, 'account.name')}</label>
  <input id="new-name" name="name" type="text" maxlength="64" required>
  ${enrolmentField(lang, p.strong, 'new-passkey')}
  <p class="error" role="alert" id="register-status" hidden></p>
  <button type="submit">${t(lang, 'account.add')}</button>
</form>
${certificateList(lang, p)}
${p.extra ?? ''}
${credentialHistory(lang, p.history)}
<p class="cancel"><a href="${p.logoutHref}">${t(lang, 'account.logout')}</a></p>
<script src="/static/passkeys.js" defer></script>`;
  return layout(lang, t(lang, 'account.title'), body, '/account');
}
