import type Router from '@koa/router';
import { z } from 'zod';
import { AppError, asAppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import { ROLES, type Account } from '../../../../oidc/account.js';
import { sendPage } from '../../views/html.js';
import { accountPage, accountsPage, type AccountFormValues, type AccountRow } from '../views/account-pages.js';
import { can, isRole, redirect, UUID, type AdminConsole, type Officer } from '../admin-console.js';
import { looksLikeIdentifierSearch, maskIdentifier } from '../../../certificates/personal-data.js';
import { confirmed, parseForm, readForm, steppedUp, trimmed } from '../admin-forms.js';
import { at } from '../admin-messages.js';
import { changeRows } from './account-changes.js';
import { codePage } from '../views/account-change-pages.js';

/** Roles as ticked (each box a `roles` field): every one a role of ours, each once. */
const RolesForm = z.object({
  roles: z
    .array(z.string())
    .default([])
    .transform((roles, ctx) => {
      const unknown = roles.filter((r) => !isRole(r));
      if (unknown.length) {
        ctx.addIssue({ code: 'custom', message: `unknown ${unknown.join(', ')}` });
        return z.NEVER;
      }
      return [...new Set(roles.filter(isRole))];
    }),
});
/** The new official as typed (shown again when the creation is refused). */
const AccountFields = z.object({ username: trimmed, nationalId: trimmed, fullName: trimmed, email: trimmed, agency: trimmed, unit: trimmed, position: trimmed, roles: z.array(z.string()).default([]) });
const PasswordField = z.object({
  password: z
    .string()
    .optional()
    .transform((p) => p || undefined),
});


async function accountRow(c: AdminConsole, a: Account): Promise<AccountRow> {
  return { id: a.id, username: a.username, fullName: a.fullName, nationalId: a.nationalId, agency: a.agency, roles: a.roles, status: a.status, passkeys: (await c.deps.passkeys.list(a.id)).length };
}

async function renderAccounts(c: AdminConsole, ctx: AppContext, o: Officer, extra: { status?: number; error?: string; values?: AccountFormValues } = {}) {
  const search = typeof ctx.query.search === 'string' ? ctx.query.search.trim().slice(0, 100) : '';
  // Looking a person up by number (the search matches a national ID exactly) tells whether they
  // hold an account: audited as certificate searches by number are (docs/ca.md, "Personal data");
  // `q` is masked in the audit log for readers without certs:read:pii.
  const byNumber = looksLikeIdentifierSearch(search);
  if (byNumber && !can(o, 'pii')) throw new AppError('forbidden', 'searching by a national ID needs the scope certs:read:pii (administrators)');
  const list = await c.deps.accounts.list({ kind: 'official', search: search || undefined, limit: 200 });
  if (byNumber) await c.recordShown(o, { query: { q: search } });
  const rows = await Promise.all(list.map((a) => accountRow(c, a)));
  const pending = await changeRows(c, o);
  sendPage(ctx, extra.status ?? 200, accountsPage(c.frame(ctx, o, 'accounts', { error: extra.error }), { rows, search, roles: ROLES, values: extra.values ?? {}, pending }));
}

const createAccount = (c: AdminConsole) =>
  async function createAccount(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    if (!steppedUp(ctx, o, '/admin/accounts')) return;
    const values = parseForm(AccountFields, form, ['roles']);
    try {
      const { roles } = parseForm(RolesForm, form, ['roles']);
      const { password } = parseForm(PasswordField, form);
      const input = { username: values.username, nationalId: values.nationalId, fullName: values.fullName, email: values.email || null, agency: values.agency || null, unit: values.unit || null, position: values.position || null };
      // An admin or RA officer waits for a second administrator (dual control over people).
      const outcome = await c.deps.accountChanges.request(o.actor, { kind: 'create', official: { ...input, roles, password } });
      if (outcome.status === 'pending') return redirect(ctx, '/admin/accounts?done=changePending');
      redirect(ctx, `/admin/accounts/${outcome.account!.id}?done=accountCreated`);
    } catch (err) {
      const refused = asAppError(err);
      if (refused && refused.status < 500) return renderAccounts(c, ctx, o, { status: refused.status, error: refused.detail, values });
      throw err;
    }
  };

async function accountParam(c: AdminConsole, ctx: AppContext): Promise<Account> {
  const id = String(ctx.params.id ?? '');
  const a = UUID.test(id) ? await c.deps.accounts.findById(id) : null;
  if (!a || a.kind !== 'official') throw new AppError('notFound', `no official account ${id}`);
  return a;
}

const showAccount = (c: AdminConsole) =>
  async function showAccount(ctx: AppContext, o: Officer) {
    const a = await accountParam(c, ctx);
    const passkeys = await c.deps.passkeys.list(a.id);
    // The national ID in full for those whose scopes allow it, and the read audited with the
    // page's history in one event (docs/ca.md, "Personal data"); masked for anyone else.
    const pii = can(o, 'pii');
    const history = await c.auditRows(await c.deps.audit.list({ target: `account:${a.id}`, limit: 50 }), c.names(), o, { accounts: pii && a.nationalId ? [a.id] : [] });
    const facts = { ...(await accountRow(c, a)), nationalId: pii ? a.nationalId : maskIdentifier(a.nationalId), email: a.email, unit: a.unit, position: a.position };
    sendPage(ctx, 200, accountPage(c.frame(ctx, o, 'accounts'), facts, { roles: ROLES, passkeys: passkeys.map((k) => ({ id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt })), history }));
  };

const setRoles = (c: AdminConsole) =>
  async function setRoles(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const a = await accountParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    const { roles } = parseForm(RolesForm, form, ['roles']);
    // An administrator cannot lock themselves out of the console by mistake.
    if (a.id === o.account.id && !roles.includes('admin')) throw new AppError('conflict', 'you cannot remove your own administrator role');
    const outcome = await c.deps.accountChanges.request(o.actor, { kind: 'roles', account: a, roles });
    redirect(ctx, `/admin/accounts/${a.id}?done=${outcome.status === 'pending' ? 'changePending' : 'roles'}`);
  };

const setStatus = (c: AdminConsole, action: 'disable' | 'enable') =>
  async function setStatus(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const a = await accountParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    confirmed(o, form);
    if (a.id === o.account.id) throw new AppError('conflict', 'you cannot disable your own account');
    // Both ways under dual control for an administrator or RA officer: one administrator must not
    // bring back alone an account that two disabled.
    const outcome = await c.deps.accountChanges.request(o.actor, { kind: action, account: a });
    redirect(ctx, `/admin/accounts/${a.id}?done=${outcome.status === 'pending' ? 'changePending' : action === 'enable' ? 'enabled' : 'disabled'}`);
  };

const deletePasskey = (c: AdminConsole) =>
  async function deletePasskey(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const a = await accountParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    confirmed(o, form);
    await c.deps.passkeys.remove(o.actor, a.id, String(ctx.params.passkeyId));
    redirect(ctx, `/admin/accounts/${a.id}?done=passkeyDeleted`);
  };

/** An enrolment code for the account's first passkey or login certificate, shown once (pending for privileged accounts). */
const enrolmentCode = (c: AdminConsole) =>
  async function enrolmentCode(ctx: AppContext, o: Officer) {
    await readForm(c, ctx, o);
    const a = await accountParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    const outcome = await c.deps.accountChanges.request(o.actor, { kind: 'enrolment-code', account: a });
    ctx.set('Cache-Control', 'no-store');
    const f = c.frame(ctx, o, 'accounts');
    sendPage(ctx, 200, codePage(f, a.fullName, at(o.lang, 'code.enrolmentShown', { name: a.fullName }), outcome.code!, outcome.status === 'pending' ? at(o.lang, 'code.enrolmentPending') : undefined));
  };

/** The officials, with the creation form. */
const showAccounts = (c: AdminConsole) =>
  function showAccounts(ctx: AppContext, o: Officer) {
    return renderAccounts(c, ctx, o);
  };

/** The officials' accounts: creation, roles, status, passkeys. */
export function accountsSection(router: Router<AppState>, c: AdminConsole): void {
  router.get('/admin/accounts', c.page('admin', 'accounts', showAccounts(c)));
  router.post('/admin/accounts', c.page('admin', 'accounts', createAccount(c)));
  router.get('/admin/accounts/:id', c.page('admin', 'accounts', showAccount(c)));
  router.post('/admin/accounts/:id/roles', c.page('admin', 'accounts', setRoles(c)));
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/admin/accounts/:id/${action}`, c.page('admin', 'accounts', setStatus(c, action)));
  }
  router.post('/admin/accounts/:id/passkeys/:passkeyId/delete', c.page('admin', 'accounts', deletePasskey(c)));
  router.post('/admin/accounts/:id/enrolment-code', c.page('admin', 'accounts', enrolmentCode(c)));
}
