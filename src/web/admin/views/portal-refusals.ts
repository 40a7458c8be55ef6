import type { AppError } from '../../../errors/app-error.js';
import { ClientRegistryError } from '../../../../oidc/errors.js';
import type { Language } from '../../locales/messages.js';
import { at, type AdminMessageKey } from '../admin-messages.js';

/** The form's field labels, by the registry's input path (its first segment). */
const FIELDS: Record<string, AdminMessageKey> = {
  clientId: 'portal.clientId',
  name: 'portal.name',
  redirectUris: 'portal.redirects',
  postLogoutRedirectUris: 'portal.logoutRedirects',
  scopes: 'portal.scopes',
  authMethod: 'portal.authMethod',
  grantTypes: 'portal.grantTypes',
  jwksUri: 'portal.jwksUri',
  jwks: 'portal.jwks',
  backchannelLogoutUri: 'portal.backchannel',
};

/** The registry's reasons (oidc/clients/client-registry.ts), in the console's languages. */
const REASONS: Array<[RegExp, AdminMessageKey]> = [
  [/^must be an absolute https URL/, 'portal.reason.uri'],
  [/^required for the authorization_code grant/, 'portal.reason.redirectRequired'],
  [/^a public client cannot use client_credentials/, 'portal.reason.publicMachine'],
  [/^a login client needs the openid scope/, 'portal.reason.openid'],
  [/^required for private_key_jwt/, 'portal.reason.jwksRequired'],
  [/^give jwks_uri or jwks, not both/, 'portal.reason.jwksBoth'],
  [/^3–64 characters/, 'portal.reason.clientId'],
  [/^only these scopes exist/, 'portal.reason.scopes'],
  [/^not JSON/, 'portal.reason.json'],
];

const reasonOf = (lang: Language, message: string) => at(lang, REASONS.find(([re]) => re.test(message))?.[1] ?? 'portal.reason.invalid');

/**
 * A refused registration in the page's language: each field by its label on the form, each reason
 * translated (an unknown one reads "invalid value"), never the registry's English on a Vietnamese
 * page. oidc-provider's own metadata check keeps its technical detail, inside a localised sentence.
 */
export function portalRefusal(lang: Language, err: unknown, refused: AppError): string {
  if (err instanceof ClientRegistryError && err.reason === 'already-registered') return at(lang, 'portal.error.exists');
  const problems = (refused.extensions.errors as Array<{ path: string; message: string }> | undefined) ?? [];
  if (!problems.length) return at(lang, 'portal.error.metadata', { detail: refused.detail });
  const items = problems.map((p) => {
    const field = FIELDS[p.path.split('.')[0]];
    return `${field ? at(lang, field) : p.path}: ${reasonOf(lang, p.message)}`;
  });
  return `${at(lang, 'portal.error.intro')} ${items.join('; ')}.`;
}
