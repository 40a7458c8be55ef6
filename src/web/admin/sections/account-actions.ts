import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import { AppError } from '../../../errors/app-error.js';
import type { AppContext, AppState } from '../../context.js';
import type { Account } from '../../../../oidc/account.js';
import { sendPage } from '../../views/html.js';
import { redirect, UUID, type AdminConsole, type Officer } from '../admin-console.js';
import { confirmed, readForm, steppedUp } from '../admin-forms.js';
import { at } from '../admin-messages.js';
import { codePage } from '../views/account-change-pages.js';

async function officialParam(c: AdminConsole, ctx: AppContext): Promise<Account> {
  const id = String(ctx.params.id ?? '');
  const a = UUID.test(id) ? await c.deps.accounts.findById(id) : null;
  if (!a || a.kind !== 'official') throw new AppError('notFound', `no official account ${id}`);
  return a;
}

/** A generated password: 20 characters of an unambiguous alphabet (about 100 bits). */
function generatedPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return [...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * A password reset by an administrator: a generated password, shown once to the administrator
 * (who hands it over in person); for an administrator or RA officer it waits for a second
 * administrator (src/accounts/account-changes.ts), and works only once approved.
 */
const resetPassword = (c: AdminConsole) =>
  async function resetPassword(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const a = await officialParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    confirmed(o, form);
    const password = generatedPassword();
    const outcome = await c.deps.accountChanges.request(o.actor, { kind: 'password', account: a, password, requireChange: true });
    ctx.set('Cache-Control', 'no-store');
    sendPage(ctx, 200, codePage(c.frame(ctx, o, 'accounts'), a.fullName, at(o.lang, 'code.passwordShown', { name: a.fullName }), password, outcome.status === 'pending' ? at(o.lang, 'code.passwordPending') : undefined));
  };

/** Unlock (the login throttle's lock) or end every session: at once, or pending for privileged accounts. */
const simpleChange = (c: AdminConsole, kind: 'unlock' | 'end-sessions') =>
  async function accountAction(ctx: AppContext, o: Officer) {
    const form = await readForm(c, ctx, o);
    const a = await officialParam(c, ctx);
    if (!steppedUp(ctx, o, `/admin/accounts/${a.id}`)) return;
    confirmed(o, form);
    const outcome = await c.deps.accountChanges.request(o.actor, { kind, account: a });
    redirect(ctx, `/admin/accounts/${a.id}?done=${outcome.status === 'pending' ? 'changePending' : kind === 'unlock' ? 'unlocked' : 'sessionsEnded'}`);
  };

/** Console actions on an official's account (issue 21): reset password, unlock, end sessions; each audited. */
export function accountActionsSection(router: Router<AppState>, c: AdminConsole): void {
  router.post('/admin/accounts/:id/reset-password', c.page('admin', 'accounts', resetPassword(c)));
  router.post('/admin/accounts/:id/unlock', c.page('admin', 'accounts', simpleChange(c, 'unlock')));
  router.post('/admin/accounts/:id/end-sessions', c.page('admin', 'accounts', simpleChange(c, 'end-sessions')));
}
