import type Router from '@koa/router';
import { z } from 'zod';
import { AppError, asAppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { clientInputSchema } from '../../../../oidc/clients/client-registry.js';
import { validate } from '../../api/parse-input.js';
import { sendPage } from '../../views/html.js';
import { portalsPage, type PortalFormValues } from '../views/portals-page.js';
import { redirect, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, parseForm, readForm, steppedUp, trimmed } from '../admin-forms.js';
import { portalRefusal } from '../views/portal-refusals.js';

const checkbox = z
  .string()
  .optional()
  .transform((v) => v === 'yes');

/** The registration form as typed (shown again when the registration is refused). */
const PortalFields = z.object({
  clientId: trimmed,
  name: trimmed,
  redirectUris: z.string().default(''),
  postLogoutRedirectUris: z.string().default(''),
  scopes: z.string().default(''),
  authMethod: z.string().default('client_secret_basic'),
  grantTypes: z.array(z.string()).default([]),
  jwksUri: trimmed,
  jwks: trimmed,
  backchannelLogoutUri: trimmed,
  firstParty: checkbox,
  requirePar: checkbox,
  acrValuesEssential: checkbox,
});

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The inline JWK Set as typed: JSON, or a refusal that names the field. */
function jwksOf(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('validationFailed', 'jwks: not JSON', { errors: [{ path: 'jwks', message: 'not JSON' }] });
  }
}

/** The client the form describes, checked by the registry's own schema (the same refusals as the API's). */
function clientOf(v: z.output<typeof PortalFields>) {
  const input = {
    clientId: v.clientId,
    name: v.name,
    redirectUris: lines(v.redirectUris),
    postLogoutRedirectUris: lines(v.postLogoutRedirectUris),
    scopes: v.scopes.split(/\s+/).filter(Boolean),
    authMethod: v.authMethod,
    firstParty: v.firstParty,
    // No box ticked: the registry's default (a login portal: authorization_code + refresh_token).
    grantTypes: v.grantTypes.length ? v.grantTypes : undefined,
    jwksUri: v.jwksUri || undefined,
    jwks: jwksOf(v.jwks),
    backchannelLogoutUri: v.backchannelLogoutUri || undefined,
    requirePushedAuthorizationRequests: v.requirePar,
    acrValuesEssential: v.acrValuesEssential,
  };
  return validate(clientInputSchema, input, 'body');
}

interface PortalsExtra {
  status?: number;
  error?: string;
  values?: PortalFormValues;
  /** A new secret, shown on this response only (never stored in clear, never redirected). */
  secret?: { clientId: string; secret: string };
}

async function renderPortals(c: AdminConsole, ctx: AppContext, o: Officer, extra: PortalsExtra = {}) {
  const clients = await c.deps.clients.list();
  const rows = clients.map((x) => ({
    clientId: x.clientId,
    name: x.name,
    redirectUris: (x.metadata.redirect_uris as string[] | undefined) ?? [],
    authMethod: String(x.metadata.token_endpoint_auth_method ?? ''),
    firstParty: x.firstParty,
    grantTypes: (x.metadata.grant_types as string[] | undefined) ?? [],
    requirePar: x.metadata.require_pushed_authorization_requests === true,
    hasSecret: x.hasSecret,
    scopes: [x.metadata.scope, x.metadata.api_scopes].filter(Boolean).join(' '),
  }));
  sendPage(ctx, extra.status ?? 200, portalsPage(c.frame(ctx, o, 'portals', { error: extra.error }), { rows, values: extra.values ?? {}, secret: extra.secret }));
}

const registerPortal = (c: AdminConsole) =>
  async function registerPortal(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/portals')) return;
    const values = parseForm(PortalFields, form, ['grantTypes']);
    try {
      const { client, secret } = await c.deps.clients.add(o.actor, clientOf(values));
      await renderPortals(c, ctx, o, { status: 201, secret: secret ? { clientId: client.clientId, secret } : undefined });
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return renderPortals(c, ctx, o, { status: refused.status, error: portalRefusal(o.lang, err, refused), values });
      throw err;
    }
  };

const rotateSecret = (c: AdminConsole) =>
  async function rotateSecret(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/portals')) return;
    confirmed(o, form);
    const secret = await c.deps.clients.rotateSecret(o.actor, String(ctx.params.clientId));
    await renderPortals(c, ctx, o, { secret: { clientId: String(ctx.params.clientId), secret } });
  };

const removePortal = (c: AdminConsole) =>
  async function removePortal(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/portals')) return;
    confirmed(o, form);
    await c.deps.clients.remove(o.actor, String(ctx.params.clientId));
    redirect(ctx, '/admin/portals?done=portalRemoved');
  };

/** The portals, with the registration form. */
const showPortals = (c: AdminConsole) =>
  function showPortals(ctx: AppContext, o: Officer) {
    return renderPortals(c, ctx, o);
  };

/** The portals (our OIDC clients): registration, secret rotation, removal. */
export function portalsSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/portals', c.page('admin', 'portals', showPortals(c)));
  router.post('/admin/portals', c.page('admin', 'portals', registerPortal(c)));
  router.post('/admin/portals/:clientId/rotate', c.page('admin', 'portals', rotateSecret(c)));
  router.post('/admin/portals/:clientId/remove', c.page('admin', 'portals', removePortal(c)));
}
