import type Router from '@koa/router';
import { z } from 'zod';
import { AppError, asAppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { sendPage } from '../../views/html.js';
import { at } from '../admin-messages.js';
import { trustPage } from '../views/trust-page.js';
import { redirect, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, parseForm, readForm, readUpload, steppedUp, trimmed } from '../admin-forms.js';

/** The form as typed (shown again when the certificate is refused); the certificate is a file or pasted PEM. */
const TrustFields = z.object({
  pem: trimmed,
  kind: z.string().default('anchor'),
  label: z
    .string()
    .default('')
    .transform((s) => s.trim().slice(0, 200)),
});
const TrustKind = z.object({ kind: z.enum(['anchor', 'intermediate'], { error: 'anchor or intermediate' }).default('anchor') });
/** The SHA-256 fingerprint in hex, with or without colons. */
const FINGERPRINT = /^[0-9a-fA-F:]{64,95}$/;

async function renderTrust(c: AdminConsole, ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: { pem?: string; kind?: string; label?: string } } = {}) {
  sendPage(ctx, extra.status ?? 200, trustPage(c.frame(ctx, o, 'trust', { error: extra.error }), { rows: await c.deps.trust.list(), values: extra.values ?? {} }));
}

const addTrusted = (c: AdminConsole) =>
  async function addTrusted(ctx: AppContext, o: Officer) {
    const { fields, files } = await readUpload(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/trust')) return;
    const values = parseForm(TrustFields, fields);
    const fail = (error: string, status = 400) => renderTrust(c, ctx, o, { status, error, values });
    const file = files.get('file');
    const bytes = file?.length ? new Uint8Array(file) : values.pem ? new Uint8Array(Buffer.from(values.pem, 'utf8')) : null;
    if (!bytes) return fail(at(o.lang, 'trust.missing'));
    try {
      const { kind } = parseForm(TrustKind, fields);
      await c.deps.trust.add(o.actor, bytes, kind, values.label || null);
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return fail(refused.detail, refused.status);
      throw err;
    }
    redirect(ctx, '/admin/trust?done=trustAdded');
  };

const removeTrusted = (c: AdminConsole) =>
  async function removeTrusted(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/trust')) return;
    confirmed(o, form);
    const sha = String(ctx.params.sha256);
    if (!FINGERPRINT.test(sha) || !(await c.deps.trust.remove(o.actor, sha))) throw new AppError('notFound', `no trust entry ${sha}`);
    redirect(ctx, '/admin/trust?done=trustRemoved');
  };

/** The trust store, with the form that adds to it. */
const showTrustStore = (c: AdminConsole) =>
  function showTrustStore(ctx: AppContext, o: Officer) {
    return renderTrust(c, ctx, o);
  };

/** The validation's trust store: anchors and intermediates added by administrators. */
export function trustSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/trust', c.page('admin', 'trust', showTrustStore(c)));
  router.post('/admin/trust', c.page('admin', 'trust', addTrusted(c)));
  router.post('/admin/trust/:sha256/remove', c.page('admin', 'trust', removeTrusted(c)));
}
