import type { Configuration } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { ProviderPages } from './ports.js';
import { API_SCOPES } from './scopes.js';
import { apiResource, type OidcSettings } from './settings.js';

type Features = NonNullable<Configuration['features']>;

/** oidc-provider's optional features: what is on, and the pages RP-initiated logout shows (the host's). */
export function features(settings: OidcSettings, pages: ProviderPages, apiSigningKid?: string): Features {
  return {
    devInteractions: { enabled: false },
    introspection: {
      enabled: true,
      // A client may introspect only tokens issued to it.
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    // OIDC Core §5.5: claims requested one by one, and an essential `acr` (oidc/step-up.ts).
    claimsParameter: { enabled: true },
    clientCredentials: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: (ctx, form) => pages.logoutSource(ctx, form),
      postLogoutSuccessSource: (ctx) => pages.postLogoutSuccessSource(ctx),
    },
    resourceIndicators: resourceIndicators(settings, apiSigningKid),
  };
}

/**
 * A client's registered `api_scopes` as the API's scope string and set (read on every grant: kept,
 * at most 256 forms), with the requested `scope` strings already found within it (at most 64 per
 * form): a grant asking again for what it asked before is not split and filtered again.
 */
interface RegisteredForm {
  scope: string;
  allowed: ReadonlySet<string>;
  within: Set<string>;
}
const registeredForms = new Map<string, RegisteredForm>();
function apiScopesOf(registered: string): RegisteredForm {
  let form = registeredForms.get(registered);
  if (!form) {
    const names = registered.split(' ');
    const scope = API_SCOPES.filter((s) => names.includes(s)).join(' ');
    form = { scope, allowed: new Set(scope.split(' ')), within: new Set() };
    if (registeredForms.size >= 256) registeredForms.clear();
    registeredForms.set(registered, form);
  }
  return form;
}

/**
 * RFC 8707 resource indicators: the API is the one resource server; its tokens are JWTs (RFC 9068),
 * signed with `signingKid` (the active ES256 key) when it is given: the key oidc-provider would
 * pick, named, so that it does not filter and sort its whole key store for every token
 * (docs/performance.md, "Token endpoint (client credentials), seventh pass").
 */
function resourceIndicators(settings: OidcSettings, signingKid?: string): Features['resourceIndicators'] {
  const api = apiResource(settings);
  const sign: { alg: 'ES256'; kid?: string } = signingKid ? { alg: 'ES256', kid: signingKid } : { alg: 'ES256' };
  // The answer for each registered form, of this provider's settings and signing key (a rotation
  // builds a new provider, and with it a new map).
  const infoOf = new WeakMap<RegisteredForm, Readonly<{ scope: string; audience: string; accessTokenTTL: number; accessTokenFormat: 'jwt'; jwt: Readonly<{ sign: Readonly<typeof sign> }> }>>();
  return {
    enabled: true,
    // Machine clients get API tokens without naming the resource; logins get an opaque
    // token for userinfo unless the portal asks for the API (resource=…/api).
    defaultResource: async (ctx, _client, oneOf) => oneOf ?? (ctx.oidc.params?.grant_type === 'client_credentials' ? api : undefined),
    useGrantedResource: async () => false,
    async getResourceServerInfo(ctx, resourceIndicator, client) {
      if (resourceIndicator !== api) throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
      // The client's registered API scopes bound what any token for it can carry.
      const form = apiScopesOf(String((client as unknown as { api_scopes?: string }).api_scopes ?? ''));
      const { scope, allowed, within } = form;
      if (!scope) throw new errors.InvalidTarget('this client is not registered for the API');
      // RFC 6749 §5.2: a machine client asking for a scope it is not registered for (or one that does
      // not exist) gets invalid_scope, not a token with less than it asked for. (A person's login is
      // different: the grant records what the account's roles refuse, oidc/grants.ts.)
      if (ctx.oidc.params?.grant_type === 'client_credentials') {
        const requested = String(ctx.oidc.params.scope ?? '');
        if (!within.has(requested)) {
          const refused = requested.split(' ').filter((s) => s && !allowed.has(s));
          if (refused.length) throw new errors.InvalidScope('requested scope is not allowed for this client', refused.join(' '));
          if (within.size >= 64) within.clear();
          within.add(requested);
        }
      }
      // One answer per form: oidc-provider copies it into the token's ResourceServer and changes
      // none of it (lib/helpers/resource_server.js); frozen, so nothing can.
      let info = infoOf.get(form);
      if (!info) {
        info = Object.freeze({
          scope,
          audience: api,
          accessTokenTTL: settings.accessTokenTtlSeconds,
          accessTokenFormat: 'jwt' as const,
          jwt: Object.freeze({ sign: Object.freeze({ ...sign }) }),
        });
        infoOf.set(form, info);
      }
      return info;
    },
  };
}
