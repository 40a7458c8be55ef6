import type Router from '@koa/router';
import { z } from 'zod';
import { asAppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { clientInputSchema } from '../../../../oidc/clients/client-registry.js';
import { validate } from '../../api/parse-input.js';
import { sendPage } from '../../views/html.js';
import { portalsPage, type PortalFormValues } from '../views/portals-page.js';
import { redirect, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, parseForm, readForm, steppedUp, trimmed } from '../admin-forms.js';

/** The registration form as typed (shown again when the registration is refused). */
const PortalFields = z.object({
  clientId: trimmed,
  name: trimmed,
  redirectUris: z.string().default(''),
  postLogoutRedirectUris: z.string().default(''),
  scopes: z.string().default(''),
  authMethod: z.string().default('client_secret_basic'),
  firstParty: z
    .string()
    .optional()
    .transform((v) => v === 'yes'),
});

const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The client the form describes, checked by the registry's own schema (the same refusals as the API's). */
function clientOf(v: z.output<typeof PortalFields>) {
  const input = { clientId: v.clientId, name: v.name, redirectUris: lines(v.redirectUris), postLogoutRedirectUris: lines(v.postLogoutRedirectUris), scopes: v.scopes.split(/\s+/).filter(Boolean), authMethod: v.authMethod, firstParty: v.firstParty };
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
    hasSecret: x.hasSecret,
    scopes: [x.metadata.scope, x.metadata.api_scopes].filter(Boolean).join(' '),
  }));
  sendPage(ctx, extra.status ?? 200, portalsPage(c.frame(ctx, o, 'portals', { error: extra.error }), { rows, values: extra.values ?? {}, secret: extra.secret }));
}

const registerPortal = (c: AdminConsole) =>
  async function registerPortal(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/portals')) return;
    const values = parseForm(PortalFields, form);
    try {
      const { client, secret } = await c.deps.clients.add(o.actor, clientOf(values));
      await renderPortals(c, ctx, o, { status: 201, secret: secret ? { clientId: client.clientId, secret } : undefined });
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return renderPortals(c, ctx, o, { status: refused.status, error: refused.detail, values });
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
