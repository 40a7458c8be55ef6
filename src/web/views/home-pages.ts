import { html, type Raw } from './html.js';
import { layout } from './pages.js';
import type { Language } from '../locales/messages.js';
import { th } from '../locales/home-messages.js';

export interface HomeIssuerView {
  id: string;
  /** The issuer's subject (or its id when it has none yet). */
  name: string;
}

/** What a development start shows on its home page (src/dev/dev-seed.ts, dev-clients.json). */
export interface DevelopmentView {
  password: string;
  officials: string[];
  clients: Array<{ clientId: string; secret: string }>;
}

/** The home page `/`: what the service is, and where everything is. */
export function homePage(p: { lang: Language; publicUrl: string; issuers: HomeIssuerView[]; development?: DevelopmentView }): string {
  const { lang } = p;
  const pki = p.issuers.map(
    (i) => html`<li><a href="/ca/${i.id}.crt">${th(lang, 'home.caCert', { issuer: i.name })}</a></li>
<li><a href="/crl/${i.id}.crl">${th(lang, 'home.crl', { issuer: i.name })}</a></li>`,
  );
  const body = html`
<h1>${th(lang, 'home.title')}</h1>
<p>${th(lang, 'home.intro')}</p>
<h2>${th(lang, 'home.people')}</h2>
<ul class="links">
<li><a href="/account">${th(lang, 'home.account')}</a></li>
<li><a href="/admin">${th(lang, 'home.console')}</a></li>
</ul>
<h2>${th(lang, 'home.developers')}</h2>
<ul class="links">
<li><a href="/oidc/.well-known/openid-configuration">${th(lang, 'home.discovery')}</a></li>
<li><a href="/api/v1/openapi.json">${th(lang, 'home.api')}</a></li>
</ul>
<h2>${th(lang, 'home.pki')}</h2>
<ul class="links" data-pki>
${pki}
<li>${th(lang, 'home.ocsp', { url: `${p.publicUrl}/ocsp` })}</li>
</ul>
${p.development ? developmentSection(lang, p.development) : ''}`;
  return layout(lang, th(lang, 'home.title'), body, '/');
}

function developmentSection(lang: Language, d: DevelopmentView): Raw {
  return html`<section class="development" aria-labelledby="dev-title" data-development>
<h2 id="dev-title">${th(lang, 'home.dev')}</h2>
<p>${th(lang, 'home.dev.intro')}</p>
<p><a class="button" href="/demo">${th(lang, 'home.dev.demo')}</a></p>
<p>${th(lang, 'home.dev.officials', { password: d.password })}</p>
<ul>${d.officials.map((o) => html`<li><code>${o}</code></li>`)}</ul>
<p>${th(lang, 'home.dev.clients')}</p>
<ul>${d.clients.map((c) => html`<li><code>${c.clientId}</code> · <code>${c.secret}</code></li>`)}</ul>
</section>`;
}

/** What the demo portal knows after a login: the ID token's claims and the userinfo answer. */
export interface DemoLogin {
  claims: Record<string, unknown>;
  userinfo: Record<string, unknown> | null;
}

/** The demo portal `/demo` (development only): a login, its claims, a logout; the manual path with curl. */
export function demoPage(p: {
  lang: Language;
  csrf: string;
  clientId: string;
  redirectUri: string;
  tokenEndpoint: string;
  login?: DemoLogin;
  error?: string;
}): string {
  const { lang } = p;
  const curl = `curl -u ${p.clientId}:SECRET -d grant_type=authorization_code -d code=CODE -d redirect_uri=${p.redirectUri} -d code_verifier=VERIFIER ${p.tokenEndpoint}`;
  const body = html`
<h1>${th(lang, 'demo.title')}</h1>
<p>${th(lang, 'demo.intro', { client: p.clientId })}</p>
${p.error ? html`<p class="error" role="alert">${th(lang, 'demo.error', { error: p.error })}</p>` : ''}
${p.login ? signedIn(lang, p.csrf, p.login) : signedOut(lang, p.csrf)}
<h2>${th(lang, 'demo.manual')}</h2>
<p>${th(lang, 'demo.manual.intro', { redirect: p.redirectUri })}</p>
<pre class="json"><code>${curl}</code></pre>
<p class="cancel"><a href="/">${th(lang, 'demo.back')}</a></p>`;
  return layout(lang, th(lang, 'demo.title'), body, '/demo');
}

function signedOut(lang: Language, csrf: string): Raw {
  return html`<form method="post" action="/demo/login">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" id="demo-login">${th(lang, 'demo.login')}</button>
</form>
<form method="post" action="/demo/login">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="via" value="dvcqg">
<button type="submit" class="secondary" id="demo-login-dvcqg" aria-describedby="dvcqg-hint">${th(lang, 'demo.loginDvcqg')}</button>
</form>
<p id="dvcqg-hint">${th(lang, 'demo.loginDvcqg.hint')}</p>`;
}

function signedIn(lang: Language, csrf: string, login: DemoLogin): Raw {
  const { claims } = login;
  // The ID token carries only the authentication (scope claims go to userinfo, as OpenID Connect Core §5.4 asks when an access token is issued).
  const named = login.userinfo?.name ?? claims.name;
  const name = typeof named === 'string' ? named : String(claims.sub);
  const amr = Array.isArray(claims.amr) ? claims.amr.join(', ') : '-';
  return html`<p class="who" data-signed-in>${th(lang, 'demo.signedIn', { name })}</p>
<p data-assurance>${th(lang, 'demo.assurance', { acr: typeof claims.acr === 'string' ? claims.acr : '-', amr })}</p>
<h2>${th(lang, 'demo.claims')}</h2>
<pre class="json" data-claims><code>${JSON.stringify(claims, null, 2)}</code></pre>
<h2>${th(lang, 'demo.userinfo')}</h2>
<pre class="json" data-userinfo><code>${JSON.stringify(login.userinfo, null, 2)}</code></pre>
<form method="post" action="/demo/logout">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit" id="demo-logout">${th(lang, 'demo.logout')}</button>
</form>`;
}
