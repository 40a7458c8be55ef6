import { html } from '../../views/html.js';
import { at } from '../admin-messages.js';
import { confirmBox, csrfField, input, layout, select, type Frame } from './admin-layout.js';

/** The portals (OIDC clients): the list, registration, secret rotation and removal. */

export interface PortalRow {
  clientId: string;
  name: string;
  redirectUris: string[];
  authMethod: string;
  firstParty: boolean;
  grantTypes: string[];
  requirePar: boolean;
  hasSecret: boolean;
  scopes: string;
}
export interface PortalFormValues {
  clientId?: string;
  name?: string;
  redirectUris?: string;
  postLogoutRedirectUris?: string;
  scopes?: string;
  authMethod?: string;
  grantTypes?: string[];
  jwksUri?: string;
  jwks?: string;
  backchannelLogoutUri?: string;
  firstParty?: boolean;
  requirePar?: boolean;
  acrValuesEssential?: boolean;
}

const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;

const checkbox = (id: string, name: string, label: string, checked: boolean | undefined, value = 'yes') =>
  html`<div class="check"><input type="checkbox" id="${id}" name="${name}" value="${value}" ${checked ? html`checked` : ''}><label for="${id}">${label}</label></div>`;

/** Grant types, the keys of private_key_jwt, back-channel logout, PAR and acr policy. */
function advancedFields(f: Frame, v: PortalFormValues) {
  const { lang } = f;
  // None ticked means the registry's default (a login portal): shown ticked.
  const grants = v.grantTypes?.length ? v.grantTypes : ['authorization_code', 'refresh_token'];
  return html`<fieldset><legend>${at(lang, 'portal.grantTypes')}</legend>${GRANT_TYPES.map((g) => checkbox(`p-grant-${g}`, 'grantTypes', at(lang, `portal.grant.${g}`), grants.includes(g), g))}</fieldset>
${input('p-jwks-uri', 'jwksUri', at(lang, 'portal.jwksUri'), v.jwksUri, html`spellcheck="false" inputmode="url"`)}
<label for="p-jwks">${at(lang, 'portal.jwks')}</label><textarea id="p-jwks" name="jwks" rows="3" spellcheck="false">${v.jwks ?? ''}</textarea>
${input('p-backchannel', 'backchannelLogoutUri', at(lang, 'portal.backchannel'), v.backchannelLogoutUri, html`spellcheck="false" inputmode="url"`)}
${checkbox('p-par', 'requirePar', at(lang, 'portal.requirePar'), v.requirePar)}
${checkbox('p-acr', 'acrValuesEssential', at(lang, 'portal.acrEssential'), v.acrValuesEssential)}`;
}

export function portalsPage(f: Frame, p: { rows: PortalRow[]; values: PortalFormValues; secret?: { clientId: string; secret: string } }): string {
  const { lang } = f;
  const v = p.values;
  const body = html`
${p.secret ? html`<div class="secret" role="status"><p>${at(lang, 'portal.secretOnce', { client: p.secret.clientId })}</p><p><code class="mono" id="client-secret">${p.secret.secret}</code></p></div>` : ''}
<section aria-labelledby="list"><h2 id="list">${at(lang, 'portal.list')}</h2>
<table><caption>${at(lang, 'portal.list')}</caption><thead><tr><th scope="col">${at(lang, 'portal.clientId')}</th><th scope="col">${at(lang, 'portal.name')}</th><th scope="col">${at(lang, 'portal.redirects')}</th><th scope="col">${at(lang, 'portal.scopes')}</th><th scope="col">${at(lang, 'portal.authMethod')}</th><th scope="col">${at(lang, 'common.actions')}</th></tr></thead>
<tbody>${p.rows.map((c) => html`<tr><td class="mono">${c.clientId}</td><td>${c.name}${c.firstParty ? html` <span class="tag">${at(lang, 'portal.firstParty')}</span>` : ''}</td><td>${c.redirectUris.map((u) => html`<div class="mono">${u}</div>`)}</td><td>${c.scopes}</td><td>${c.authMethod}<div class="mono">${c.grantTypes.join(' ')}</div>${c.requirePar ? html`<span class="tag">PAR</span>` : ''}</td><td>
${c.hasSecret ? html`<form method="post" action="/admin/portals/${c.clientId}/rotate">${csrfField(f)}${confirmBox(f, `rotate-${c.clientId}`)}<button type="submit" class="small">${at(lang, 'portal.rotate')}</button></form>` : ''}
<form method="post" action="/admin/portals/${c.clientId}/remove">${csrfField(f)}${confirmBox(f, `remove-${c.clientId}`)}<button type="submit" class="small danger">${at(lang, 'portal.remove')}</button></form>
</td></tr>`)}</tbody></table></section>
<section aria-labelledby="new-portal"><h2 id="new-portal">${at(lang, 'portal.new')}</h2>
<form method="post" action="/admin/portals" class="stacked">
${csrfField(f)}
${input('p-id', 'clientId', at(lang, 'portal.clientId'), v.clientId, html`required autocomplete="off"`)}
${input('p-name', 'name', at(lang, 'portal.name'), v.name, html`required`)}
<label for="p-redirects">${at(lang, 'portal.redirects')}</label><textarea id="p-redirects" name="redirectUris" rows="3" spellcheck="false">${v.redirectUris ?? ''}</textarea>
<label for="p-logout">${at(lang, 'portal.logoutRedirects')}</label><textarea id="p-logout" name="postLogoutRedirectUris" rows="2" spellcheck="false">${v.postLogoutRedirectUris ?? ''}</textarea>
${input('p-scopes', 'scopes', at(lang, 'portal.scopes'), v.scopes ?? 'openid profile email')}
${select('p-auth', 'authMethod', at(lang, 'portal.authMethod'), [['client_secret_basic', 'client_secret_basic'], ['client_secret_post', 'client_secret_post'], ['none', 'none (PKCE)'], ['private_key_jwt', 'private_key_jwt']], v.authMethod ?? 'client_secret_basic')}
${checkbox('p-first', 'firstParty', at(lang, 'portal.firstParty'), v.firstParty)}
${advancedFields(f, v)}
<button type="submit">${at(lang, 'portal.register')}</button>
</form></section>`;
  return layout({ ...f, changes: true }, at(lang, 'portal.title'), body);
}
